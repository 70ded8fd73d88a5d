# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The refill window (pure, injected times): wrapping midnight, the whole day, always, time zones."""

from __future__ import annotations

from datetime import timezone

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.settings import time_zone
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.window import Window, is_open, parse_window

from .helpers import at

UTC = timezone.utc


@pytest.mark.parametrize("window, moment, expected", [
    # Aegir's 22:00-04:00 never opened; here it wraps midnight.
    ("22:00-04:00", "2026-01-15 23:30", True),
    ("22:00-04:00", "2026-01-16 03:59", True),
    ("22:00-04:00", "2026-01-16 04:01", False),
    ("22:00-04:00", "2026-01-16 04:00", False),         # the end is not in the window
    ("22:00-04:00", "2026-01-15 22:00", True),          # the start is
    ("22:00-04:00", "2026-01-15 21:59:59", False),
    ("22:00-04:00", "2026-01-16 00:00", True),
    ("00:00-04:00", "2026-01-15 23:30", False),
    ("00:00-04:00", "2026-01-16 03:59", True),
    ("00:00-04:00", "2026-01-16 04:01", False),
    ("00:00-04:00", "2026-01-16 00:00", True),
    # a window equal to the day: open all day
    ("00:00-24:00", "2026-01-16 12:00", True),
    ("00:00-24:00", "2026-01-16 23:59:59", True),
    ("07:30-07:30", "2026-01-16 07:29", True),
    ("07:30-07:30", "2026-01-16 19:00", True),
    # the empty window means always
    ("", "2026-01-16 13:37", True),
    ("09:00-17:00", "2026-01-16 12:00", True),
    ("09:00-17:00", "2026-01-16 17:00", False),
    ("23:59-00:01", "2026-01-16 00:00:30", True),
    ("23:59-00:01", "2026-01-16 00:01", False),
])
def test_window_at_a_moment(window, moment, expected):
    assert is_open(parse_window(window), at(moment), UTC) is expected


@pytest.mark.parametrize("window, moment_utc, zone, expected", [
    # 22:00-04:00 in Paris (UTC+1 in winter): 21:30 UTC is 22:30 there
    ("22:00-04:00", "2026-01-15 21:30", "Europe/Paris", True),
    ("22:00-04:00", "2026-01-16 03:30", "Europe/Paris", False),     # 04:30 in Paris
    ("22:00-04:00", "2026-07-16 01:30", "Europe/Paris", True),      # 03:30 in summer (UTC+2)
    ("22:00-04:00", "2026-07-16 02:30", "Europe/Paris", False),     # 04:30 in summer
    ("00:00-04:00", "2026-01-16 06:00", "America/New_York", True),  # 01:00 there
    ("00:00-04:00", "2026-01-16 06:00", "UTC", False),
])
def test_window_in_a_time_zone(window, moment_utc, zone, expected):
    assert is_open(parse_window(window), at(moment_utc), time_zone(zone)) is expected


def test_parsed_windows():
    assert parse_window("") is None
    assert parse_window("22:00-04:00") == Window(22 * 3600, 4 * 3600)
    assert parse_window("00:00-24:00").whole_day and parse_window("05:00-05:00").whole_day
    assert not parse_window("00:00-04:00").whole_day


@pytest.mark.parametrize("text", ["22:00", "25:00-04:00", "22:00-04:60", "24:00-01:00", "2:00-4:00", "22-04",
                                  "22:00-04:00-05:00", " 22:00-04:00", "22:00 - 04:00", "noon-midnight",
                                  "22:00-04:00\n", "２２:００-０４:００", 2200, None, ["22:00", "04:00"], True])
def test_bad_windows_name_the_key(text):
    with pytest.raises(InputError) as error:
        parse_window(text)
    assert error.value.key == "refill_window" and "HH:MM-HH:MM" in error.value.hint


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "UTC\0", "a" * 300])
def test_unknown_time_zones_name_the_key(zone):
    with pytest.raises(InputError) as error:
        time_zone(zone)
    assert error.value.key == "timezone"
