# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Roboconf application descriptor: ``descriptor/application.properties``.

The file is Java properties (``key = value``, ``key: value`` or ``key value``; ``#``/``!``
comments; a trailing ``\\`` continues the value on the next line; ``\\uXXXX`` escapes).
Roboconf's Maven build fills ``${project.artifactId}`` placeholders; a directory loaded as it is
still holds them, so a placeholder name falls back to the directory's name.

Keys (Roboconf's ``ApplicationTemplateDescriptor``): ``name``, ``version``, ``description``,
``dsl-id``, ``graph-entry-point``, ``instance-entry-point``, ``exports-prefix`` and ``exports``
(``Component.variable as name, ...``: what other applications may import, as
``external <exports-prefix>.<name>``). The legacy keys ``application-name``,
``application-description``, ``application-version`` (older still: ``application-qualifier``) and
``application-dsl-id`` are read when the new ones are absent. As in Roboconf, a name loses its
accents (``Boutique Électronique`` is the application ``Boutique Electronique``).
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field

from ..errors import InputError, Location
from ..limits import Limits, resolve as resolve_limits
from ..text_input import read_text

DESCRIPTOR = os.path.join("descriptor", "application.properties")
DSL_ID = "roboconf-1.0"
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
LEGACY_PREFIX = "application-"
# ``exports = X.y as z, ...``: Roboconf's pattern, case-insensitive ``as``.
_EXTERNAL_EXPORT = re.compile(r"^([^=\s]+)\s+as\s+([^=\s]+)$", re.IGNORECASE)


@dataclass
class Descriptor:
    path: str
    name: str
    description: str | None
    graph_entry: str                    # path of the first .graph file
    instances_entry: str | None         # path of the first .instances file, if any
    locations: dict = field(default_factory=dict)   # "name", "description", "graph", "instances", ...
    version: str | None = None
    exports_prefix: str | None = None
    external_exports: dict = field(default_factory=dict)   # "Component.variable" -> external name


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
    """Join continuation lines (an odd number of trailing backslashes) into one.

    The pieces are joined once at the end: a file of a million continued lines stays linear."""
    text = lines[number].rstrip("\r")
    number += 1
    if text.lstrip()[:1] in ("#", "!"):         # comments never continue
        return text, number
    parts = [text]
    while _continues(parts[-1]) and number < len(lines):
        parts[-1] = parts[-1][:-1]
        parts.append(lines[number].rstrip("\r").lstrip())
        number += 1
    if _continues(parts[-1]):
        parts[-1] = parts[-1][:-1]
    return "".join(parts), number


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


def read_descriptor(app_dir: str, limits: Limits | None = None) -> Descriptor:
    """Read and check the descriptor of the Roboconf application in ``app_dir``."""
    path = os.path.join(app_dir, DESCRIPTOR)
    try:
        props = read_properties(read_text(path, resolve_limits(limits)), path)
    except OSError as exc:
        raise InputError("cannot read the application descriptor: %s" % exc.strerror, Location(path),
                         hint="a Roboconf application has descriptor/application.properties") from None
    _check_dsl(props, path)
    graph, graph_at = _entry_point(app_dir, props, path, "graph-entry-point", "graph", required=True)
    instances, instances_at = _entry_point(app_dir, props, path, "instance-entry-point", "instances",
                                           required=False)
    name, name_at = _legacy(props, path, "name")
    if not name or _PLACEHOLDER.search(name):
        name = os.path.basename(os.path.normpath(os.path.abspath(app_dir)))
    description, description_at = _legacy(props, path, "description")
    if description is not None and (_PLACEHOLDER.search(description) or not description.strip()):
        description = None
    version, version_at = _legacy(props, path, "version")
    if version is None:
        version, version_at = _legacy(props, path, "qualifier")
    if version is not None and (_PLACEHOLDER.search(version) or not version.strip()):
        version = None
    prefix, prefix_at = props.get("exports-prefix", (None, Location(path, 1, 1)))
    exports, exports_at = _external_exports(props, path)
    if exports and not (prefix or "").strip():
        raise InputError("the descriptor declares external 'exports' but no 'exports-prefix'", exports_at,
                         key="exports-prefix", hint="add 'exports-prefix = <Name>': other applications import "
                                                    "these variables as 'external <Name>.<variable>'")
    return Descriptor(path, clean_accents(name), description, graph, instances,
                      {"name": name_at, "description": description_at, "graph": graph_at,
                       "instances": instances_at, "version": version_at, "exports_prefix": prefix_at,
                       "external_exports": exports_at},
                      version=version.strip() if version else None,
                      exports_prefix=prefix.strip() if prefix and prefix.strip() else None,
                      external_exports=exports)


def clean_accents(name: str) -> str:
    """``name`` without its accents, trimmed (Roboconf's ``Utils.cleanNameWithAccents``)."""
    decomposed = unicodedata.normalize("NFD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _legacy(props: dict, path: str, key: str) -> tuple:
    """``key`` or, when it is absent, its legacy spelling ``application-<key>`` (Roboconf reads both)."""
    if key in props:
        return props[key]
    return props.get(LEGACY_PREFIX + key, (None, Location(path, 1, 1)))


def _external_exports(props: dict, path: str) -> tuple:
    """``({"Component.variable": name}, Location)`` of the ``exports`` key; a malformed entry or a
    name given twice is an error (Roboconf's PROJ_INVALID_EXTERNAL_EXPORTS, RM_ALREADY_DEFINED_EXTERNAL_EXPORT)."""
    raw, where = props.get("exports", ("", Location(path, 1, 1)))
    out: dict = {}
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        match = _EXTERNAL_EXPORT.match(entry)
        if not match:
            raise InputError("invalid external export %r" % entry, where, key="exports",
                             hint="write 'exports = Component.variable as name, ...'")
        internal, external = match.groups()
        if "." not in internal.strip(".") or internal.startswith(".") or internal.endswith("."):
            raise InputError("the external export %r must name a component's variable: 'Component.variable'"
                             % internal, where, key="exports", hint="write e.g. 'exports = %s.%s as %s'"
                             % ("Component", internal.strip("."), external))
        if external in out.values():
            raise InputError("the external name %r is given twice" % external, where, key="exports",
                             hint="give each exported variable its own name")
        if internal in out:
            raise InputError("the variable %r is exported twice" % internal, where, key="exports",
                             hint="keep one of them")
        out[internal] = external
    return out, where


def _check_dsl(props: dict, path: str) -> None:
    dsl, where = props.get("dsl-id") or props.get(LEGACY_PREFIX + "dsl-id") or (DSL_ID, None)
    if dsl.strip().lower() != DSL_ID:
        raise InputError("unsupported DSL %r: only %s can be read" % (dsl, DSL_ID), where, key="dsl-id",
                         hint="write 'dsl-id = %s' (or remove the line)" % DSL_ID)


def _entry_point(app_dir: str, props: dict, path: str, key: str, folder: str, required: bool) -> tuple:
    entry, where = props.get(key, (None, Location(path, 1, 1)))     # a missing key: the file's first line
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
