# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tokenizer of Roboconf's DSL (``roboconf-1.0``: ``*.graph`` and ``*.instances`` files).

Roboconf's grammar is line-oriented (one declaration or property per line), so line ends are
tokens here: the parser needs them to say "a property must end with ';'" at the right place
instead of swallowing the next line. ``#`` starts a comment anywhere outside a quoted value.
Every token keeps its offsets into the text, so a value is read back exactly as written
(``Tomcat VM 1``, ``http://host:8080/x``) and every error has a line and a column.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..errors import InputError, Location

WORD = "word"
STRING = "string"        # "..." on one line; ``text`` is the content without the quotes
NEWLINE = "newline"
EOF = "end of file"
# Punctuation tokens are their own kind: '{', '}', ':', ';', ',', '='.
PUNCTUATION = "{}:;,="
_WORD = re.compile('[^{}:;,="# \t\r\n\f\v]+')
_STRING_REST = re.compile('[^"\n]*')


class Token(NamedTuple):
    """One token (a tuple: 900,000 of them are made for a 3 MB file, a frozen dataclass costs 5x)."""

    kind: str
    text: str
    start: int          # offset of the first character in the source
    end: int            # offset just after the last character
    line: int           # 1-based
    column: int         # 1-based, in characters

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind in (NEWLINE, EOF):
            return "the end of the line" if self.kind == NEWLINE else "the end of the file"
        if self.kind == STRING:
            return '"%s"' % self.text
        return "'%s'" % self.text


class Source:
    """A file's text, its name, and offset -> line/column conversion."""

    def __init__(self, text: str, filename: str):
        self.text = text[1:] if text.startswith("\ufeff") else text
        self.filename = filename
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def position(self, offset: int) -> tuple:
        """(line, column), both 1-based, of ``offset``."""
        low, high = 0, len(self._line_starts) - 1
        while low < high:                         # the last line start <= offset
            middle = (low + high + 1) // 2
            if self._line_starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return low + 1, offset - self._line_starts[low] + 1

    def location(self, offset: int) -> Location:
        line, column = self.position(offset)
        return Location(self.filename, line, column)

    def slice(self, first: Token, last: Token) -> str:
        """The text from the start of ``first`` to the end of ``last``, as written."""
        return self.text[first.start:last.end]


def tokenize(source: Source) -> list:
    """All tokens of ``source``, comments dropped, ending with an EOF token.

    Linear and in C where it can be (a word is one regular-expression match); the line and
    column are counted as the scan goes, since only a NEWLINE token starts a line."""
    text, tokens, i = source.text, [], 0
    line, line_start, size = 1, 0, len(text)
    append = tokens.append
    while i < size:
        char = text[i]
        if char == "\n":
            append(Token(NEWLINE, "\n", i, i + 1, line, i - line_start + 1))
            i += 1
            line, line_start = line + 1, i
        elif char in " \t\r\f\v":
            i += 1
        elif char == "#":
            end = text.find("\n", i)
            i = size if end < 0 else end
        elif char == '"':
            end = _string_end(source, i)
            append(Token(STRING, text[i + 1:end - 1], i, end, line, i - line_start + 1))
            i = end
        elif char in PUNCTUATION:
            append(Token(char, char, i, i + 1, line, i - line_start + 1))
            i += 1
        else:
            end = _WORD.match(text, i).end()
            append(Token(WORD, text[i:end], i, end, line, i - line_start + 1))
            i = end
    append(Token(EOF, "", size, size, line, size - line_start + 1))
    return tokens


def _string_end(source: Source, start: int) -> int:
    """The offset just after the closing quote of the value opened at ``start``."""
    # Roboconf has no escapes in quoted values: everything up to the next quote, on one line.
    match = _STRING_REST.match(source.text, start + 1)
    end = match.end()
    if end >= len(source.text) or source.text[end] != '"':
        raise InputError("unterminated quoted value: expected a closing '\"' on the same line",
                         source.location(start), hint="close the quote before the end of the line")
    return end + 1
