# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Schema of ``provisioners.yml`` (DFE's ``config/provisioners.php``).

It lives in Python so that it travels with the module_utils an Ansible module ships;
``schemas/provisioners.schema.json`` is generated from it (``python -m ...provisioning.schema``) and a
unit test keeps the two identical.
"""

from __future__ import annotations

import json
import sys

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ROLES = ("instance", "storage", "database")

_SUB_PROVISIONER = {
    "oneOf": [
        {"type": "string", "pattern": NAME_PATTERN, "description": "The sub-provisioner's name."},
        {"type": "object", "additionalProperties": False, "required": ["name"],
         "properties": {"name": {"type": "string", "pattern": NAME_PATTERN},
                        "options": {"type": "object", "description": "Options of the sub-provisioner."}}},
    ]
}
_SCALAR = {"type": ["string", "integer", "number", "boolean"]}
_OFFERING = {
    "type": "object",
    "additionalProperties": False,
    "required": ["values"],
    "properties": {
        "description": {"type": "string"},
        "values": {"type": "array", "minItems": 1, "uniqueItems": True, "items": _SCALAR,
                   "description": "The values a request may choose."},
        "default": dict(_SCALAR, description="The value when a request chooses none (else the choice is required)."),
    },
}
_PROVISIONER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["provides"],
    "properties": {
        "description": {"type": "string"},
        "provides": {"type": "object", "additionalProperties": False, "required": ["instance"], "minProperties": 1,
                     "properties": {role: _SUB_PROVISIONER for role in ROLES},
                     "description": "Sub-provisioners by role; they run in the order instance, storage, database."},
        "offerings": {"type": "object", "propertyNames": {"pattern": r"^[a-z][a-z0-9_]{0,63}$"},
                      "additionalProperties": _OFFERING},
        "resource_uri": {"type": "string", "minLength": 1,
                         "description": "Where the console reaches the instance; {instance_id}, {owner}, {address}, "
                                        "{guest_location} and {server} are filled in."},
    },
}
_LIMITS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "max_bytes": {"type": "integer", "minimum": 1, "description": "Total bytes an import may unpack."},
        "max_files": {"type": "integer", "minimum": 1, "description": "Entries an import may unpack."},
        "max_ratio": {"type": "number", "minimum": 1,
                      "description": "Unpacked bytes per compressed byte (a zip bomb is refused)."},
        "ratio_after": {"type": "integer", "minimum": 0,
                        "description": "Bytes unpacked before the ratio is enforced (small archives compress well)."},
    },
}
PROVISIONERS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://appgraph.example/schemas/provisioners.schema.json",
    "title": "appgraph.lifecycle provisioners",
    "description": "Provisioners (DreamFactory Enterprise semantics) for appgraph.lifecycle.provision.",
    "type": "object",
    "additionalProperties": False,
    "required": ["provisioners"],
    "properties": {
        "default": {"type": "string", "pattern": NAME_PATTERN,
                    "description": "The provisioner of a request that names none (default: the only one)."},
        "provisioners": {"type": "object", "minProperties": 1, "propertyNames": {"pattern": NAME_PATTERN},
                         "additionalProperties": _PROVISIONER},
        "snapshots": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "directory": {"type": "string", "minLength": 1,
                              "description": "Where exports go when no destination is given."},
                "keep_days": {"type": "number", "minimum": 0,
                              "description": "Snapshots older than this are pruned by reconcile (0: kept)."},
                "compression": {"enum": ["none", "gzip", "zstd"],
                                "description": "Of an export whose destination does not say (default gzip)."},
                "limits": _LIMITS,
            },
        },
    },
}


def schema_json() -> str:
    """The schema as written to ``schemas/provisioners.schema.json``."""
    return json.dumps(PROVISIONERS_SCHEMA, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover - regeneration helper
    sys.stdout.write(schema_json())
