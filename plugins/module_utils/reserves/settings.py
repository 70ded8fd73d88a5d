# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A reserve's settings: validated against ``schema.RESERVE_SCHEMA``, then against the rules a
schema cannot say (``minimum_size <= full_size``, a time zone that exists, a finite lifetime).

Every problem is reported at once (``InputErrors``), each naming its key with a hint; nothing a
user writes ends in a traceback. A setting left out (None) gets its default.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass, fields
from datetime import tzinfo

from ..errors import InputError, InputErrors, suggest
from .durations import DURATION_HINT, parse_duration
from .schema import MAX_CONCURRENCY, MAX_SIZE, PREFIX_PATTERN, RESERVE_SCHEMA, SETTINGS
from .window import WINDOW_HINT, Window, is_open, parse_window

DEFAULTS = {"full_size": 10, "minimum_size": 1, "refill_window": "00:00-04:00", "timezone": "UTC",
            "clone_lifetime": "23h", "clone_prefix": None, "next_clone_id": 1, "pool_state": "running",
            "reuse_on_release": False, "refill_concurrency": 10}
SETTING_KEYS = tuple(SETTINGS)
DEFAULT_PROVIDER = "local"
MAX_MESSAGE = 200
HINTS = {
    "name": "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    "full_size": "an integer from 0 to %d" % MAX_SIZE,
    "minimum_size": "an integer from 0 to full_size",
    "refill_window": WINDOW_HINT,
    "timezone": "an IANA time zone name, such as UTC or Europe/Paris",
    "clone_lifetime": DURATION_HINT,
    "clone_prefix": "1-40 letters, digits, '.', '_' or '-', starting with a letter or digit",
    "next_clone_id": "an integer >= 1",
    "pool_state": "running or stopped",
    "reuse_on_release": "true or false",
    "refill_concurrency": "an integer from 1 to %d" % MAX_CONCURRENCY,
    "src": "the path of an *.app.yml file or of a Roboconf application directory",
    "provider": "a provider name: local, ec2, ...",
    "provider_options": "a mapping of the provider's options",
}


@dataclass(frozen=True)
class Settings:
    """Validated settings; ``clone_lifetime`` in seconds (0: never expire)."""

    full_size: int
    minimum_size: int
    refill_window: str
    timezone: str
    clone_lifetime: float
    clone_prefix: str
    next_clone_id: int
    pool_state: str
    reuse_on_release: bool
    refill_concurrency: int

    @property
    def window(self) -> Window | None:
        return parse_window(self.refill_window)

    @property
    def zone(self) -> tzinfo:
        return time_zone(self.timezone)

    def window_open(self, now: float) -> bool:
        return is_open(self.window, now, self.zone)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, stored: dict) -> "Settings":
        """Settings as the store keeps them (validated when they were written)."""
        return cls(**{f.name: stored[f.name] for f in fields(cls)})


@functools.lru_cache(maxsize=32)
def time_zone(name: str) -> tzinfo:
    """The zone called ``name``; InputError (key ``timezone``) when there is none."""
    import zoneinfo  # pylint: disable=import-outside-toplevel
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError, TypeError) as exc:
        raise InputError("unknown time zone %r (%s)" % (name, type(exc).__name__), key="timezone",
                         hint=HINTS["timezone"]) from None


def parse_settings(name: str, raw: dict | None, **request) -> Settings:
    """The settings of the reserve ``name`` from ``raw`` (keys of ``SETTING_KEYS``, None: default),
    checked against the schema with the rest of the ``request`` (``provider``, ``provider_options``,
    ``src``: None for none)."""
    given = {k: v for k, v in (raw or {}).items() if v is not None}
    check_request(dict(given, name=name, **{k: v for k, v in request.items() if v is not None}))
    values = dict(DEFAULTS, **given)
    errors = []

    def checked(key, parse):
        try:
            return parse(values[key])
        except InputError as exc:
            errors.append(exc)
            return None

    lifetime = checked("clone_lifetime", parse_duration)
    checked("refill_window", parse_window)
    checked("timezone", time_zone)
    prefix = values["clone_prefix"]
    if prefix is not None and not re.fullmatch(PREFIX_PATTERN, prefix):      # the schema's $ allows a newline
        errors.append(InputError("invalid value %r" % (prefix,), key="clone_prefix", hint=HINTS["clone_prefix"]))
    if values["minimum_size"] > values["full_size"]:
        sizes = (values["full_size"], values["minimum_size"])
        errors.append(InputError("must be at most full_size (%d), got %d" % sizes, key="minimum_size",
                                 hint="below minimum_size the reserve refills at once; set it to full_size at most"))
    if errors:
        raise InputErrors(errors)
    return Settings(full_size=int(values["full_size"]), minimum_size=int(values["minimum_size"]),
                    refill_window=values["refill_window"], timezone=values["timezone"], clone_lifetime=lifetime,
                    clone_prefix=values["clone_prefix"] or "%s-clone-" % name,
                    next_clone_id=int(values["next_clone_id"]), pool_state=values["pool_state"],
                    reuse_on_release=bool(values["reuse_on_release"]),
                    refill_concurrency=int(values["refill_concurrency"]))


def check_request(request: dict) -> None:
    """``request`` (name, provider, provider_options, src and settings) against the schema."""
    found = sorted(_validator().iter_errors(request), key=lambda e: [str(p) for p in e.absolute_path])
    if found:
        raise InputErrors([_error(e) for e in found[:20]])


@functools.lru_cache(maxsize=1)
def _validator():
    import jsonschema  # pylint: disable=import-outside-toplevel
    return jsonschema.Draft202012Validator(RESERVE_SCHEMA)


def _error(err) -> InputError:
    path = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted(RESERVE_SCHEMA["properties"])
        extra = sorted(set(err.instance) - set(allowed))
        if extra:
            return InputError("unknown setting %r" % (extra[0],), key=str(extra[0]), hint=suggest(extra[0], allowed))
    key = str(path[0]) if path else None
    value = repr(err.instance)
    if len(value) > 60:
        value = value[:60] + "..."
    message = "invalid value %s" % value if err.validator in ("pattern", "oneOf", "enum") else err.message
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "..."
    return InputError(message, key=key, hint=HINTS.get(key))
