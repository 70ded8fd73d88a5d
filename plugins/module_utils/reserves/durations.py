# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clone lifetimes: how they are written and when a clone has outlived its own (pure).

A lifetime is a number of seconds or a string with a unit: ``"23h"``, ``"90m"``, ``"1.5d"``,
``"3600s"``, ``"3600"``. ``0`` means "never expire". Aegir's "infinite" (0) deleted every clone on
each run: here a lifetime of 0 is never reached.
"""

from __future__ import annotations

import math
import re

from ..errors import InputError

MAX_LIFETIME = 10 * 365 * 86400.0          # ten years: more is a mistake (or "never": write 0)
DURATION_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*[smhd]?\s*$"
DURATION_HINT = "seconds, or a number with a unit: 23h, 90m, 1.5d, 3600s; 0 means never expire"
_DURATION = re.compile(DURATION_PATTERN)
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value, key: str = "clone_lifetime") -> float:
    """Seconds written ``value``; InputError naming ``key`` for anything else."""
    if isinstance(value, bool):
        raise InputError("must be a duration, got %r" % (value,), key=key, hint=DURATION_HINT)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.fullmatch(value):
        text = value.strip()
        unit = text[-1] if text[-1] in "smhd" else ""
        seconds = float(text[:len(text) - len(unit)].strip()) * _UNITS[unit]
    else:
        raise InputError("%r is not a duration" % (value,), key=key, hint=DURATION_HINT)
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_LIFETIME:
        raise InputError("must be between 0 and %d seconds (ten years), got %r" % (MAX_LIFETIME, value), key=key,
                         hint=DURATION_HINT)
    return seconds


def outlived(ready_at: float | None, lifetime: float, now: float) -> bool:
    """Whether a clone that entered the reserve at ``ready_at`` has outlived ``lifetime`` (0: never)."""
    return lifetime > 0 and ready_at is not None and now - ready_at >= lifetime
