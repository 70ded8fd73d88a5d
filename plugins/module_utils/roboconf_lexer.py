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

from dataclasses import dataclass

from .errors import InputError, Location

WORD = "word"
STRING = "string"        # "..." on one line; ``text`` is the content without the quotes
NEWLINE = "newline"
EOF = "end of file"
# Punctuation tokens are their own kind: '{', '}', ':', ';', ',', '='.
PUNCTUATION = "{}:;,="
_NOT_WORD = PUNCTUATION + '"# \t\r\n\f\v'


@dataclass(frozen=True)
class Token:
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
        self._line_starts = [0] + [i + 1 for i, c in enumerate(self.text) if c == "\n"]

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
    """All tokens of ``source``, comments dropped, ending with an EOF token."""
    text, tokens, i = source.text, [], 0
    while i < len(text):
        char = text[i]
        if char == "\n":
            tokens.append(_token(source, NEWLINE, "\n", i, i + 1))
            i += 1
        elif char in " \t\r\f\v":
            i += 1
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif char == '"':
            i = _string(source, i, tokens)
        elif char in PUNCTUATION:
            tokens.append(_token(source, char, char, i, i + 1))
            i += 1
        else:
            start = i
            while i < len(text) and text[i] not in _NOT_WORD:
                i += 1
            tokens.append(_token(source, WORD, text[start:i], start, i))
    tokens.append(_token(source, EOF, "", len(text), len(text)))
    return tokens


def _string(source: Source, start: int, tokens: list) -> int:
    # Roboconf has no escapes in quoted values: everything up to the next quote, on one line.
    text = source.text
    end = start + 1
    while end < len(text) and text[end] not in '"\n':
        end += 1
    if end >= len(text) or text[end] != '"':
        raise InputError("unterminated quoted value: expected a closing '\"' on the same line",
                         source.location(start), hint="close the quote before the end of the line")
    tokens.append(_token(source, STRING, text[start + 1:end], start, end + 1))
    return end + 1


def _token(source: Source, kind: str, text: str, start: int, end: int) -> Token:
    line, column = source.position(start)
    return Token(kind, text, start, end, line, column)
