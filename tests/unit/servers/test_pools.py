# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server pools: with an in-memory provider and an injected clock, two processes racing for the last
slot of an account (SQLite and PostgreSQL), and the ``ec2`` provider against a moto server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import pool_failure
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.pools import pool_task
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers import pools, secrets
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.registry import get_provider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.migrations import LATEST, MIGRATIONS
from ansible_collections.appgraph.lifecycle.tests.helpers.clock import FakeClock
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider
from ansible_collections.appgraph.lifecycle.tests.helpers.store import counting_store
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pool_worker.py")


@pytest.fixture
def dsn(tmp_path):
    return str(tmp_path / "store.db")


@pytest.fixture
def clock():
    return FakeClock(now=100000.0)


@pytest.fixture
def fake():
    return FakeProvider()


@pytest.fixture
def built():
    """Every (provider name, options) the pool service built a provider with."""
    return []


def service_for(dsn, fake, clock, built, **kwargs):
    def factory(name, options):
        built.append((name, dict(options)))
        return fake
    return pools.PoolService(dsn, provider_factory=factory, clock=clock, sleep=clock.sleep, **kwargs)


@pytest.fixture
def service(dsn, fake, clock, built):
    return service_for(dsn, fake, clock, built)


def events(dsn, subject=None, kind=None):
    with Store(dsn) as store:
        return [e for e in store.events(limit=100000)
                if (subject is None or e.subject == subject) and (kind is None or e.kind == kind)]


def statuses(service, pool="web"):
    return {s["name"]: s["status"] for s in service.status(pool)["servers"]}


def ensure(service, count, pool="web", **kwargs):
    return service.ensure(pool, count, "fake", {"size": "small"}, **kwargs)


# -- schema ----------------------------------------------------------------------------------------

def test_migration_3_adds_the_pool_counters_to_a_version_2_store(tmp_path):
    import sqlite3
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version in (1, 2):
        for statement in MIGRATIONS[version]["sqlite"]:
            conn.execute(statement)
    conn.execute("INSERT INTO schema_version (version) VALUES (2)")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.schema_version() == LATEST >= 3
        columns = [row[1] for row in store.db.query("PRAGMA table_info(server_types)")]
        indexes = {row[1] for row in store.db.query("PRAGMA index_list(servers)")}
    assert columns == ["name", "provider", "provider_identity", "next_number", "created_at", "updated_at"]
    assert "servers_status_age" in indexes


# -- ensure, increase, decrease --------------------------------------------------------------------

def test_ensure_starts_the_missing_servers_in_parallel(service, fake, dsn):
    result = ensure(service, 3)
    assert result.changed and result.started == ["web-1", "web-2", "web-3"]
    assert result.counts_before == {} and result.counts == {"running": 3}
    assert statuses(service) == {"web-1": "running", "web-2": "running", "web-3": "running"}
    assert {s["provider"] for s in result.servers} == {"fake"} and all(s["address"] for s in result.servers)
    for name in ("web-1", "web-2", "web-3"):
        assert [e.kind for e in events(dsn, name)] == ["creating", "starting", "running"]
    with Store(dsn) as store:
        assert all(s.tags == {"appgraph_pool": "web", "appgraph_fleet": store.fleet} for s in fake.servers.values())
    with Store(dsn) as store:
        assert store.db.query("SELECT name, provider, provider_identity, next_number FROM server_types") == [
            ("web", "fake", "fake:account", 4)]


def test_ensure_when_satisfied_is_one_query_and_no_provider_call(service, fake, built, dsn, monkeypatch):
    ensure(service, 3)
    fake.calls.clear()
    built.clear()
    queries = []
    monkeypatch.setattr(pools, "Store", counting_store(Store, queries))    # opening (the schema check) not counted
    result = ensure(service, 3)
    assert not result.changed and result.counts == {"running": 3} and len(result.servers) == 3
    assert len(queries) == 1 and queries[0].startswith("SELECT")
    assert fake.calls == [] and built == []


def test_ensure_of_1000_satisfied_servers_calls_no_provider(service, fake, dsn):
    with Store(dsn) as store, store.transaction(None) as tx:
        tx.db.executemany(
            "INSERT INTO servers (name, server_type, provider, provider_options, provider_identity, provider_id, "
            "client_token, status, tags, created_at, updated_at, status_changed_at) VALUES "
            "(?, 'big', 'fake', '{}', 'fake:account', ?, ?, 'running', '{}', ?, ?, ?)",
            [("big-%d" % i, "id-%d" % i, "tok-%d" % i, float(i), float(i), float(i)) for i in range(1, 1001)])
    result = service.ensure("big", 1000, "fake")     # its time is bench/pools.py's figure (a test asserts none)
    assert not result.changed and result.counts == {"running": 1000} and fake.calls == []


def test_increase_and_decrease_and_names_are_never_reused(service, fake, dsn, clock):
    ensure(service, 2)
    clock.now += 10
    result = service.increase("web", 2, "fake", {"size": "small"})
    assert result.started == ["web-3", "web-4"] and result.counts == {"running": 4}
    result = service.decrease("web", 2)
    assert result.stopped == ["web-1", "web-2"]                 # the oldest running ones
    assert statuses(service) == {"web-3": "running", "web-4": "running"}
    assert [e.kind for e in events(dsn, "web-1")][3:] == ["stopping", "stopped", "deleting", "deleted"]
    assert sorted(fake.servers) == ["id-web-3", "id-web-4"]
    assert ensure(service, 3).started == ["web-5"]
    result = service.decrease("web", 10)                         # more than exist: not an error
    assert sorted(result.stopped) == ["web-3", "web-4", "web-5"] and result.failed_servers == []
    assert statuses(service) == {} and fake.servers == {}
    assert not service.decrease("web", 1).changed


def test_ensure_lower_stops_the_oldest_running_first_then_those_starting(service, fake, clock):
    ensure(service, 3)
    clock.now += 10
    fake.polls["has_started"] = 1000
    ensure(service, 4, wait=False)                               # web-4 stays starting
    result = ensure(service, 2, wait=False)
    assert result.stopped == ["web-1", "web-2"]
    assert statuses(service) == {"web-3": "running", "web-4": "starting"}
    result = ensure(service, 0)
    assert result.stopped == ["web-3", "web-4"] and statuses(service) == {}


def test_decrease_stops_running_servers_only(service, fake, clock):
    ensure(service, 1)
    fake.polls["has_started"] = 100
    result = service.increase("web", 1, "fake", wait=False)
    assert result.pending == [{"name": "web-2", "status": "starting", "reason": result.pending[0]["reason"]}]
    assert pool_failure(wait=False)(result.as_dict()) is None
    assert service.decrease("web", 5).stopped == ["web-1"]
    assert statuses(service) == {"web-2": "starting"}


def test_ensure_waits_for_servers_still_starting(service, fake):
    fake.polls["has_started"] = 3
    ensure(service, 2, wait=False)
    assert statuses(service) == {"web-1": "starting", "web-2": "starting"}
    result = ensure(service, 2)
    assert result.started == [] and sorted(result.waited) == ["web-1", "web-2"]
    assert result.counts_before == {"starting": 2} and result.counts == {"running": 2} and result.changed


def test_a_timeout_leaves_servers_pending_and_fails_the_task(service, fake, clock):
    fake.polls["has_started"] = 100
    result = ensure(service, 1, timeout=5)
    assert result.failed_servers == [] and [p["status"] for p in result.pending] == ["starting"]
    assert "not done in time: web-1 (starting)" in pool_failure()(result.as_dict())


# -- failures --------------------------------------------------------------------------------------

def test_a_provider_exception_makes_one_server_errored_and_the_run_goes_on(service, fake, dsn):
    fake.fail[("has_started", "web-2")] = [RuntimeError("quota exceeded")]
    result = ensure(service, 3)
    assert result.failed_servers == [{"name": "web-2", "status": "errored",
                                      "error": result.failed_servers[0]["error"]}]
    assert "RuntimeError: quota exceeded" in result.failed_servers[0]["error"]
    assert result.counts == {"errored": 1, "running": 2}
    assert "web-2: server 'web-2'" in pool_failure()(result.as_dict())
    errored = events(dsn, "web-2")[-1]
    assert (errored.kind, errored.data["error"]) == ("errored", "RuntimeError: quota exceeded")
    token = [c for c in fake.calls if c[0] == "create_server" and c[1].startswith("appgraph-")]
    result = ensure(service, 3)                                  # resumed with its own token: no new row
    assert result.resumed == ["web-2"] and result.started == [] and result.counts == {"running": 3}
    assert len(fake.servers) == 3 and len(token) == 3


def test_an_errored_server_the_pool_does_not_need_is_removed(service, fake):
    fake.fail[("create_server", "web-2")] = [ValueError("no such image")]
    assert ensure(service, 2).counts == {"errored": 1, "running": 1}
    result = ensure(service, 1)
    assert result.stopped == ["web-2"] and result.counts == {"running": 1}


def test_bad_requests_write_nothing(service, dsn):
    with pytest.raises(InputError, match="not a valid server type"):
        service.ensure("no spaces", 1, "fake")
    with pytest.raises(InputError, match="count: must be an integer >= 0"):
        service.ensure("web", -1, "fake")
    ensure(service, 1)
    with pytest.raises(InputError, match="pool 'web' has servers at provider fake, not local"):
        service.ensure("web", 2, "local")
    assert statuses(service) == {"web-1": "running"}


def test_pool_task_checks_its_parameters(dsn):
    with pytest.raises(InputError, match="one of count, increase or decrease"):
        pool_task(dsn, {"name": "web", "count": 1, "increase": 1})
    with pytest.raises(InputError, match="count goes with state: present"):
        pool_task(dsn, {"name": "web", "count": 1, "state": "absent"})
    with pytest.raises(InputError, match="needs count, increase or decrease"):
        pool_task(dsn, {"name": "web", "state": "present"})


# -- limits ----------------------------------------------------------------------------------------

def test_max_servers_counts_the_whole_account_and_emits_limit_hit(service, dsn):
    ensure(service, 2, pool="api")
    result = ensure(service, 3, max_servers=3)
    assert result.started == ["web-1"] and result.counts == {"running": 1}
    assert result.limit_hit == {"limit": 3, "live": 2, "asked": 3, "allowed": 1, "provider_identity": "fake:account"}
    [hit] = events(dsn, "web", "limit_hit")
    assert (hit.data["limit"], hit.data["live"], hit.data["asked"]) == (3, 2, 3)
    assert pool_failure()(result.as_dict()) is None
    assert "max_servers 3 reached" in pool_failure(fail_on_limit=True)(result.as_dict())
    again = ensure(service, 3, max_servers=3)
    assert again.started == [] and again.limit_hit["allowed"] == 0 and not again.changed
    assert len(events(dsn, "web", "limit_hit")) == 2


def test_another_account_has_its_own_limit(dsn, clock, built):
    ensure(service_for(dsn, FakeProvider("fake:a"), clock, built), 2, pool="api")
    result = ensure(service_for(dsn, FakeProvider("fake:b"), clock, built), 2, max_servers=2)
    assert result.limit_hit is None and result.counts == {"running": 2}


def race(store, pool, extra):
    proc = subprocess.Popen([sys.executable, WORKER, store, pool, extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc


def run_race(store, tmp_path, account):
    """Two processes, two pools, one account with one free slot: both start at the same moment."""
    go = str(tmp_path / "go")
    setup = subprocess.run([sys.executable, WORKER, store, "seed-" + account, json.dumps(
        {"account": account, "count": 2})], capture_output=True, text=True, check=False)
    assert setup.returncode == 0, setup.stderr
    procs = [race(store, "%s-%s" % (pool, account), json.dumps({"account": account, "count": 1, "max": 3, "go": go}))
             for pool in ("a", "b")]

    def both_waiting():
        assert all(p.poll() is None for p in procs), "a worker ended before the start"
        return len([p for p in os.listdir(tmp_path) if p.startswith("go.ready.")]) >= 2

    wait_until(both_waiting, 30, "both workers to be ready", interval=0.005)
    with open(go, "w", encoding="utf-8"):
        pass
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


def check_race(results, store, account):
    assert sorted(len(r["started"]) for r in results) == [0, 1], results
    loser = next(r for r in results if not r["started"])
    assert loser["limit_hit"]["live"] == 3 and loser["limit_hit"]["allowed"] == 0
    with Store(store) as db:
        live = db.db.query("SELECT COUNT(*) FROM servers WHERE provider_identity = ? AND status <> 'deleted'",
                           ("race:" + account,))[0][0]
        hits = [e for e in db.events(limit=100000) if e.kind == "limit_hit" and e.data["provider_identity"]
                == "race:" + account]
    assert live == 3 and len(hits) == 1


def test_two_processes_race_for_the_last_slot_on_sqlite(tmp_path):
    store = str(tmp_path / "store.db")
    for round_ in range(3):
        account = "sqlite%d" % round_
        folder = tmp_path / str(round_)
        folder.mkdir()
        check_race(run_race(store, folder, account), store, account)


@pytest.mark.postgresql
def test_two_processes_race_for_the_last_slot_on_postgresql(postgresql_dsn, tmp_path):
    account = "pg%s" % uuid.uuid4().hex[:8]
    try:
        check_race(run_race(postgresql_dsn, tmp_path, account), postgresql_dsn, account)
    finally:                    # a shared database: remove this test's rows (its events stay)
        with Store(postgresql_dsn) as store, store.transaction(None) as tx:
            tx.db.execute("DELETE FROM servers WHERE provider_identity = ?", ("race:" + account,))
            tx.db.execute("DELETE FROM server_types WHERE name LIKE ?", ("%-" + account,))


# -- reboot, absent, check mode --------------------------------------------------------------------

def test_reboot_running_servers_and_flag_the_ones_starting(service, fake, dsn, clock):
    ensure(service, 2)
    fake.polls["has_started"] = 1000
    ensure(service, 3, wait=False)                              # web-3 stays starting
    result = service.reboot("web", wait=False)
    assert sorted(result.rebooted) == ["web-1", "web-2", "web-3"]
    assert sorted(c[1] for c in fake.calls if c[0] == "reboot_server") == ["id-web-1", "id-web-2"]
    assert statuses(service) == {"web-1": "rebooting", "web-2": "rebooting", "web-3": "starting"}
    with Store(dsn) as store:
        assert store.db.query("SELECT name FROM servers WHERE reboot_requested = 1") == [("web-3",)]
    fake.polls["has_started"] = 0
    fake.answered.clear()
    result = service.reboot("web")                               # wait: every server rebooted and back
    assert result.counts == {"running": 3} and result.failed_servers == []
    assert [c[1] for c in fake.calls if c[0] == "reboot_server"].count("id-web-3") == 1
    # web-3 was starting: rebooted once up; web-1 was rebooting (first call): rebooted once more
    assert [e.kind for e in events(dsn, "web-3")] == ["creating", "starting", "running", "rebooting", "running"]
    assert [e.kind for e in events(dsn, "web-1")][2:] == ["running", "rebooting", "running", "rebooting", "running"]
    with Store(dsn) as store:
        assert store.db.query("SELECT name FROM servers WHERE reboot_requested = 1") == []


def test_absent_removes_every_server_errored_ones_too(service, fake, dsn):
    fake.fail[("create_server", "web-2")] = [ValueError("no such image")]
    ensure(service, 3)
    result = service.absent("web")
    assert sorted(result.stopped) == ["web-1", "web-2", "web-3"] and result.counts == {}
    assert fake.servers == {} and statuses(service) == {}
    assert not service.absent("web").changed


def test_check_mode_plans_without_writing_or_calling(service, fake, built, dsn):
    ensure(service, 2, pool="api")
    ensure(service, 1)
    fake.calls.clear()
    built.clear()
    before = (events(dsn), statuses(service))
    plan = service.plan("ensure", "web", 4, "fake", {"size": "small"}, max_servers=4)
    assert plan.check_mode and plan.changed and plan.started == ["web-2"]
    assert plan.limit_hit == {"limit": 4, "live": 3, "asked": 3, "allowed": 1, "provider_identity": "fake:account"}
    assert plan.counts_before == {"running": 1} and plan.counts == {"running": 2}
    plan = service.plan("decrease", "api", 1)
    assert plan.stopped == ["api-1"] and plan.counts == {"running": 1}
    plan = service.plan("ensure", "web", 1, "fake")
    assert not plan.changed and plan.started == [] and plan.stopped == []
    assert (events(dsn), statuses(service)) == before
    assert fake.calls == [] and all(name == "fake" for name, _options in built)


def test_pool_task_returns_the_module_output(dsn, fake, built, clock):
    def factory(name, options):
        built.append((name, options))
        return fake
    params = {"name": "web", "provider": "fake", "count": 2, "state": "present", "wait": True, "timeout": None}
    out = pool_task(dsn, params, provider_factory=factory, clock=clock, sleep=clock.sleep)
    assert out["changed"] and out["counts"] == {"running": 2}
    assert out["diff"] == {"before": {"counts": {}}, "after": {"counts": {"running": 2}}}
    assert [s["name"] for s in out["servers"]] == ["web-1", "web-2"]
    out = pool_task(dsn, dict(params, count=0), check_mode=True, provider_factory=factory, clock=clock)
    assert out["changed"] and out["stopped"] == ["web-1", "web-2"] and out["counts"] == {}


def test_status_of_every_pool(service):
    ensure(service, 2)
    ensure(service, 1, pool="api")
    service.absent("api")
    status = service.status()
    assert [s["name"] for s in status["servers"]] == ["web-1", "web-2"]
    assert status["pools"] == {"api": {"provider": "fake", "counts": {}},
                               "web": {"provider": "fake", "counts": {"running": 2}}}
    assert status["counts"] == {"running": 2}


# -- secrets ---------------------------------------------------------------------------------------

def test_secret_options_are_never_stored(dsn, fake, clock, built, tmp_path):
    service = service_for(dsn, fake, clock, built)
    secret = "s3cr3t-" + uuid.uuid4().hex
    options = {"region": "eu-west-1", "aws_secret_access_key": secret, "aws_access_key_id": "AKIA" + secret[-8:],
               "api_token": "tok-" + secret}
    assert secrets.split_options("ec2", options)[0] == {"region": "eu-west-1"}
    assert secrets.secret_values("ec2", options) == {secret, "AKIA" + secret[-8:], "tok-" + secret}
    service.ensure("web", 2, "ec2", options)
    service.decrease("web", 1, "ec2", options)
    assert all(o == options for _name, o in built)              # every provider got the credentials
    with Store(dsn) as store:
        stored = store.db.query("SELECT provider_options FROM servers")
    assert [json.loads(o) for (o,) in stored] == [{"region": "eu-west-1"}] * 2
    for path in tmp_path.iterdir():
        if path.name.startswith("store.db"):
            assert secret[-8:].encode() not in path.read_bytes()


def test_local_secret_names():
    assert secrets.secret_option_names("local", {"root": "/x", "password": "p"}) == {"password"}
    assert secrets.secret_option_names("ec2", {"key_name": "k", "aws_session_token": "t"}) == {"aws_session_token"}


# -- the ec2 provider against a moto server --------------------------------------------------------

def test_ec2_pool_against_moto(dsn, moto_url, aws, image_id):
    options = {"endpoint_url": moto_url, "image_id": image_id, "account": "moto"}
    service = pools.PoolService(dsn, backoff_initial=0.01, backoff_max=0.05)
    result = service.ensure("ec2web", 3, "ec2", options, timeout=60)
    assert result.failed_servers == [] and result.counts == {"running": 3}, result
    by_name = {}
    for reservation in aws.describe_instances(Filters=[{"Name": "tag:appgraph_pool", "Values": ["ec2web"]}])[
            "Reservations"]:
        for instance in reservation["Instances"]:
            tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
            by_name[tags["appgraph:name"]] = (instance["InstanceId"], instance["State"]["Name"], tags)
    assert sorted(by_name) == ["ec2web-1", "ec2web-2", "ec2web-3"]
    assert all(state == "running" and tags["appgraph:server_type"] == "ec2web" for _i, state, tags in by_name.values())
    assert {s["provider_id"] for s in result.servers} == {i for i, _s, _t in by_name.values()}

    result = service.decrease("ec2web", 1, "ec2", options, timeout=60)
    assert result.stopped == ["ec2web-1"] and result.counts == {"running": 2}, result
    oldest = by_name["ec2web-1"][0]
    assert aws.describe_instances(InstanceIds=[oldest])["Reservations"][0]["Instances"][0]["State"]["Name"] \
        == "terminated"
    with Store(dsn) as store:
        provider = get_provider("ec2", options).use_fleet(store.fleet)
    assert provider.current_server_count() == 2
    assert sorted(s.name for s in provider.list_servers({"appgraph_pool": "ec2web"})) == ["ec2web-2", "ec2web-3"]
    assert service.ensure("ec2web", 2, "ec2", options).changed is False
    assert service.absent("ec2web", "ec2", options, timeout=60).counts == {}
    assert provider.list_servers() == []
