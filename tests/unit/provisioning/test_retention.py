# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshots older than keep_days are pruned by reconcile (the module's, through api.reconcile),
and only the files this store wrote."""

from __future__ import annotations

import os

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.reconcile import reconcile

from .helpers import events_of, manager, write_config

DAY = 86400.0


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_reconcile_prunes_snapshots_older_than_keep_days(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    config = write_config(tmp_path, local_root, keep_days=7)
    clock = Clock(1_800_000_000.0)
    m = manager(store, config, clock=clock)
    m.provision("acme", "shop1")
    old = m.export("shop1")["snapshot"]["path"]
    clock.now += 5 * DAY
    young = m.export("shop1")["snapshot"]["path"]
    stranger = tmp_path / "snapshots" / "someone-elses.tar.gz"
    stranger.write_bytes(b"not ours")
    assert m.reconcile(check_mode=True)["pruned"] == []
    clock.now += 3 * DAY                        # the first is 8 days old, the second 3
    assert m.reconcile(check_mode=True)["pruned"] == [old] and os.path.exists(old)
    result = reconcile(store, now=clock.now, applications=False, reserves=False)
    assert result["provisions"]["pruned"] == [old] and result["changed"]
    assert not os.path.exists(old) and os.path.exists(young) and stranger.exists()
    assert [s["path"] for s in m.status("shop1")["snapshots"]] == [young]
    assert [e.kind for e in events_of(store, "shop1")][-1] == "snapshot_pruned"
    assert reconcile(store, now=clock.now, applications=False, reserves=False)["provisions"]["pruned"] == []


def test_keep_days_zero_keeps_them(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    clock = Clock(1_800_000_000.0)
    m = manager(store, write_config(tmp_path, local_root, keep_days=0), clock=clock)
    m.provision("acme", "shop1")
    path = m.export("shop1")["snapshot"]["path"]
    clock.now += 1000 * DAY
    assert m.reconcile()["pruned"] == [] and os.path.exists(path)
