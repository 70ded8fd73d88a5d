# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clone lifetimes (pure): how they are written, and 0 never expires (Aegir's 0 deleted everything)."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.durations import outlived, parse_duration


@pytest.mark.parametrize("text, seconds", [
    ("23h", 23 * 3600), ("90m", 5400), ("1.5d", 1.5 * 86400), ("3600s", 3600), ("3600", 3600), (" 2 h ", 7200),
    (0, 0), ("0", 0), (60, 60), (0.5, 0.5), ("3650d", 3650 * 86400),
])
def test_lifetimes(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("value", ["-1h", "23 hours", "h", "", "1e3", "inf", "nan", "3651d", float("nan"),
                                   float("inf"), -1, 10 ** 30, True, None, [23], {"h": 23}, "23h\x00"])
def test_bad_lifetimes_name_the_key(value):
    with pytest.raises(InputError) as error:
        parse_duration(value)
    assert error.value.key == "clone_lifetime"


@pytest.mark.parametrize("ready_at, lifetime, now, expected", [
    (1000.0, 0, 10 ** 12, False),           # 0 = never, however old
    (1000.0, 0, 1000.0, False),
    (1000.0, 3600, 4599.0, False),
    (1000.0, 3600, 4600.0, True),           # exactly the lifetime: expired
    (1000.0, 3600, 10 ** 9, True),
    (None, 3600, 10 ** 9, False),           # not ready yet: nothing to expire
])
def test_outlived(ready_at, lifetime, now, expected):
    assert outlived(ready_at, lifetime, now) is expected
