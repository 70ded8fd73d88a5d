# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write an application document as ``*.app.yml`` text (what ``api.convert`` makes of a Roboconf directory).

The document keeps ``dialect: roboconf``: loaded back, its ``count`` entries make the very paths
Roboconf makes (``vm1``, ``vm2``), and its roots are held to ``target``. The text has a stable key order, short maps on one line in flow style as in the
design's example, longer ones in block style. The text is hand-formatted: every string is checked
against the YAML 1.2 core schema the loader uses and quoted when it could read as anything but
that string (``"08"``, ``"yes"``, ``"null"``), so the file loads back to the very same document.
``recipes`` paths are rewritten relative to the output file (or to the current directory for
standard output).
"""

from __future__ import annotations

import copy
import json
import os
import re

WIDTH = 100
INDENT = "  "
COMPONENT_KEYS = ("installer", "extends", "facets", "exports", "imports", "children", "recipes")
FACET_KEYS = ("extends", "exports", "children")
INSTANCE_KEYS = ("name", "component", "count", "exports", "data")
HEAD_KEYS = ("application", "version", "description", "dialect", "exports_prefix")
# A plain (unquoted) scalar is emitted only for text that no YAML reader takes for anything else.
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-*/()]*(?: [A-Za-z0-9_.\-*/()]+)*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"}
# What JSON leaves raw but a YAML stream refuses (non-printable) or folds (line separators).
_NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def relocate_recipes(doc: dict, src: str, out_dir: str) -> dict:
    doc = copy.deepcopy(doc)
    for component in doc["components"].values():
        if "recipes" in component:
            target = os.path.join(os.path.abspath(src), component["recipes"])
            component["recipes"] = os.path.relpath(target, out_dir).replace(os.sep, "/")
    return doc


# -- YAML text ------------------------------------------------------------------------------------

def document_to_yaml(doc: dict) -> str:
    """An application document as YAML text, keys in the order of the schema."""
    lines = []
    for key in HEAD_KEYS:
        if key in doc:
            lines.append("%s: %s" % (key, scalar(doc[key])))
    if doc.get("external_exports"):
        lines.append("external_exports: %s" % flow(doc["external_exports"]))
    lines.append("components:")
    lines.extend(_named_maps(doc["components"], COMPONENT_KEYS))
    if doc.get("facets"):
        lines.append("facets:")
        lines.extend(_named_maps(doc["facets"], FACET_KEYS))
    if "instances" in doc:
        lines.append("instances:" + ("" if doc["instances"] else " []"))
        for instance in doc["instances"]:
            lines.extend(_instance(instance, INDENT))
    return "\n".join(lines) + "\n"


def _named_maps(table: dict, keys: tuple) -> list:
    """Components or facets: one aligned flow line each when it fits, else a block."""
    entries = {name: [(key, value[key]) for key in keys if key in value] for name, value in table.items()}
    one_line = {name: _flow_map(items) for name, items in entries.items()
                if len("%s%s: %s" % (INDENT, scalar(name), _flow_map(items))) <= WIDTH}
    width = max((len(scalar(name)) for name in one_line), default=0) + 1   # align the one-liners
    lines = []
    for name, items in entries.items():
        if name in one_line:
            lines.append("%s%-*s %s" % (INDENT, width, scalar(name) + ":", one_line[name]))
        else:
            lines.append("%s%s:" % (INDENT, scalar(name)))
            lines.extend("%s%s: %s" % (INDENT * 2, key, flow(item)) for key, item in items)
    return lines


def _instance(instance: dict, indent: str) -> list:
    items = [(key, instance[key]) for key in INSTANCE_KEYS if key in instance]
    children = instance.get("children") or []
    line = "%s- %s" % (indent, _flow_map(items))
    if not children and len(line) <= WIDTH:
        return [line]
    lines = []
    for position, (key, value) in enumerate(items):
        lines.append("%s%s%s: %s" % (indent, "- " if position == 0 else "  ", key, flow(value)))
    if children:
        lines.append("%s  children:" % indent)
        for child in children:
            lines.extend(_instance(child, indent + "    "))
    return lines


def _flow_map(items) -> str:
    return "{%s}" % ", ".join("%s: %s" % (scalar(key), flow(value)) for key, value in items)


def flow(value) -> str:
    """``value`` in YAML flow style."""
    if isinstance(value, dict):
        return _flow_map(value.items())
    if isinstance(value, list):
        return "[%s]" % ", ".join(flow(item) for item in value)
    return scalar(value)


def scalar(value) -> str:
    """A scalar that reads back as ``value`` under YAML 1.1 and 1.2 alike."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return {"inf": ".inf", "-inf": "-.inf", "nan": ".nan"}.get(repr(value), repr(value))
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    quoted = json.dumps(text, ensure_ascii=False)   # a JSON string is a YAML double-quoted scalar...
    return _NOT_YAML_PRINTABLE.sub(lambda m: "\\u%04x" % ord(m.group()), quoted)   # ...once these are escaped
