# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Recursive-descent parser of one Roboconf file into blocks (syntax only, no meaning yet).

Grammar (keywords in any case; one declaration or property per line, as Roboconf requires)::

    file      := { NEWLINE | import | facet | instance | component }
    import    := 'import' path ';' EOL
    facet     := 'facet' NAME '{' EOL body
    component := NAME '{' EOL body
    instance  := 'instance' 'of' NAME '{' EOL body           (nested instances allowed)
    body      := { NEWLINE | property | instance } '}' EOL
    property  := KEY ':' value ';' EOL

A ``.graph`` file holds components, facets and imports; an ``.instances`` file instances and
imports. The first syntax error stops the file and names line, column and what was expected.

Nested instances are read with a stack of open blocks, not by recursion, and may nest at most
``max_nesting`` deep (``Limits.max_instance_nesting``): a file of 1,200 nested blocks gets an
error at the first block too deep, never Python's recursion limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError, Location
from ..limits import Limits, cap_hint
from .lexer import EOF, NEWLINE, WORD, Source, Token, tokenize

GRAPH = "graph"
INSTANCES = "instances"


@dataclass
class Property:
    name: str                   # as written
    key: str                    # lower-cased: keywords are case-insensitive
    name_token: Token
    tokens: list                # the value, between ':' and ';'
    end: Token                  # the ';'
    location: Location


@dataclass
class Block:
    kind: str                   # "component", "facet" or "instance"
    name: str                   # the component or facet; for an instance, its component
    location: Location          # the block's first word
    name_location: Location
    source: Source
    properties: list = field(default_factory=list)
    instances: list = field(default_factory=list)

    def describe(self) -> str:
        if self.kind == "instance":
            return "'instance of %s' (line %d)" % (self.name, self.location.line)
        return "%s '%s' (line %d)" % (self.kind, self.name, self.location.line)


@dataclass
class ParsedFile:
    source: Source
    kind: str
    imports: list = field(default_factory=list)    # (path as written, Location)
    blocks: list = field(default_factory=list)
    error: InputError | None = None                # the syntax error that stopped the parse


def parse(source: Source, kind: str, max_nesting: int = Limits().max_instance_nesting) -> ParsedFile:
    """Parse a ``.graph`` (kind GRAPH) or ``.instances`` (kind INSTANCES) file.

    A syntax error stops the parse; it is returned in ``error`` with what was read before it,
    so the imports above the error are still followed and their own errors reported too.
    """
    parser = _Parser(source, kind, max_nesting)
    try:
        return parser.parse_file()
    except InputError as exc:
        parser.result.error = exc
        return parser.result


class _Parser:
    def __init__(self, source: Source, kind: str, max_nesting: int):
        self.source = source
        self.kind = kind
        self.max_nesting = max_nesting
        self.tokens = tokenize(source)
        self.pos = 0
        self.result = ParsedFile(source, kind)

    # -- token helpers ----------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != EOF:
            self.pos += 1
        return token

    def is_keyword(self, word: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind == WORD and token.text.lower() == word

    def error(self, message: str, token: Token, hint: str | None = None) -> InputError:
        return InputError(message, self.location(token), hint=hint)

    def location(self, token: Token) -> Location:
        return Location(self.source.filename, token.line, token.column)   # the lexer counted them

    def end_of_line(self, after: str) -> None:
        """Only a comment may follow ``after`` on its line (Roboconf: one block per line)."""
        token = self.peek()
        if token.kind not in (NEWLINE, EOF):
            raise self.error("extra characters after %s: %s" % (after, token.describe()), token,
                             hint="Roboconf takes one declaration or property per line; "
                                  "move it to a line of its own")
        self.take()

    def until_line_end(self, stops: str) -> list:
        """Tokens up to (not including) one whose kind is in ``stops``, a NEWLINE or the EOF."""
        tokens = []
        while self.peek().kind not in (NEWLINE, EOF) and self.peek().kind not in stops:
            tokens.append(self.take())
        return tokens

    # -- file -------------------------------------------------------------------------------------

    def parse_file(self) -> ParsedFile:
        while self.peek().kind != EOF:
            if self.peek().kind == NEWLINE:
                self.take()
            else:
                self.statement()
        return self.result

    def statement(self) -> None:
        if self.is_keyword("import"):
            self.import_statement()
        elif self.kind == INSTANCES:
            self.top_level_instance()
        elif self.is_keyword("instance") and self.is_keyword("of", 1):
            raise self.error("'instance of' belongs in an .instances file, not in a graph", self.peek(),
                             hint="declare instances in the file named by 'instance-entry-point'")
        elif self.is_keyword("facet"):
            keyword = self.take()
            self.result.blocks.append(self.block("facet", keyword, "after 'facet'"))
        elif self.peek().kind == WORD:
            self.result.blocks.append(self.block("component", self.peek(), "at the start of a declaration"))
        else:
            raise self.unexpected("'import', 'facet' or a component name")

    def unexpected(self, expected: str) -> InputError:
        token = self.peek()
        hint = "no block is open here: remove it, or check the '{' of the block above" if token.kind == "}" else None
        return self.error("expected %s, found %s" % (expected, token.describe()), token, hint=hint)

    def top_level_instance(self) -> None:
        if not (self.is_keyword("instance") and self.is_keyword("of", 1)):
            expected = "'instance of' or 'import'"
            if self.peek().kind == WORD:
                raise self.error("expected %s, found %s" % (expected, self.peek().describe()), self.peek(),
                                 hint="components and facets are declared in .graph files")
            raise self.unexpected(expected)
        block = self.instance()
        self.body(block)
        self.result.blocks.append(block)

    def import_statement(self) -> None:
        keyword = self.take()
        tokens = self.until_line_end(";")
        if self.peek().kind != ";":
            raise self.error("expected ';' at the end of the import", self.peek(),
                             hint="write 'import other.%s;'" % ("graph" if self.kind == GRAPH else "instances"))
        if not tokens:
            raise self.error("expected a file name after 'import'", self.peek(),
                             hint="write 'import other.%s;'" % ("graph" if self.kind == GRAPH else "instances"))
        self.take()
        self.end_of_line("';'")
        self.result.imports.append((self.source.slice(tokens[0], tokens[-1]), self.location(keyword)))

    # -- blocks -----------------------------------------------------------------------------------

    def instance(self) -> Block:
        keyword = self.take()
        self.take()                                            # 'of'
        return self.header("instance", keyword, "after 'instance of'")

    def block(self, kind: str, first: Token, where: str) -> Block:
        block = self.header(kind, first, where)
        self.body(block)
        return block

    def header(self, kind: str, first: Token, where: str) -> Block:
        """``NAME {`` up to the end of its line: the block, its body still to read."""
        what = "a component name" if kind != "facet" else "a facet name"
        name_tokens = self.until_line_end("{}")
        if not name_tokens:
            raise self.error("expected %s %s, found %s" % (what, where, self.peek().describe()), self.peek())
        name = self.source.slice(name_tokens[0], name_tokens[-1])
        if self.peek().kind != "{":
            header = self.source.text[first.start:name_tokens[-1].end]
            raise self.error("expected '{' after '%s', found %s" % (header, self.peek().describe()), self.peek(),
                             hint="Roboconf opens a block on the line that names it: '%s {'" % header)
        if len(name_tokens) > 1 or name_tokens[0].kind != WORD:
            raise self.error("invalid %s name %r: names cannot contain spaces or quotes"
                             % ("facet" if kind == "facet" else "component", name), name_tokens[0],
                             hint="use a letter or '_' then letters, digits, '_' or '-'")
        self.take()
        self.end_of_line("'{'")
        return Block(kind, name, self.location(first), self.location(name_tokens[0]), self.source)

    def body(self, outer: Block) -> None:
        """The body of ``outer`` and of every block nested in it, up to the '}' closing ``outer``."""
        open_blocks = [outer]
        while open_blocks:
            block = open_blocks[-1]
            token = self.peek()
            if token.kind == NEWLINE:
                self.take()
            elif token.kind == EOF:
                raise InputError("the block of %s is never closed: expected '}' before the end of the file"
                                 % block.describe(), block.location,
                                 hint="add a line with '}' at the end of the block")
            elif token.kind == "}":
                self.take()
                self.end_of_line("'}'")
                open_blocks.pop()
            elif self.is_keyword("instance") and self.is_keyword("of", 1):
                if block.kind != "instance":
                    raise self.error("instances cannot be declared inside a %s" % block.kind, token,
                                     hint="declare instances in an .instances file")
                if len(open_blocks) >= self.max_nesting:
                    raise self.error("instances nested more than %d deep" % self.max_nesting, token,
                                     hint="flatten the instances, " + cap_hint("max_depth"))
                child = self.instance()
                block.instances.append(child)
                open_blocks.append(child)
            else:
                block.properties.append(self.property(block))

    def property(self, block: Block) -> Property:
        name = self.take()
        expected = "a property ('name: value;')" + (", 'instance of'" if block.kind == "instance" else "") + " or '}'"
        if name.kind != WORD:
            raise self.error("expected %s in %s, found %s" % (expected, block.describe(), name.describe()), name)
        if self.peek().kind != ":":
            found = self.peek()
            hint = None
            if found.kind == "{":
                hint = "is the '}' closing %s missing?" % block.describe()
            raise self.error("expected ':' after the property name '%s', found %s" % (name.text, found.describe()),
                             found, hint=hint)
        self.take()
        tokens = self.until_line_end(";")
        end = self.peek()
        if end.kind != ";":
            raise self.error("expected ';' at the end of the property '%s', found %s" % (name.text, end.describe()),
                             end, hint="end every property with ';' on its line")
        self.take()
        self.end_of_line("';'")
        return Property(name.text, name.text.lower(), name, tokens, end, self.location(name))
