# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A JSON Schema violation as a located ``InputError`` a person can act on: an unknown key with a
"did you mean", a missing key, or the validator's own message (cut short). Each file format adds
the cases it words its own way (names, patterns) through ``specific``."""

from __future__ import annotations

from .errors import InputError, suggest

MAX_MESSAGE = 200


def schema_error(err, locate, specific=None) -> InputError:
    """``err`` (a ``jsonschema.ValidationError``) at ``locate(path)``; ``specific(err, where, key)``
    may word it first, given the error's location and key (None: the common wording)."""
    path = tuple(err.absolute_path)
    key = str(path[-1]) if path else None
    worded = specific(err, locate(path), key) if specific is not None else None
    if worded is not None:
        return worded
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        if extra:
            return InputError("unknown key %r" % extra[0], locate(path + (extra[0],)), key=extra[0],
                              hint=suggest(extra[0], allowed) if allowed else None)
    if err.validator == "required":
        return InputError(err.message.replace("is a required property", "is missing"), locate(path), key=key,
                          hint="add it")
    message = err.message if len(err.message) < MAX_MESSAGE else err.message[:MAX_MESSAGE] + "..."
    return InputError(message, locate(path), key=key)
