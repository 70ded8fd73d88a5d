# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a pass decides (pure: rows, settings, a moment, the window's verdict and the busy clones in;
a plan out): refill inside the window, emergency refill outside it, expiry, what a dead process
left, and what never counts."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.decision import decide, decide_absent
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.settings import parse_settings
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.states import (
    BUILDING, CLAIMED, DELETING, MIGRATED, READY, RETURNING)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.reserves import CloneRow

from .helpers import at

NOW = at("2026-01-15 02:00")
HOUR = 3600.0


def clone(number, state, digest="d1", ready_hours_ago=1.0):
    ready_at = NOW - ready_hours_ago * HOUR if state != BUILDING else None
    return CloneRow(id=number, reserve="site", name="site-clone-%d" % number, clone_id=number, state=state,
                    alias=None, application="site-clone-%d" % number, template_digest=digest, fallback=False,
                    reason=None, error=None, lease_owner=None, lease_expires=None, created_at=NOW - 30 * HOUR,
                    ready_at=ready_at, claimed_at=None, migrated_at=None, state_changed_at=NOW, updated_at=NOW)


def settings(**given):
    return parse_settings("site", dict({"full_size": 5, "minimum_size": 2}, **given))


def plan(rows, window_open=True, busy=(), **given):
    return decide(settings(**given), rows, "d1", NOW, window_open, set(busy))


@pytest.mark.parametrize("rows, window_open, build, why", [
    ([], True, 5, "inside the window: up to full_size"),
    ([], False, 2, "outside: the emergency refill, up to minimum_size"),
    ([clone(1, READY)], False, 1, "outside, below minimum: up to minimum only"),
    ([clone(1, READY), clone(2, READY)], False, 0, "outside, at minimum: nothing"),
    ([clone(1, READY), clone(2, BUILDING)], False, 0, "a clone being built counts"),
    ([clone(i, READY) for i in range(1, 4)], True, 2, "inside: the rest up to full_size"),
    ([clone(i, READY) for i in range(1, 6)], True, 0, "full"),
    ([clone(1, CLAIMED), clone(2, MIGRATED)], True, 5, "claimed clones are not the reserve's any more"),
    ([clone(1, DELETING), clone(2, RETURNING)], False, 2, "a clone on its way out never counts (Aegir's did)"),
    ([clone(1, READY, digest="old"), clone(2, READY, digest="old")], False, 2, "stale clones do not count"),
])
def test_how_many_to_build(rows, window_open, build, why):
    assert plan(rows, window_open).build == build, why


def test_lifetime_expires_inside_the_window_only():
    old = [clone(1, READY, ready_hours_ago=24), clone(2, READY, ready_hours_ago=1)]
    inside = plan(old, True)
    assert [(c.name, r) for c, r in inside.expire] == [("site-clone-1", "lifetime")]
    assert inside.build == 4                                        # the expired one is made again
    outside = plan(old, False)
    assert outside.expire == [] and outside.build == 0              # both still count until the window


def test_lifetime_zero_never_expires():
    ancient = [clone(i, READY, ready_hours_ago=24 * 365 * 5) for i in range(1, 4)]
    assert plan(ancient, True, clone_lifetime=0).expire == []
    assert plan(ancient, True, clone_lifetime="0").build == 2


def test_a_changed_template_retires_its_clones_inside_the_window():
    rows = [clone(1, READY, digest="old"), clone(2, READY), clone(3, BUILDING, digest="old")]
    inside = plan(rows, True)
    assert sorted((c.name, r) for c, r in inside.expire) == [("site-clone-1", "template"), ("site-clone-3", "template")]
    assert inside.available == 1 and inside.build == 4
    outside = plan(rows, False)
    # outside the window the stale ready clone waits (never claimed: not current); a stale
    # building one nobody works on is deleted instead of being finished
    assert [(c.name, r) for c, r in outside.expire] == [("site-clone-3", "template")]
    assert outside.build == 1 and outside.low


def test_lowering_full_size_expires_the_oldest_ready_clones_inside_the_window():
    rows = [clone(i, READY) for i in range(1, 8)]
    inside = plan(rows, True)
    assert [c.name for c, r in inside.expire] == ["site-clone-1", "site-clone-2"]
    assert all(r == "surplus" for _c, r in inside.expire) and inside.available == 5
    assert plan(rows, False).expire == []


def test_what_a_dead_process_left_is_taken_up_and_busy_clones_are_left_alone():
    rows = [clone(1, BUILDING), clone(2, CLAIMED), clone(3, RETURNING), clone(4, DELETING), clone(5, BUILDING),
            clone(6, CLAIMED)]
    result = plan(rows, False, busy={5, 6})
    assert [c.name for c in result.resume] == ["site-clone-1"]
    assert [c.name for c in result.migrate] == ["site-clone-2"]
    assert [c.name for c in result.give_back] == ["site-clone-3"]
    assert [c.name for c in result.teardown] == ["site-clone-4"]
    assert result.counted == 2 and result.build == 0                # both building clones count


@pytest.mark.parametrize("rows, low", [
    ([], True), ([clone(1, READY)], True), ([clone(1, READY), clone(2, BUILDING)], True),
    ([clone(1, READY), clone(2, READY)], False),
])
def test_low_is_about_ready_clones(rows, low):
    assert plan(rows, False).low is low


def test_minimum_zero_and_full_zero():
    assert plan([], False, minimum_size=0).build == 0
    assert plan([clone(1, READY)], True, full_size=0, minimum_size=0).expire[0][1] == "surplus"


def test_a_removed_reserve_deletes_what_it_holds_and_migrates_what_it_handed_out():
    rows = [clone(1, READY), clone(2, BUILDING), clone(3, CLAIMED), clone(4, MIGRATED), clone(5, DELETING),
            clone(6, RETURNING), clone(7, READY)]
    result = decide_absent(rows, busy={7})
    assert sorted(c.name for c, r in result.expire) == ["site-clone-1", "site-clone-2", "site-clone-6"]
    assert [c.name for c in result.migrate] == ["site-clone-3"]
    assert [c.name for c in result.teardown] == ["site-clone-5"]
    assert result.build == 0
