# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsed Roboconf blocks -> pieces of an application document, with where each piece was written.

Each function returns ``(value, locations)``: ``value`` is what the YAML format would hold for that
component, facet or instance; ``locations`` maps a JSON path relative to it (``("imports", 0)``,
``("children", 1, "name")``) to the Location of the words in the Roboconf file.

Properties as Roboconf defines them: a component takes ``installer``, ``children``, ``exports``,
``imports``, ``extends``, ``facets``; a facet ``children``, ``exports``, ``extends``; an instance
``name``, ``count``, runtime data (``data.<key>: value;`` and ``instance-data: k = v, ...;``, kept
as the instance's ``data``), and any other ``var: value;`` (or ``Comp.var: value;``) overrides an
export (a variable its component does not export is kept too: the model warns about it).
List properties may be repeated (their entries add up); single-valued ones may not.
"""

from __future__ import annotations

import re

from ..errors import InputError, suggest
from ..names import TYPE_NAME_PATTERN
from .values import NAME_RULE, ValueReader

COMPONENT_PROPERTIES = ("installer", "extends", "facets", "exports", "imports", "children")
FACET_PROPERTIES = ("extends", "exports", "children")
INSTANCE_FIELDS = ("name", "component", "count", "exports", "data", "children")
# Runtime state that Roboconf writes when it saves a running application: the store owns it here
# (the state), or it means nothing here (messaging channels).
RUNTIME_INSTANCE_PROPERTIES = ("channels", "instance-state")
DATA_PROPERTY = "instance-data"
DATA_PREFIX = "data."
_LISTS = ("facets", "children", "exports", "imports")
_TYPE_NAME = re.compile(TYPE_NAME_PATTERN)


def check_type_name(block) -> None:
    """Component and facet names are used as import prefixes: no dots, no spaces."""
    name = block.name
    if "." in name:
        raise InputError("invalid %s name %r: component and facet names cannot contain a dot"
                         % ("facet" if block.kind == "facet" else "component", name), block.name_location,
                         hint="a dot separates a component from a variable in imports; use '_' or '-'")
    if not _TYPE_NAME.match(name):
        raise InputError("invalid %s name %r" % ("facet" if block.kind == "facet" else "component", name),
                         block.name_location, hint="use %s" % NAME_RULE)


def _reader(block, prop) -> ValueReader:
    return ValueReader(block.source, prop.name, prop.tokens, prop.end)


def _check_allowed(block, prop, allowed: tuple) -> None:
    if prop.key in allowed:
        return
    if block.kind == "facet" and prop.key in COMPONENT_PROPERTIES:
        hint = "a facet takes only %s; '%s' belongs to components" % (", ".join(allowed), prop.key)
    else:
        hint = suggest(prop.key, allowed)
        if not hint or not hint.startswith("did you"):
            hint = "a %s takes %s" % (block.kind, ", ".join(allowed))
    raise InputError("unknown property '%s' in %s" % (prop.name, block.describe()), prop.location,
                     key=prop.name, hint=hint)


def _check_once(prop, seen: dict) -> None:
    first = seen.get(prop.key)
    if first is not None:
        raise InputError("'%s' is set twice (first on line %d)" % (prop.name, first.location.line),
                         prop.location, key=prop.name, hint="keep one of them")
    seen[prop.key] = prop


def type_fragment(block) -> tuple:
    """A component or facet block -> (dict, locations)."""
    check_type_name(block)
    allowed = COMPONENT_PROPERTIES if block.kind == "component" else FACET_PROPERTIES
    # A facet may extend several facets; a component extends one component.
    lists = _LISTS + (("extends",) if block.kind == "facet" else ())
    value: dict = {}
    locations = {(): block.name_location}
    seen: dict = {}
    for prop in block.properties:
        _check_allowed(block, prop, allowed)
        if prop.key not in lists:
            _check_once(prop, seen)
        locations.setdefault((prop.key,), prop.location)
        _read_type_property(block, prop, value, locations)
    ordered = {key: value[key] for key in allowed if key in value}
    return ordered, locations


def _read_type_property(block, prop, value: dict, locations: dict) -> None:
    reader = _reader(block, prop)
    key = prop.key
    if key == "installer":
        value[key], locations[(key,)] = reader.installer()
    elif key == "extends" and block.kind == "component":
        value[key], locations[(key,)] = reader.single_name()
    elif key == "exports":
        exports = value.setdefault("exports", {})
        for variable, default, where in reader.exports():
            if variable in exports:
                raise InputError("variable %r is exported twice by %s" % (variable, block.describe()), where,
                                 key="exports", hint="keep one declaration")
            exports[variable] = default
            locations[("exports", variable)] = where
    else:
        entries = reader.imports() if key == "imports" else reader.names()
        names = value.setdefault(key, [])
        for entry, where in entries:
            if entry not in names:          # Roboconf keeps these as sets: a repeat adds nothing
                locations[(key, len(names))] = where
                names.append(entry)


def instance_fragment(block) -> tuple:
    """An 'instance of' block (and its nested instances) -> (dict, locations)."""
    value: dict = {"name": None, "component": block.name}
    locations = {(): block.location, ("component",): block.name_location}
    exports: dict = {}
    data: dict = {}
    seen: dict = {}
    for prop in block.properties:
        if prop.key in ("name", "count"):
            _check_once(prop, seen)
            reader = _reader(block, prop)
            value[prop.key], locations[(prop.key,)] = reader.instance_name() if prop.key == "name" \
                else reader.count()
        elif prop.key in RUNTIME_INSTANCE_PROPERTIES:
            continue
        elif prop.key == DATA_PROPERTY or prop.key.startswith(DATA_PREFIX):
            _read_data(block, prop, data, locations)
        else:
            _read_override(block, prop, exports, locations)
    if value["name"] is None:
        raise InputError("%s has no 'name'" % block.describe(), block.location, key="name",
                         hint="add a line 'name: <instance name>;' to the block")
    if exports:
        value["exports"] = exports
        locations.setdefault(("exports",), locations[("exports", next(iter(exports)))])
    if data:
        value["data"] = data
        locations.setdefault(("data",), locations[("data", next(iter(data)))])
    children = []
    for index, child in enumerate(block.instances):
        child_value, child_locations = instance_fragment(child)
        children.append(child_value)
        locations.update({("children", index) + path: where for path, where in child_locations.items()})
    if children:
        value["children"] = children
    return {key: value[key] for key in INSTANCE_FIELDS if key in value}, locations


def _read_data(block, prop, data: dict, locations: dict) -> None:
    """Roboconf's runtime data: ``data.<key>: value;`` (the key keeps its case) or
    ``instance-data: key = value, ...;`` (FromInstanceDefinition reads both)."""
    reader = _reader(block, prop)
    if prop.key == DATA_PROPERTY:
        entries = reader.data_entries()
    else:
        key = prop.name[len(DATA_PREFIX):]
        reader.check_data_key(key, prop.name_token.start + len(DATA_PREFIX))
        if not prop.tokens:
            reader.items()                                   # raises "expected a value"
        entries = [(key, reader.text_value(prop.tokens), prop.location)]
    for key, text, where in entries:
        if key in data:
            raise InputError("the data %r is set twice in %s" % (key, block.describe()), where, key=key,
                             hint="keep one value")
        data[key] = text
        locations[("data", key)] = where


def _read_override(block, prop, exports: dict, locations: dict) -> None:
    """'var: value;' or 'Comp.var: value;' (Roboconf), or 'exports: a = 1, b = "x";'."""
    reader = _reader(block, prop)
    if prop.key == "exports":
        entries = reader.exports(qualified=True)
    else:
        value, where = reader.override(prop.name, prop.name_token.start)
        entries = [(prop.name, value, where)]
    for variable, value, where in entries:
        if variable in exports:
            raise InputError("the export %r is overridden twice in %s" % (variable, block.describe()), where,
                             key=variable, hint="keep one value")
        exports[variable] = value
        locations[("exports", variable)] = where
