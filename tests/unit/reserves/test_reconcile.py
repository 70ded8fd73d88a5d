# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""reconcile looks after the reserves: migrations, refills in the window, the emergency refill,
what a removed reserve left, and check mode."""

from __future__ import annotations

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import reconcile_failure
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.reconcile import reconcile
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import reserves as sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from .helpers import at


def mine(result, name):
    return [r for r in result["reserves"] if r["reserve"] == name]


def test_reconcile_migrates_and_refills(service, dsn, name, site, provider, clock):
    clock.now = at("2026-01-15 12:00")
    service.ensure(name, {"full_size": 3, "minimum_size": 1}, provider="instant", src=site)
    service.claim(name, name + "-acme")

    def factory(_name, _options):
        return provider
    # (applications=False: PostgreSQL is shared by every test of the run, and their applications)
    plan = reconcile(dsn, now=clock.now, provider_factory=factory, check_mode=True, applications=False)
    [planned] = mine(plan, name)
    assert planned["migrated"] == [{"name": name + "-clone-1", "alias": name + "-acme"}]
    assert planned["built"] == [name + "-clone-2"] and planned["check_mode"]

    result = reconcile(dsn, now=clock.now, provider_factory=factory, applications=False)   # outside the window
    [done] = mine(result, name)
    assert done["migrated"] == [{"name": name + "-clone-1", "alias": name + "-acme"}]
    assert done["built"] == [name + "-clone-2"] and result["changed"]

    [night] = mine(reconcile(dsn, now=at("2026-01-16 01:00"), provider_factory=factory, applications=False), name)
    assert night["built"] == [name + "-clone-3", name + "-clone-4"] and night["window_open"]
    assert reconcile_failure(result) is None


def test_reconcile_finishes_what_a_removed_reserve_left(service, dsn, name, provider):
    service.ensure(name, {"full_size": 2}, provider="instant")
    with Store(dsn) as store, sql.reserve_transaction(store, name) as tx:      # removed, clones left (a crash)
        sql.delete_reserve(tx, name)
    [done] = mine(reconcile(dsn, provider_factory=lambda _n, _o: provider, applications=False), name)
    assert sorted(done["deleted"]) == [name + "-clone-1", name + "-clone-2"]
    assert provider.made() == []
    with Store(dsn) as store:
        assert sql.clones(store.db, name) == []


def test_a_clone_that_fails_fails_reconcile(service, dsn, name, provider, clock):
    service.ensure(name, {"full_size": 1}, provider="instant")
    provider.fail = {name + "-clone-2"}
    clock.now = at("2026-01-16 01:00")
    result = reconcile(dsn, now=clock.now, provider_factory=lambda _n, _o: provider, applications=False)
    [done] = mine(result, name)
    assert [f["name"] for f in done["failed"]] == [name + "-clone-2"]
    assert "reserve %s: clone %s-clone-2" % (name, name) in reconcile_failure(result)
    assert reconcile(dsn, now=clock.now, provider_factory=lambda _n, _o: provider, reserves=False,
                     applications=False)["reserves"] == []
