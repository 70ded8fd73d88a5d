# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The values of Roboconf properties: what comes between ``name:`` and ``;``.

Each reader takes the value's tokens and returns Python values with the Location of each entry,
so that a later error ("unknown child 'Tomkat'") points at the very word in the ``.graph`` file.

- names (``children``, ``facets``, ``extends``, ``installer``): comma-separated words;
- imports: ``[external] Prefix.var | Prefix.* [(optional)]``, keywords in any case;
- exports: ``[random[port]] var [= value]``; a quoted value is kept as written (it may hold
  ``,``, ``;`` or spaces), an unquoted whole number becomes an int (``port = 3306``), other
  unquoted text a string, no value ``null``;
- instance values (``name``, ``count``, overridden exports).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..names import DATA_KEY_PATTERN, EXPORT_NAME_PATTERN, NAME_PATTERN, TYPE_NAME_PATTERN
from ..errors import InputError, Location, shorten
from .lexer import STRING, WORD, Source, Token

_TYPE_NAME = re.compile(TYPE_NAME_PATTERN)
# A variable as written: a name, or ``Prefix.name`` (Roboconf's names may hold dots, see names.py).
_VARIABLE = re.compile(EXPORT_NAME_PATTERN)
_DATA_KEY = re.compile(DATA_KEY_PATTERN)
_INSTANCE_NAME = re.compile(NAME_PATTERN)
_INSTALLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
# Only canonical whole numbers become ints: "0755" or "1.10" stay the strings the user wrote.
_INTEGER = re.compile(r"^-?(?:0|[1-9][0-9]*)$")
# Python reads at most 4,300 digits into an int; a count has no business past a billion.
_MAX_DIGITS = 4300
_MAX_COUNT_DIGITS = 18
_RANDOM = re.compile(r"^random\s*\[([^\]]*)\]\s*", re.IGNORECASE)
_IMPORT = re.compile(r"^(external\s+)?([^\s(]+)\s*(\(optional\))?$", re.IGNORECASE)
_IMPORT_SPEC = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)\.([A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*|\*)$")
NAME_RULE = "a letter or '_' then letters, digits, '_' or '-' (no spaces or dots)"


@dataclass(frozen=True)
class Item:
    """One comma-separated entry of a value."""

    tokens: tuple
    text: str
    start: int          # offset of its first character
    location: Location


class ValueReader:
    """Reads the value of one property (``key``) written with ``tokens``, ended by ``end``."""

    def __init__(self, source: Source, key: str, tokens: list, end: Token):
        self.source = source
        self.key = key
        self.tokens = tokens
        self.end = end

    def error(self, message: str, offset: int, hint: str | None = None) -> InputError:
        return InputError(message, self.source.location(offset), key=self.key, hint=hint)

    def items(self) -> list:
        """The comma-separated entries; an empty one is an error."""
        if not self.tokens:
            raise self.error("expected a value for '%s' before ';'" % self.key, self.end.start,
                             hint="write '%s: <value>;' or remove the line" % self.key)
        items, current = [], []
        for token in self.tokens + [self.end]:
            if token.kind != "," and token is not self.end:
                current.append(token)
                continue
            if not current:
                raise self.error("empty entry in '%s': expected a value before %s" % (self.key, token.describe()),
                                 token.start, hint="remove the extra ','")
            items.append(self._item(current))
            current = []
        return items

    def _item(self, tokens: list) -> Item:
        return Item(tuple(tokens), self.source.slice(tokens[0], tokens[-1]), tokens[0].start,
                    self.source.location(tokens[0].start))

    # -- names ----------------------------------------------------------------------------------

    def names(self) -> list:
        """[(name, Location)] of a list of component or facet names."""
        return [(self._name(item), item.location) for item in self.items()]

    def single_name(self) -> tuple:
        """(name, Location) of a property that takes exactly one name."""
        items = self.items()
        if len(items) > 1:
            raise self.error("'%s' takes one name, found %d" % (self.key, len(items)), items[1].start,
                             hint="keep a single name")
        return self._name(items[0]), items[0].location

    def installer(self) -> tuple:
        """(name, Location) of an installer: one word (a plug-in name, dots allowed)."""
        items = self.items()
        first = items[0].tokens[0]
        single_word = len(items) == 1 and len(items[0].tokens) == 1 and first.kind == WORD
        if not single_word or not _INSTALLER.match(first.text):
            raise self.error("invalid installer %r" % self.source.slice(self.tokens[0], self.tokens[-1]),
                             first.start, hint="name one installer: target, script, bash, puppet, ...")
        return first.text, items[0].location

    def _name(self, item: Item) -> str:
        first = item.tokens[0]
        if first.kind != WORD:
            raise self.error("expected a name in '%s', found %s" % (self.key, first.describe()), first.start,
                             hint="names are written without quotes")
        if len(item.tokens) > 1:
            raise self.error("expected ',' between the names in '%s', found %s"
                             % (self.key, item.tokens[1].describe()), item.tokens[1].start,
                             hint="separate names with ',' (names cannot contain spaces)")
        if "." in first.text:
            raise self.error("invalid name %r: component and facet names cannot contain a dot" % first.text,
                             first.start, hint="a dot separates a component from a variable in imports")
        if not _TYPE_NAME.match(first.text):
            raise self.error("invalid name %r" % first.text, first.start, hint="use %s" % NAME_RULE)
        return first.text

    # -- imports --------------------------------------------------------------------------------

    def imports(self) -> list:
        """[(import text, Location)] normalised to 'Prefix.var', '... (optional)', 'external ...'."""
        return [(self._import(item), item.location) for item in self.items()]

    def _import(self, item: Item) -> str:
        form = "write 'Component.variable', 'Component.*', optionally followed by '(optional)', " \
               "or 'external Application.variable'"
        match = _IMPORT.match(item.text)
        if not match or any(t.kind == STRING for t in item.tokens):
            raise self.error("malformed import %r" % item.text, item.start, hint=form)
        spec, spec_at = match.group(2), item.start + match.start(2)
        parsed = _IMPORT_SPEC.match(spec)
        if not parsed:
            if "." not in spec.rstrip("."):
                raise self.error("incomplete import %r: expected 'Component.variable' or 'Component.*'" % spec,
                                 spec_at, hint="prefix the variable with the component or facet that exports it, "
                                               "e.g. '%s.*'" % spec.rstrip("."))
            raise self.error("malformed import %r" % spec, spec_at, hint=form + "; names use %s" % NAME_RULE)
        text = "%s.%s" % parsed.groups()
        if match.group(1):
            text = "external " + text
        return text + (" (optional)" if match.group(3) else "")

    # -- exports --------------------------------------------------------------------------------

    def exports(self, qualified: bool = False) -> list:
        """[(variable, default, Location)]; ``qualified`` allows 'Prefix.var' (instance exports)."""
        return [self._export(item, qualified) for item in self.items()]

    def _export(self, item: Item, qualified: bool) -> tuple:
        tokens = list(item.tokens)
        equals = next((i for i, t in enumerate(tokens) if t.kind == "="), None)
        left = tokens if equals is None else tokens[:equals]
        if not left:
            raise self.error("expected a variable name before '='", item.start,
                             hint="write 'name = value' or just 'name'")
        text, offset = self.source.slice(left[0], left[-1]), left[0].start
        random = _RANDOM.match(text)
        if random:
            if random.group(1).strip().lower() != "port":
                raise self.error("unknown random kind %r: only random[port] is supported" % random.group(1),
                                 offset, hint="write 'random[port] %s'" % text[random.end():])
            text, offset = text[random.end():], offset + random.end()
            if qualified:
                raise self.error("random[port] is declared in the graph, not on an instance", left[0].start,
                                 hint="give the variable a fixed value here, or drop 'random[port]'")
        self._check_variable(text, offset, qualified)
        if random and equals is not None:
            raise self.error("the random variable %r cannot have a value in the graph" % text, tokens[equals].start,
                             hint="Roboconf picks the port; to force one, override it on an instance")
        if random:
            return text, {"random": "port"}, self.source.location(offset)
        if qualified and equals is None:
            raise self.error("expected '=' and a value after %r" % text, item.tokens[-1].end,
                             hint="an instance sets values: 'exports: %s = <value>;'" % text)
        right = [] if equals is None else tokens[equals + 1:]
        return text, self.scalar(right), self.source.location(offset)

    def _check_variable(self, name: str, offset: int, qualified: bool) -> None:
        if not name:
            raise self.error("expected a variable name", offset, hint="write 'name' or 'name = value'")
        if not _VARIABLE.match(name):
            raise self.error("invalid variable name %r" % name, offset,
                             hint="variables use %s, optionally prefixed by a %s ('Prefix.name'); "
                                  "separate variables with ','"
                                  % (NAME_RULE, "component or facet" if qualified else "facet or extended component"))

    def scalar(self, tokens: list):
        """A value as written: a quoted string verbatim, a whole number as int, text, or None."""
        if not tokens:
            return None
        quoted = [t for t in tokens if t.kind == STRING]
        if quoted and len(tokens) > 1:
            raise self.error("a quoted value must be the whole value", quoted[0].start,
                             hint="put everything inside the quotes, or remove them")
        if quoted:
            return quoted[0].text
        text = self.source.slice(tokens[0], tokens[-1])
        return int(text) if _INTEGER.match(text) and len(text) <= _MAX_DIGITS else text

    # -- instances ------------------------------------------------------------------------------

    def instance_name(self) -> tuple:
        """(name, Location): the words as written, spaces included."""
        if not self.tokens:
            self.items()                                         # raises "expected a value"
        quoted = len(self.tokens) == 1 and self.tokens[0].kind == STRING
        name = self.tokens[0].text if quoted else self.source.slice(self.tokens[0], self.tokens[-1])
        if not _INSTANCE_NAME.match(name):
            raise self.error("invalid instance name %r" % name, self.tokens[0].start,
                             hint="start with a letter, a digit or '_'; then letters, digits, spaces, "
                                  "'_', '-' or '.'")
        return name, self.source.location(self.tokens[0].start)

    def count(self) -> tuple:
        """(count, Location): a whole number >= 1."""
        if not self.tokens:
            self.items()
        text = self.source.slice(self.tokens[0], self.tokens[-1])
        if not re.match(r"^[0-9]+$", text) or len(text) > _MAX_COUNT_DIGITS or int(text) < 1:
            raise self.error("'count' must be a whole number >= 1, found %s" % shorten(text), self.tokens[0].start,
                             hint="write 'count: 3;' to create 3 instances")
        return int(text), self.source.location(self.tokens[0].start)

    def data_entries(self) -> list:
        """[(key, value, Location)] of ``instance-data: key = value, ...`` (Roboconf's runtime data;
        a key alone has no value). Values stay text, as Roboconf keeps them; quotes are dropped."""
        entries = []
        for item in self.items():
            tokens = list(item.tokens)
            equals = next((i for i, t in enumerate(tokens) if t.kind == "="), None)
            left = tokens if equals is None else tokens[:equals]
            if not left:
                raise self.error("expected a key before '='", item.start, hint="write 'key = value'")
            key = self.source.slice(left[0], left[-1])
            self.check_data_key(key, left[0].start)
            value = None if equals is None else self.text_value(tokens[equals + 1:])
            entries.append((key, value, self.source.location(left[0].start)))
        return entries

    def check_data_key(self, key: str, offset: int) -> None:
        if not _DATA_KEY.match(key):
            raise self.error("invalid data key %r" % key, offset,
                             hint="keys use letters, digits, '_', '-' and '.'")

    def text_value(self, tokens: list) -> str:
        """A value as text: a quoted one without its quotes, anything else as written ('' for nothing)."""
        if not tokens:
            return ""
        if len(tokens) == 1 and tokens[0].kind == STRING:
            return tokens[0].text
        return self.source.slice(tokens[0], tokens[-1])

    def override(self, variable: str, offset: int) -> tuple:
        """(value, Location) of an instance property that overrides an exported variable."""
        self._check_variable(variable, offset, qualified=True)
        if not self.tokens:
            self.items()
        return self.scalar(self.tokens), self.source.location(offset)
