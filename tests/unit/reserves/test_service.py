# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reserve service end to end on both stores, with an in-memory provider and an injected clock
(no sleeps): refill, claim, fallback, migration, release, expiry, template changes, check mode."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import reserve_failure
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.claim import ReserveEmpty
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import reserves as sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import servers as rows_sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from .helpers import at, events

NIGHT = {"full_size": 3, "minimum_size": 1}


def clones(dsn, name):
    with Store(dsn) as store:
        return {c.name: c for c in sql.clones(store.db, name)}


def states(dsn, name):
    return {n: c.state for n, c in clones(dsn, name).items()}


def instance_states(dsn, application):
    with Store(dsn) as store:
        return {p: r.state.state for p, r in store.instance_rows(application).items()}


def kinds(dsn, name):
    return [e.kind for e in events(dsn) if isinstance(e.data, dict) and e.data.get("reserve") == name]


def test_refill_inside_the_window_fills_the_reserve_with_ready_sites(service, dsn, name, site, provider):
    result = service.ensure(name, NIGHT, provider="instant", src=site)
    assert result["changed"] and result["failed"] == [] and result["window_open"]
    assert result["built"] == ["%s-clone-%d" % (name, i) for i in (1, 2, 3)]
    assert result["counts"] == {"ready": 3} and result["available"] == 3
    assert provider.made() == result["built"]
    with Store(dsn) as store:
        for clone in result["built"]:
            server = rows_sql.read(store.db, clone)          # the clone is a real server row...
            assert (server.status, server.application, server.instance_path) == ("running", clone, "/vm")
            rows = store.instance_rows(clone)               # ...carrying its own application, started
            started = {"/vm": "deployed_started", "/vm/site": "deployed_started"}
            assert {p: r.state.state for p, r in rows.items()} == started
            assert rows["/vm"].runtime["server"] == clone and rows["/vm/site"].exports["Site.ip"] == server.address
    assert kinds(dsn, name).count("clone_created") == 3 and kinds(dsn, name).count("clone_ready") == 3
    again = service.ensure(name, NIGHT, provider="instant", src=site)
    assert not again["changed"] and again["built"] == [] and len(provider.made()) == 3


def test_outside_the_window_only_the_emergency_reserve_is_made(service, dsn, name, clock, provider):
    clock.now = at("2026-01-15 12:00")
    result = service.ensure(name, {"full_size": 5, "minimum_size": 2}, provider="instant")
    assert not result["window_open"] and result["built"] == [name + "-clone-1", name + "-clone-2"]
    assert "reserve_low" in kinds(dsn, name)
    assert service.ensure(name, {"full_size": 5, "minimum_size": 2}, provider="instant")["built"] == []
    # a pass that refills says so (the refill rulebook leaves it alone); a claim with nothing being
    # built says nobody refills

    def low():
        return [e.data for e in events(dsn) if e.kind == "reserve_low" and e.data["reserve"] == name]
    assert low() == [
        {"reserve": name, "available": 0, "minimum_size": 2, "refilling": 2}]
    service.claim(name, name + "-acme")
    assert low()[-1] == {
        "reserve": name, "available": 1, "minimum_size": 2, "refilling": 0}
    clock.now = at("2026-01-16 00:30")                      # the next night: up to full_size (1 ready)
    assert len(service.ensure(name, {"full_size": 5, "minimum_size": 2}, provider="instant")["built"]) == 4


def test_a_window_that_wraps_midnight_opens(service, name, clock):
    clock.now = at("2026-01-15 23:30")
    assert service.ensure(name, {"full_size": 2, "refill_window": "22:00-04:00"}, provider="instant")["built"] \
        == [name + "-clone-1", name + "-clone-2"]


def test_claim_takes_the_oldest_ready_clone_and_is_idempotent(service, dsn, name, site, clock):
    service.ensure(name, {"full_size": 1}, provider="instant", src=site)
    clock.now += 60
    service.ensure(name, {"full_size": 2}, provider="instant", src=site)
    claimed = service.claim(name, name + "-acme")
    server = claimed["server"]
    assert claimed["changed"] and claimed["claim"] == "claimed" and claimed["claim_seconds"] < 1
    assert (server["name"], server["alias"], server["clone_id"], server["fallback_used"]) == (
        name + "-clone-1", name + "-acme", 1, False)
    assert server["address"] and server["exports"]["/vm/site"]["Site.port"] == 8080
    again = service.claim(name, name + "-acme")
    assert not again["changed"] and again["claim"] == "existing" and again["server"]["name"] == name + "-clone-1"
    other = service.claim(name, name + "-bob")
    assert other["server"]["name"] == name + "-clone-2"
    assert states(dsn, name) == {name + "-clone-1": "claimed", name + "-clone-2": "claimed"}
    status = service.status(name)["reserves"][0]
    assert (status["hits"], status["misses"], status["hit_rate"]) == (2, 0, 1.0)
    assert "clone_claimed" in kinds(dsn, name) and "reserve_low" in kinds(dsn, name)


def test_an_empty_reserve_falls_back_on_a_cold_create_under_the_name(service, dsn, name, site, clock, provider):
    clock.now = at("2026-01-15 12:00")
    service.ensure(name, {"full_size": 1, "minimum_size": 0}, provider="instant", src=site)
    assert provider.made() == []
    result = service.claim(name, name + "-cold")
    server = result["server"]
    assert result["claim"] == "fallback" and server["fallback_used"] and server["clone_id"] is None
    assert (server["name"], server["alias"], server["application"], server["state"]) == (
        name + "-cold", name + "-cold", name + "-cold", "migrated")
    assert instance_states(dsn, name + "-cold") == {"/vm": "deployed_started", "/vm/site": "deployed_started"}
    assert provider.made() == [name + "-cold"]
    assert "fallback_used" in kinds(dsn, name)
    assert service.claim(name, name + "-cold")["claim"] == "existing"
    with pytest.raises(ReserveEmpty):
        service.claim(name, name + "-nothing", fallback=False)
    status = service.status(name)["reserves"][0]
    assert (status["hits"], status["misses"]) == (0, 2)
    assert name + "-nothing" not in provider.made()


def test_migration_renames_the_clone_application_to_the_permanent_name(service, dsn, name, site, clock):
    service.ensure(name, {"full_size": 1}, provider="instant", src=site)
    service.claim(name, name + "-acme")
    clone = name + "-clone-1"
    assert instance_states(dsn, clone) != {}                # until the next pass it keeps its clone name
    result = service.ensure(name, {"full_size": 1}, provider="instant", src=site)
    assert result["migrated"] == [{"name": clone, "alias": name + "-acme"}]
    assert instance_states(dsn, clone) == {}
    assert instance_states(dsn, name + "-acme") == {"/vm": "deployed_started", "/vm/site": "deployed_started"}
    with Store(dsn) as store:
        assert store.application(name + "-acme").document["application"] == name + "-acme"
        assert rows_sql.read(store.db, clone).application == name + "-acme"
    after = clones(dsn, name)[clone]
    assert (after.state, after.application, after.alias) == ("migrated", name + "-acme", name + "-acme")
    assert "clone_migrated" in kinds(dsn, name)
    assert service.ensure(name, {"full_size": 1}, provider="instant", src=site)["migrated"] == []
    assert service.claim(name, name + "-acme")["server"]["application"] == name + "-acme"


def test_a_claimed_clone_never_goes_back_to_the_reserve(service, dsn, name, site, clock, tmp_path):
    service.ensure(name, {"full_size": 1, "clone_lifetime": "1h"}, provider="instant", src=site)
    service.claim(name, name + "-acme")
    changed = tmp_path / "changed.app.yml"
    changed.write_text(open(site, encoding="utf-8").read().replace("Hello", "Bonjour"), encoding="utf-8")
    clock.now += 7200                                           # outlived, and a new template
    service.ensure(name, {"full_size": 1, "clone_lifetime": "1h"}, provider="instant", src=str(changed))
    clone = clones(dsn, name)[name + "-clone-1"]
    assert clone.state == "migrated" and clone.alias == name + "-acme"
    assert service.claim(name, name + "-bob")["server"]["name"] == name + "-clone-2"


def test_release_deletes_the_clone(service, dsn, name, site, provider):
    service.ensure(name, {"full_size": 1}, provider="instant", src=site)
    service.claim(name, name + "-acme")
    result = service.release(name, name + "-acme")
    assert result["changed"] and result["released"]["reused"] is False
    assert name + "-clone-1" not in states(dsn, name) and name + "-clone-1" not in provider.made()
    assert instance_states(dsn, name + "-clone-1") == {} and instance_states(dsn, name + "-acme") == {}
    assert "clone_released" in kinds(dsn, name) and "clone_deleted" in kinds(dsn, name)
    assert service.release(name, name + "-acme")["changed"] is False


def test_release_returns_the_clone_when_the_reserve_reuses_them(service, dsn, name, site, provider):
    settings = {"full_size": 2, "reuse_on_release": True}
    service.ensure(name, settings, provider="instant", src=site)
    service.claim(name, name + "-acme")
    service.ensure(name, settings, provider="instant", src=site)           # migrated, one more built
    assert states(dsn, name) == {name + "-clone-1": "migrated", name + "-clone-2": "ready",
                                 name + "-clone-3": "ready"}
    service.ensure(name, dict(settings, full_size=3), provider="instant", src=site)
    result = service.release(name, name + "-acme")
    assert result["released"]["reused"] is False                            # the reserve is full: deleted
    service.claim(name, name + "-bob")
    assert service.release(name, name + "-bob")["released"]["reused"] is True
    clone = clones(dsn, name)[name + "-clone-2"]
    assert (clone.state, clone.alias, clone.application) == ("ready", None, name + "-clone-2")
    assert instance_states(dsn, name + "-clone-2")["/vm/site"] == "deployed_started"
    assert service.claim(name, name + "-carol")["server"]["name"] in (name + "-clone-2", name + "-clone-3")
    assert "clone_returned" in kinds(dsn, name)


def test_clones_expire_after_their_lifetime_inside_the_window(service, dsn, name, clock, provider):
    settings = {"full_size": 2, "clone_lifetime": "23h"}
    service.ensure(name, settings, provider="instant")
    clock.now = at("2026-01-15 12:00")
    assert service.ensure(name, settings, provider="instant")["expired"] == []
    clock.now = at("2026-01-16 01:00")                  # 23 h later, inside the window: made again
    result = service.ensure(name, settings, provider="instant")
    assert sorted(e["reason"] for e in result["expired"]) == ["lifetime", "lifetime"]
    assert result["built"] == [name + "-clone-3", name + "-clone-4"] and result["counts"] == {"ready": 2}
    assert provider.made() == [name + "-clone-3", name + "-clone-4"]
    assert kinds(dsn, name).count("clone_expired") == 2


def test_lifetime_zero_keeps_clones_forever(service, name, clock):
    service.ensure(name, {"full_size": 2, "clone_lifetime": 0}, provider="instant")
    clock.now += 400 * 86400
    result = service.ensure(name, {"full_size": 2, "clone_lifetime": 0}, provider="instant")
    assert result["expired"] == [] and result["counts"] == {"ready": 2}


def test_a_changed_template_retires_its_stale_clones(service, dsn, name, site, clock, tmp_path):
    service.ensure(name, NIGHT, provider="instant", src=site)
    old_digest = service.status(name)["reserves"][0]["settings"]["template_digest"]
    changed = tmp_path / "changed.app.yml"
    changed.write_text(open(site, encoding="utf-8").read().replace("port: 8080", "port: 9090"), encoding="utf-8")
    clock.now = at("2026-01-15 12:00")                  # outside the window: stale clones wait, unclaimable
    result = service.ensure(name, NIGHT, provider="instant", src=str(changed))
    assert result["changed"] and result["settings"]["template_digest"] != old_digest
    assert result["expired"] == [] and result["built"] == [name + "-clone-4"]          # the emergency clone
    assert service.claim(name, name + "-new")["server"]["exports"]["/vm/site"]["Site.port"] == 9090
    clock.now = at("2026-01-16 01:00")
    result = service.ensure(name, NIGHT, provider="instant", src=str(changed))
    assert sorted(e["name"] for e in result["expired"]) == [name + "-clone-%d" % i for i in (1, 2, 3)]
    assert all(e["reason"] == "template" for e in result["expired"])
    assert len(result["built"]) == 3


def test_recipes_are_part_of_the_template(service, name, tmp_path):
    recipes = tmp_path / "recipes" / "Site" / "scripts"
    recipes.mkdir(parents=True)
    (recipes / "deploy.sh").write_text("true\n", encoding="utf-8")
    app = tmp_path / "r.app.yml"
    app.write_text("application: r\ncomponents:\n  VM: {installer: server, children: [Site]}\n"
                   "  Site: {installer: noop, recipes: recipes/Site}\ninstances:\n"
                   "  - {name: vm, component: VM, children: [{name: s, component: Site}]}\n", encoding="utf-8")
    first = service.ensure(name, {"full_size": 0, "minimum_size": 0}, provider="instant", src=str(app))
    (recipes / "deploy.sh").write_text("echo changed\n", encoding="utf-8")
    second = service.ensure(name, {"full_size": 0, "minimum_size": 0}, provider="instant", src=str(app))
    assert first["settings"]["template_digest"] != second["settings"]["template_digest"]


def test_next_clone_id_skips_names_that_exist(service, dsn, name, provider):
    provider.names = {name + "-clone-1", name + "-clone-3"}            # made by hand at the provider
    with Store(dsn) as store, store.transaction(name + "-clone-4") as tx:     # and an application by hand
        tx.put_application(name + "-clone-4", {"application": name + "-clone-4", "components": {}}, None, "x", [])
    try:
        result = service.ensure(name, {"full_size": 3}, provider="instant")
        assert result["built"] == [name + "-clone-2", name + "-clone-5", name + "-clone-6"]
        assert service.ensure(name, {"full_size": 4, "next_clone_id": 100}, provider="instant")["built"] == [
            name + "-clone-100"]
        assert service.ensure(name, {"full_size": 5, "next_clone_id": 7}, provider="instant")["built"] == [
            name + "-clone-101"]                                        # the counter never goes back
    finally:
        with Store(dsn) as store, store.transaction(None) as tx:
            tx.delete_application(name + "-clone-4")


def test_a_stopped_reserve_keeps_clones_deployed_and_starts_them_on_claim(service, dsn, name, site):
    settings = {"full_size": 1, "pool_state": "stopped"}
    service.ensure(name, settings, provider="instant", src=site)
    clone = name + "-clone-1"
    assert instance_states(dsn, clone) == {"/vm": "deployed_started", "/vm/site": "deployed_stopped"}
    result = service.claim(name, name + "-acme")
    assert result["changed"] and result["server"]["state"] == "claimed"
    assert instance_states(dsn, clone) == {"/vm": "deployed_started", "/vm/site": "deployed_started"}
    assert clones(dsn, name)[clone].lease_owner is None                 # the start gave the lease back


def test_a_build_failure_deletes_that_clone_and_the_others_are_ready(service, dsn, name, site, provider):
    provider.fail = {name + "-clone-2"}
    result = service.ensure(name, NIGHT, provider="instant", src=site)
    assert [f["name"] for f in result["failed"]] == [name + "-clone-2"]
    assert "no capacity" in result["failed"][0]["error"]
    assert states(dsn, name) == {name + "-clone-1": "ready", name + "-clone-3": "ready"}
    assert instance_states(dsn, name + "-clone-2") == {}
    assert "could not be built" in reserve_failure(result)
    assert "clone_failed" in kinds(dsn, name)
    again = service.ensure(name, NIGHT, provider="instant", src=site)
    assert again["built"] == [name + "-clone-4"] and reserve_failure(again) is None


def test_absent_deletes_the_unclaimed_clones_and_keeps_the_claimed_ones(service, dsn, name, site, provider):
    service.ensure(name, NIGHT, provider="instant", src=site)
    service.claim(name, name + "-acme")
    result = service.absent(name)
    assert result["changed"] and result["counts"] == {"migrated": 1} and not result["present"]
    assert provider.made() == [name + "-clone-1"]
    assert instance_states(dsn, name + "-acme")["/vm/site"] == "deployed_started"
    with pytest.raises(InputError) as error:
        service.claim(name, name + "-bob")
    assert error.value.key == "reserve"
    assert service.release(name, name + "-acme")["changed"] and provider.made() == []
    assert service.absent(name)["changed"] is False


def test_check_mode_writes_nothing_and_calls_no_provider(service, dsn, name, site, provider):
    plan = service.ensure(name, NIGHT, provider="instant", src=site, check_mode=True)
    assert plan["changed"] and plan["check_mode"] and plan["built"] == [name + "-clone-%d" % i for i in (1, 2, 3)]
    assert plan["counts"] == {"ready": 3} and plan["diff"]["before"]["settings"] is None
    assert provider.calls == [] and service.status(name)["reserves"][0]["present"] is False
    service.ensure(name, NIGHT, provider="instant", src=site)
    calls, before = len(provider.calls), events(dsn)
    claim = service.claim(name, name + "-acme", check_mode=True)
    assert claim["changed"] and claim["server"]["name"] == name + "-clone-1"
    release = service.release(name, name + "-acme", check_mode=True)
    assert release["changed"] is False
    gone = service.absent(name, check_mode=True)
    assert gone["changed"] and sorted(gone["deleted"]) == [name + "-clone-%d" % i for i in (1, 2, 3)]
    assert len(provider.calls) == calls and events(dsn) == before and states(dsn, name) != {}


def test_a_name_that_is_taken_is_refused(service, dsn, name):
    service.ensure(name, {"full_size": 1}, provider="instant")
    with Store(dsn) as store, store.transaction(name + "-app") as tx:
        tx.put_application(name + "-app", {"application": name + "-app", "components": {}}, None, "x", [])
    try:
        with pytest.raises(InputError) as error:
            service.claim(name, name + "-app")
        assert error.value.key == "name"
        with pytest.raises(InputError):
            service.claim(name, "not a name")
    finally:
        with Store(dsn) as store, store.transaction(None) as tx:
            tx.delete_application(name + "-app")


def test_every_step_writes_its_event(service, dsn, name, site, clock):
    service.ensure(name, {"full_size": 1, "reuse_on_release": True}, provider="instant", src=site)
    service.claim(name, name + "-a")
    service.ensure(name, {"full_size": 1, "reuse_on_release": True}, provider="instant", src=site)
    service.release(name, name + "-a")                          # full: deleted
    service.claim(name, name + "-b")
    service.release(name, name + "-b")                          # back to the reserve
    clock.now = at("2026-01-16 01:00")
    service.ensure(name, {"full_size": 1, "reuse_on_release": True}, provider="instant", src=site)
    seen = set(kinds(dsn, name))
    assert {"clone_created", "clone_ready", "clone_claimed", "clone_migrated", "clone_expired", "clone_released",
            "clone_returned", "clone_deleted", "reserve_low", "reserve_changed"} <= seen
    service.claim(name, name + "-c")
    service.claim(name, name + "-d")                            # empty: the fallback
    assert "fallback_used" in kinds(dsn, name)
