# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a YAML file fast, and say where any piece of it came from only when asked.

Loading is libyaml-fast (PyYAML's C loader, which ansible-core already needs). Locations are
costly to keep for every node of a 10,000-instance file and are needed only to report an error,
so ``locate(path)`` re-reads the file's node tree on first use and walks it by JSON path.

The resolver follows YAML 1.2's core schema (``true``/``false`` only, no sexagesimal numbers,
``yes``/``no``/``on``/``off`` stay strings), so what a user writes means what a 1.2 reader says.
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

from .errors import InputError, Location

JsonPath = Sequence[Any]
Locator = Callable[[JsonPath], Location]


def _core_schema_loader():
    """A safe loader whose implicit types are YAML 1.2's core schema."""

    class Loader(_BaseLoader):  # type: ignore[misc, valid-type]
        yaml_implicit_resolvers: dict = {}

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
        if text.startswith("0o"):
            return int(text[2:], 8)
        return int(text, 0) if text.startswith("0x") else int(text)

    def construct_mapping(loader, node, deep=False):
        # A repeated key is almost always a mistake (two components with one name): refuse it.
        seen = {}
        for key_node, _value in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise DuplicateKey(key, key_node.start_mark, seen[key])
            seen[key] = key_node.start_mark
        return loader.construct_mapping(node, deep=deep)

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
    return Loader


class DuplicateKey(Exception):
    def __init__(self, key, mark, first_mark):
        super().__init__(key)
        self.key, self.mark, self.first_mark = key, mark, first_mark


_LOADER = _core_schema_loader() if yaml is not None else None


def load_yaml(text: str, filename: str) -> tuple[Any, Locator]:
    """Parse ``text``; return the data and a locator for JSON paths into it.

    Raises InputError (with line and column) on a syntax error or a repeated key.
    """
    try:
        data = yaml.load(text, Loader=_LOADER)  # nosec B506 - a safe loader
    except DuplicateKey as exc:
        raise InputError("key %r appears twice (first on line %d)" % (exc.key, exc.first_mark.line + 1),
                         _mark_location(filename, exc.mark), key=str(exc.key),
                         hint="merge the two entries or rename one") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = "%s %s" % (exc.context, problem)
        raise InputError("YAML syntax error: %s" % problem, _mark_location(filename, mark),
                         hint="check indentation, quoting and ':' separators around this line") from None
    except yaml.YAMLError as exc:
        raise InputError("YAML error: %s" % exc, Location(filename)) from None
    return data, _lazy_locator(text, filename)


def load_yaml_file(path: str) -> tuple[Any, Locator]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError("cannot read the file: %s" % exc.strerror, Location(path),
                         hint="check the path and its permissions") from None
    except UnicodeDecodeError as exc:
        raise InputError("the file is not UTF-8 text (%s)" % exc.reason, Location(path)) from None
    return load_yaml(text, path)


def _mark_location(filename: str, mark) -> Location:
    if mark is None:
        return Location(filename)
    return Location(filename, mark.line + 1, mark.column + 1)


def _lazy_locator(text: str, filename: str) -> Locator:
    tree: list = []  # the composed node tree, filled on first use

    def locate(path: JsonPath) -> Location:
        if not tree:
            tree.append(yaml.compose(text, Loader=_LOADER))
        return _mark_location(filename, _walk(tree[0], path))

    return locate


def _walk(node, path: JsonPath):
    """The mark of the deepest node reachable along ``path`` (a key's own mark for a mapping key)."""
    mark = node.start_mark if node is not None else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(step):
                    node, mark = value_node, key_node.start_mark
                    break
            else:
                return mark
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            mark = node.start_mark
        else:
            return mark
    return mark
