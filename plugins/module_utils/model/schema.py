# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Schema of an application document (``*.app.yml``).

The schema lives in Python so that it travels with the module_utils an Ansible module ships;
``schemas/application.schema.json`` is generated from it (``python -m ...app_schema``) and a unit
test keeps the two identical.
"""

from __future__ import annotations

import json
import sys

from ..limits import MAX_DATA_CHARACTERS
from ..names import (APPLICATION_NAME_PATTERN, DATA_KEY_PATTERN, EXPORT_NAME_PATTERN, IMPORT_PATTERN, NAME_PATTERN,
                     QUALIFIED_PATTERN, TYPE_NAME_PATTERN, VARIABLE_PATTERN)

_SCALAR = {"type": ["string", "integer", "number", "boolean", "null"]}
_EXPORT_VALUE = {
    "oneOf": [
        _SCALAR,
        {
            "type": "object",
            "description": "A value chosen when the instance is deployed (Roboconf's random[port]).",
            "properties": {"random": {"enum": ["port"]}},
            "required": ["random"],
            "additionalProperties": False,
        },
    ]
}
_NAME_LIST = {"type": "array", "items": {"type": "string", "pattern": TYPE_NAME_PATTERN},
              "uniqueItems": True}
_EXPORTS = {
    "type": "object",
    "description": "Variable name -> default value (null: no default; 'ip' is filled from the server). "
                   "A name may be prefixed ('db.ip'): a facet's or an extended component's variable "
                   "overridden here.",
    "propertyNames": {"pattern": EXPORT_NAME_PATTERN},
    "additionalProperties": _EXPORT_VALUE,
}

COMPONENT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "installer": {"type": "string", "minLength": 1,
                      "description": "server, script, ansible, noop, or any plugin name."},
        "description": {"type": "string"},
        "children": _NAME_LIST,
        "exports": _EXPORTS,
        "imports": {"type": "array", "uniqueItems": True,
                    "items": {"type": "string", "pattern": IMPORT_PATTERN}},
        "extends": {"type": "string", "pattern": TYPE_NAME_PATTERN},
        "facets": _NAME_LIST,
        "recipes": {"type": "string", "description": "Directory of this component's recipes, "
                                                     "relative to the application file."},
        "provider": {"type": "string", "description": "Provider of a root's servers (default local)."},
        "provider_options": {"type": "object"},
        "options": {"type": "object", "description": "Options passed to the installer."},
    },
}

FACET = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "children": _NAME_LIST,
        "exports": _EXPORTS,
        "extends": {"oneOf": [{"type": "string", "pattern": TYPE_NAME_PATTERN}, _NAME_LIST]},
    },
}

INSTANCE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "component"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "pattern": NAME_PATTERN},
        "component": {"type": "string", "pattern": TYPE_NAME_PATTERN},
        "count": {"type": "integer", "minimum": 1,
                  "description": "Expands to N siblings named '<name> 1' ... '<name> N' (dialect roboconf: "
                                 "'<name>1' ... '<name>N', the number zero-padded to N's width)."},
        "exports": {"type": "object", "additionalProperties": _EXPORT_VALUE,
                    "description": "Overrides of the component's export defaults "
                                   "('var' or 'Prefix.var')."},
        "data": {"type": "object", "propertyNames": {"pattern": DATA_KEY_PATTERN},
                 "additionalProperties": {"type": ["string", "integer", "number", "boolean", "null"]},
                 "description": "Runtime data kept with the instance (Roboconf's 'data.*' and 'instance-data'), "
                                "given to its installer; at most %d characters of keys and values."
                                % MAX_DATA_CHARACTERS},
        "children": {"type": "array", "items": {"$ref": "#/$defs/instance"}},
    },
}

APPLICATION_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://appgraph.example/schemas/application.schema.json",
    "title": "appgraph.lifecycle application",
    "type": "object",
    "additionalProperties": False,
    "required": ["application", "components"],
    "properties": {
        "application": {"type": "string", "minLength": 1, "pattern": APPLICATION_NAME_PATTERN,
                        "description": "The template's name; applications made from it are named so "
                                       "unless the application module's 'name' says otherwise."},
        "version": {"type": ["string", "number"], "description": "The template's version (Roboconf's qualifier)."},
        "description": {"type": "string"},
        "dialect": {"enum": ["appgraph", "roboconf"],
                    "description": "roboconf: Roboconf's rules (count names, roots installed by 'target'); "
                                   "what the Roboconf reader and the converter write."},
        "exports_prefix": {"type": "string", "pattern": TYPE_NAME_PATTERN,
                           "description": "The prefix other applications import this one's external exports "
                                          "with ('external <prefix>.<variable>')."},
        "external_exports": {"type": "object", "propertyNames": {"pattern": QUALIFIED_PATTERN},
                             "additionalProperties": {"type": "string", "pattern": VARIABLE_PATTERN},
                             "description": "'Component.variable' -> the name other applications see it as."},
        "components": {"type": "object", "minProperties": 1,
                       "propertyNames": {"pattern": TYPE_NAME_PATTERN},
                       "additionalProperties": {"$ref": "#/$defs/component"}},
        "facets": {"type": "object", "propertyNames": {"pattern": TYPE_NAME_PATTERN},
                   "additionalProperties": {"$ref": "#/$defs/facet"}},
        "instances": {"type": "array", "items": {"$ref": "#/$defs/instance"}},
    },
    "$defs": {"component": COMPONENT, "facet": FACET, "instance": INSTANCE},
}


def schema_json() -> str:
    """The schema as written to ``schemas/application.schema.json``."""
    return json.dumps(APPLICATION_SCHEMA, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover - regeneration helper
    sys.stdout.write(schema_json())
