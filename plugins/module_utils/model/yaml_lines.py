# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a YAML file fast, and say where any piece of it came from only when asked.

Loading is libyaml-fast (PyYAML's C loader, which ansible-core already needs). Locations are
costly to keep for every node of a 10,000-instance file and are needed only to report an error,
so ``locate(path)`` re-reads the file's node tree on first use and walks it by JSON path.

The resolver follows YAML 1.2's core schema (``true``/``false`` only, no sexagesimal numbers,
``yes``/``no``/``on``/``off`` stay strings), so what a user writes means what a 1.2 reader says.
What comes out is JSON (string keys; maps, lists, strings, numbers, booleans, null): the store
and the document's digest write it with ``json.dumps``. libyaml refuses nesting past 1,000 levels
and construction never recurses; ``document.check_document`` applies the tighter caps after.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

try:
    import yaml
    _BaseLoader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
except ImportError:  # pragma: no cover - ansible-core always brings PyYAML
    yaml = None
    _BaseLoader = object

from ..errors import InputError, Location, shorten
from ..limits import Limits, cap_hint, resolve as resolve_limits
from ..text_input import read_text, text_location

JsonPath = Sequence[Any]
Locator = Callable[[JsonPath], Location]


def _core_schema_loader():
    """A safe loader whose implicit types are YAML 1.2's core schema, and whose documents are JSON.

    Only JSON's types come out (no ``!!binary``, ``!!timestamp``, ``!!set``, ...; no merge keys,
    which are not YAML 1.2), every key is a string, and a mapping is built as a generator like
    the other containers, so that construction never recurses however deep the document nests."""

    class Loader(_BaseLoader):  # type: ignore[misc, valid-type]
        yaml_implicit_resolvers: dict = {}
        yaml_constructors = {tag: _BaseLoader.yaml_constructors[tag] for tag in _JSON_TAGS}

    resolvers = [
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        ("tag:yaml.org,2002:float",
         r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
         r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ]
    for tag, pattern, first in resolvers:
        Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))

    def construct_int(loader, node):
        text = loader.construct_scalar(node)
        try:
            if text.startswith("0o"):
                return int(text[2:], 8)
            return int(text, 0) if text.startswith("0x") else int(text)
        except ValueError:            # longer than Python converts (4,300 digits)
            raise yaml.constructor.ConstructorError(None, None, "the number %s... has too many digits"
                                                    % text[:20], node.start_mark) from None

    def construct_mapping(loader, node):
        data: dict = {}
        yield data                    # filled after the caller has it: no recursion into values
        seen = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str):
                raise NotAString(key, key_node)
            if key in seen:
                raise DuplicateKey(key, key_node.start_mark, seen[key])
            seen[key] = key_node.start_mark
            data[key] = loader.construct_object(value_node)

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
    return Loader


_JSON_TAGS = ["tag:yaml.org,2002:%s" % name for name in ("null", "bool", "int", "float", "str", "seq", "map")] + [None]


class DuplicateKey(Exception):
    def __init__(self, key, mark, first_mark):
        super().__init__(key)
        self.key, self.mark, self.first_mark = key, mark, first_mark


class NotAString(Exception):
    def __init__(self, key, node):
        super().__init__(key)
        self.key, self.mark = key, node.start_mark
        self.text = node.value if isinstance(node, yaml.ScalarNode) else None   # as written


_LOADER = _core_schema_loader() if yaml is not None else None


def load_yaml(text: str, filename: str, limits: Limits | None = None) -> tuple[Any, Locator]:
    """Parse ``text``; return the data and a locator for JSON paths into it.

    Raises InputError (with line and column) on a syntax error, a repeated key, a key that is not
    a string, a character YAML refuses, or a text longer than the ``max_document_bytes`` cap.
    """
    limits = resolve_limits(limits)
    if len(text) > limits.max_document_bytes:       # characters: never more than the bytes
        raise InputError("the document is larger than %d bytes" % limits.max_document_bytes,
                         text_location(filename, text, limits.max_document_bytes),
                         hint="split it, " + cap_hint("max_document_bytes"))
    try:
        data = yaml.load(text, Loader=_LOADER)  # nosec B506 - a safe loader
    except DuplicateKey as exc:
        raise InputError("key %r appears twice (first on line %d)" % (exc.key, exc.first_mark.line + 1),
                         _mark_location(filename, exc.mark), key=str(exc.key),
                         hint="merge the two entries or rename one") from None
    except NotAString as exc:
        raise _not_a_string(exc, filename) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, filename) from None
    except UnicodeEncodeError as exc:               # a lone surrogate: only a str can hold one
        raise InputError("invalid character %r" % text[exc.start], text_location(filename, text, exc.start),
                         hint="the text must be valid Unicode") from None
    except yaml.constructor.ConstructorError as exc:
        raise _constructor_error(exc, filename) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = "%s %s" % (exc.context, problem)
        raise InputError("YAML syntax error: %s" % problem, _mark_location(filename, mark),
                         hint="check indentation, quoting and ':' separators around this line") from None
    except yaml.YAMLError as exc:
        raise InputError("YAML error: %s" % exc, Location(filename, 1, 1)) from None
    return data, _lazy_locator(text, filename)


def _not_a_string(exc: NotAString, filename: str) -> InputError:
    location = _mark_location(filename, exc.mark)
    if exc.text is None:
        return InputError("a key is a map or a list", location, hint="keys are names: 'name: value'")
    if exc.key is None:
        return InputError("a key is empty", location, hint="write 'name: value'; check the punctuation "
                          "before ':' ('&' starts an anchor, '*' an alias, '?' a complex key)")
    return InputError("the key %s is not a string" % shorten(exc.text), location,
                      hint="keys are names: quote it if it is meant as one")


def _constructor_error(exc, filename: str) -> InputError:
    """A tag outside JSON's types (``!!set``, ``!!binary``, ``!custom``), or a number too long."""
    location = _mark_location(filename, exc.problem_mark or exc.context_mark)
    problem = exc.problem or "cannot read this value"
    if problem.startswith("could not determine a constructor for the tag"):
        return InputError("unsupported tag %s" % problem.rsplit(" ", 1)[-1], location,
                          hint="remove the tag: an application holds only maps, lists, strings, "
                               "numbers, booleans and null")
    return InputError("YAML error: %s" % problem, location)


def _reader_error(exc, text: str, filename: str) -> InputError:
    """A character YAML refuses, at its line (libyaml counts bytes, PyYAML characters: find it)."""
    index = text.find(chr(exc.character)) if isinstance(exc.character, int) else -1
    location = text_location(filename, text, index) if index >= 0 else Location(filename, 1, 1)
    return InputError("character U+%04X is not allowed in YAML" % exc.character if index >= 0 else
                      "YAML error: %s" % exc.reason, location,
                      hint="remove it (control characters are not text), or quote it as an escape")


def load_yaml_file(path: str, limits: Limits | None = None) -> tuple[Any, Locator]:
    """Read (under the caps of ``limits``) and parse the YAML file ``path``."""
    limits = resolve_limits(limits)
    try:
        text = read_text(path, limits)
    except OSError as exc:
        raise InputError("cannot read the file: %s" % exc.strerror, Location(path),
                         hint="check the path and its permissions") from None
    return load_yaml(text, path, limits)


def _mark_location(filename: str, mark) -> Location:
    if mark is None:                  # an empty document: its first line
        return Location(filename, 1, 1)
    return Location(filename, mark.line + 1, mark.column + 1)


def _lazy_locator(text: str, filename: str) -> Locator:
    tree: list = []  # the composed node tree, filled on first use
    keys: dict = {}  # id(mapping node) -> {key: (key node, value node)}, for the mappings walked

    def locate(path: JsonPath) -> Location:
        if not tree:
            tree.append(yaml.compose(text, Loader=_LOADER))
        return _mark_location(filename, _walk(tree[0], path, keys))

    return locate


def _walk(node, path: JsonPath, keys: dict):
    """The mark of the deepest node reachable along ``path`` (a key's own mark for a mapping key).

    A mapping's keys are indexed on its first walk: many errors in a map of 10,000 components
    must not each scan it."""
    mark = node.start_mark if node is not None else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            index = keys.get(id(node))
            if index is None:
                index = keys[id(node)] = {}
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode):
                        index.setdefault(key_node.value, (key_node, value_node))
            found = index.get(str(step))
            if found is None:
                return mark
            node, mark = found[1], found[0].start_mark
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            mark = node.start_mark
        else:
            return mark
    return mark
