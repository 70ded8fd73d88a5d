# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The refill window: ``"HH:MM-HH:MM"`` in a time zone, which may wrap past midnight (pure).

Aegir's window could not wrap: ``22:00-04:00`` never opened. Here a window is the half-open
interval [start, end) of local wall-clock time; when ``end`` comes before ``start`` it wraps
midnight (open from ``start`` to midnight and from midnight to ``end``). ``start == end`` (or
``00:00-24:00``) is the whole day, and the empty string means "always" too. ``24:00`` is allowed as
an end only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from ..errors import InputError

DAY = 86400
WINDOW_PATTERN = r"^$|^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
WINDOW_HINT = "HH:MM-HH:MM in 24-hour time, e.g. 00:00-04:00 or 22:00-04:00 (wraps midnight); '' means always"
_WINDOW = re.compile(WINDOW_PATTERN)


@dataclass(frozen=True)
class Window:
    """[start, end) in seconds after local midnight; ``end`` in 1..86400."""

    start: int
    end: int

    @property
    def whole_day(self) -> bool:
        return self.start == self.end % DAY

    def contains(self, second: int) -> bool:
        """Whether the local time ``second`` (0..86399 after midnight) is inside the window."""
        if self.whole_day:
            return True
        if self.start < self.end:
            return self.start <= second < self.end
        return second >= self.start or second < self.end      # wraps midnight


def parse_window(text, key: str = "refill_window") -> Window | None:
    """The window written ``text``; None when it is always open (empty). InputError otherwise."""
    if not isinstance(text, str) or not _WINDOW.fullmatch(text):
        raise InputError("%r is not a time window" % (text,), key=key, hint=WINDOW_HINT)
    if not text:
        return None
    start, end = text.split("-")
    return Window(_seconds(start), _seconds(end))


def _seconds(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def local_second(now: float, zone: tzinfo) -> int:
    """Seconds after local midnight in ``zone`` at the epoch time ``now``."""
    moment = datetime.fromtimestamp(now, timezone.utc).astimezone(zone)
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def is_open(window: Window | None, now: float, zone: tzinfo) -> bool:
    """Whether ``window`` (None: always) is open at the epoch time ``now`` in ``zone``."""
    return window is None or window.contains(local_second(now, zone))
