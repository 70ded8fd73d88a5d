# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Roboconf application descriptor: ``descriptor/application.properties``.

The file is Java properties (``key = value``, ``key: value`` or ``key value``; ``#``/``!``
comments; a trailing ``\\`` continues the value on the next line; ``\\uXXXX`` escapes).
Roboconf's Maven build fills ``${project.artifactId}`` placeholders; a directory loaded as it is
still holds them, so a placeholder name falls back to the directory's name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from .errors import InputError, Location

DESCRIPTOR = os.path.join("descriptor", "application.properties")
DSL_ID = "roboconf-1.0"
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


@dataclass
class Descriptor:
    path: str
    name: str
    description: str | None
    graph_entry: str                    # path of the first .graph file
    instances_entry: str | None         # path of the first .instances file, if any
    locations: dict = field(default_factory=dict)   # "name", "description", "graph", "instances"


def read_properties(text: str, filename: str) -> dict:
    """{key: (value, Location of the key)}; a repeated key keeps its last value, as in Java."""
    lines = text.lstrip("\ufeff").split("\n")
    result, number = {}, 0
    while number < len(lines):
        start = number
        logical, number = _logical_line(lines, number)
        stripped = logical.lstrip()
        if not stripped or stripped[0] in "#!":
            continue
        column = len(logical) - len(stripped) + 1
        key, value = _split_key(stripped)
        result[key] = (value, Location(filename, start + 1, column))
    return result


def _logical_line(lines: list, number: int) -> tuple:
    """Join continuation lines (an odd number of trailing backslashes) into one."""
    text = lines[number].rstrip("\r")
    number += 1
    if text.lstrip()[:1] in ("#", "!"):         # comments never continue
        return text, number
    while _continues(text) and number < len(lines):
        text = text[:-1] + lines[number].rstrip("\r").lstrip()
        number += 1
    if _continues(text):
        text = text[:-1]
    return text, number


def _continues(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _split_key(line: str) -> tuple:
    index = 0
    while index < len(line) and line[index] not in "=: \t\f":
        index += 2 if line[index] == "\\" else 1
    key, rest = line[:index], line[index:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return _unescape(key), _unescape(rest)


def _unescape(text: str) -> str:
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 >= len(text):
            out.append(char)
            index += 1
            continue
        nxt = text[index + 1]
        if nxt == "u" and re.match(r"[0-9a-fA-F]{4}", text[index + 2:index + 6]):
            out.append(chr(int(text[index + 2:index + 6], 16)))
            index += 6
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            index += 2
    return "".join(out)


def read_descriptor(app_dir: str) -> Descriptor:
    """Read and check the descriptor of the Roboconf application in ``app_dir``."""
    path = os.path.join(app_dir, DESCRIPTOR)
    try:
        with open(path, encoding="utf-8") as handle:
            props = read_properties(handle.read(), path)
    except OSError as exc:
        raise InputError("cannot read the application descriptor: %s" % exc.strerror, Location(path),
                         hint="a Roboconf application has descriptor/application.properties") from None
    except UnicodeDecodeError as exc:
        raise InputError("the descriptor is not UTF-8 text (%s)" % exc.reason, Location(path)) from None
    _check_dsl(props, path)
    graph, graph_at = _entry_point(app_dir, props, path, "graph-entry-point", "graph", required=True)
    instances, instances_at = _entry_point(app_dir, props, path, "instance-entry-point", "instances",
                                           required=False)
    name, name_at = props.get("name", ("", Location(path)))
    if not name or _PLACEHOLDER.search(name):
        name = os.path.basename(os.path.normpath(os.path.abspath(app_dir)))
    description, description_at = props.get("description", (None, Location(path)))
    if description is not None and (_PLACEHOLDER.search(description) or not description.strip()):
        description = None
    return Descriptor(path, name, description, graph, instances,
                      {"name": name_at, "description": description_at, "graph": graph_at,
                       "instances": instances_at})


def _check_dsl(props: dict, path: str) -> None:
    dsl, where = props.get("dsl-id", (DSL_ID, None))
    if dsl.strip().lower() != DSL_ID:
        raise InputError("unsupported DSL %r: only %s can be read" % (dsl, DSL_ID), where, key="dsl-id",
                         hint="write 'dsl-id = %s' (or remove the line)" % DSL_ID)


def _entry_point(app_dir: str, props: dict, path: str, key: str, folder: str, required: bool) -> tuple:
    entry, where = props.get(key, (None, Location(path)))
    if entry is None or not entry.strip():
        if required:
            raise InputError("the descriptor has no '%s'" % key, where, key=key,
                             hint="add '%s = main.%s' naming a file under %s/" % (key, folder, folder))
        return None, where
    target = os.path.join(app_dir, folder, entry.strip())
    if not os.path.isfile(target):
        raise InputError("'%s' names %s, which does not exist" % (key, os.path.join(folder, entry.strip())),
                         where, key=key, hint="entry points are file names relative to the %s/ directory" % folder)
    return target, where
