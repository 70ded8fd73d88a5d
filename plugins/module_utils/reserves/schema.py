# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Schema of a reserve's settings (the ``reserve`` module's options, and the API's).

It lives in Python so that it travels with the module_utils an Ansible module ships;
``schemas/reserve.schema.json`` is generated from it (``python -m ...reserves.schema``) and a unit
test keeps the two identical. A setting left out (or, from Python and Ansible, None) gets its default.
"""

from __future__ import annotations

import json
import sys

from .durations import DURATION_PATTERN, MAX_LIFETIME
from .window import WINDOW_PATTERN

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
PREFIX_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
MAX_SIZE = 10000
MAX_CLONE_ID = 10 ** 9
MAX_CONCURRENCY = 100


SETTINGS = {
    "full_size": {"type": "integer", "minimum": 0, "maximum": MAX_SIZE,
                  "description": "Clones the reserve holds once refilled inside the window (default 10)."},
    "minimum_size": {"type": "integer", "minimum": 0, "maximum": MAX_SIZE,
                     "description": "Below this many ready clones, refill at once, outside the window too "
                                    "(default 1); at most full_size."},
    "refill_window": {"type": "string", "pattern": WINDOW_PATTERN,
                      "description": "HH:MM-HH:MM, may wrap midnight (22:00-04:00); '' means always "
                                     "(default 00:00-04:00)."},
    "timezone": {"type": "string", "minLength": 1, "maxLength": 64,
                 "description": "IANA time zone of the window (default UTC)."},
    "clone_lifetime": {"oneOf": [{"type": "number", "minimum": 0, "maximum": MAX_LIFETIME},
                                 {"type": "string", "pattern": DURATION_PATTERN, "maxLength": 32}],
                       "description": "Seconds, or 23h, 90m, 1.5d; 0 means never expire (default 23h)."},
    "clone_prefix": {"type": "string", "pattern": PREFIX_PATTERN,
                     "description": "Clones are named <clone_prefix><id> (default <name>-clone-)."},
    "next_clone_id": {"type": "integer", "minimum": 1, "maximum": MAX_CLONE_ID,
                      "description": "The lowest id the next clone may get; names that exist are skipped."},
    "pool_state": {"enum": ["running", "stopped"],
                   "description": "running: clones wait started; stopped: deployed, started on claim."},
    "reuse_on_release": {"type": "boolean",
                         "description": "A released clone goes back to the reserve instead of being deleted."},
    "refill_concurrency": {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY,
                           "description": "Clones built (and deleted) at the same time (default 10)."},
}

RESERVE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://appgraph.example/schemas/reserve.schema.json",
    "title": "appgraph.lifecycle reserve",
    "description": "A reserve of ready clones of a template (module appgraph.lifecycle.reserve).",
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": dict({
        "name": {"type": "string", "pattern": NAME_PATTERN, "description": "Name of the reserve."},
        "provider": {"type": "string", "minLength": 1, "description": "Provider of the clones' servers."},
        "provider_options": {"type": "object", "description": "Options of the provider."},
        "src": {"type": "string", "minLength": 1,
                "description": "The template application: an *.app.yml file or a Roboconf directory."},
    }, **SETTINGS),
}


def schema_json() -> str:
    """The schema as written to ``schemas/reserve.schema.json``."""
    return json.dumps(RESERVE_SCHEMA, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover - regeneration helper
    sys.stdout.write(schema_json())
