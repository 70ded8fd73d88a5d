# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""reconcile: advance pending verifications, mark hanging rows, prune old deleted rows (injected clock)."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers import pools
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.reconcile import reconcile
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.clock import FakeClock
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider

DAY = 86400.0


@pytest.fixture
def dsn(tmp_path):
    return str(tmp_path / "store.db")


@pytest.fixture
def world(dsn):
    """A pool service and a reconcile call sharing one fake provider and one clock."""
    clock, fake, built = FakeClock(now=100000.0), FakeProvider(), []

    def factory(name, options):
        built.append((name, dict(options)))
        return fake

    service = pools.PoolService(dsn, provider_factory=factory, clock=clock, sleep=clock.sleep)

    def run(**kwargs):
        kwargs.setdefault("now", clock.now)
        return reconcile(dsn, provider_factory=factory, **kwargs)
    return service, fake, clock, built, run


def rows(dsn):
    with Store(dsn) as store:
        return dict(store.db.query("SELECT name, status FROM servers ORDER BY name"))


def events_of(dsn, name):
    with Store(dsn) as store:
        return [e for e in store.events(limit=100000) if e.subject == name]


def test_prune_removes_deleted_rows_really_older_than_prune_after(dsn, world):
    service, _fake, clock, _built, run = world
    service.ensure("web", 3, "fake")
    service.decrease("web", 1)                              # web-1 deleted now (day 0)
    clock.now += 1 * DAY
    service.decrease("web", 1)                              # web-2 deleted on day 1
    clock.now += 6 * DAY                                    # day 7: web-1 is 7 days old, web-2 6 days
    result = run()
    assert result["pruned"] == [] and rows(dsn) == {"web-1": "deleted", "web-2": "deleted", "web-3": "running"}
    clock.now += 1 * DAY                                    # day 8: web-1 8 days old, web-2 7 days
    result = run()
    assert result["pruned"] == ["web-1"] and result["summary"] == {"advanced": 0, "hanging": 0, "pruned": 1, "operations": 0}
    assert rows(dsn) == {"web-2": "deleted", "web-3": "running"}
    assert [e.kind for e in events_of(dsn, "web-1")][-1] == "deleted"     # the outbox keeps its events
    assert run(prune_after=6 * DAY)["pruned"] == ["web-2"]


def test_hanging_marks_rows_left_in_a_transitive_status(dsn, world):
    service, fake, clock, _built, run = world
    fake.polls["has_started"] = 10 ** 6
    service.ensure("web", 1, "fake", wait=False)
    clock.now += 599
    assert run()["hanging"] == [] and rows(dsn) == {"web-1": "starting"}
    clock.now += 1
    result = run()
    assert result["hanging"] == [{"name": "web-1", "status": "hanging"}] and result["changed"]
    last = events_of(dsn, "web-1")[-1]
    assert (last.kind, last.data["previous"]) == ("hanging", "starting")
    assert run(hanging_after=60)["hanging"] == []                        # hanging is not marked twice


def test_advance_moves_pending_rows_one_step(dsn, world):
    service, fake, clock, _built, run = world
    fake.polls.update(has_started=1, has_stopped=1)
    service.ensure("web", 2, "fake", wait=False)
    assert rows(dsn) == {"web-1": "starting", "web-2": "starting"}
    clock.now += 5
    result = run()
    assert result["advanced"] == [{"name": "web-1", "status": "running"}, {"name": "web-2", "status": "running"}]
    assert result["pending"] == 2
    service.decrease("web", 1, wait=False)
    assert rows(dsn)["web-1"] == "stopping"
    assert [a["status"] for a in run()["advanced"]] == ["stopped"]
    assert [a["status"] for a in run()["advanced"]] == ["deleting"]
    assert [a["status"] for a in run()["advanced"]] == ["deleted"]
    assert run()["changed"] is False


def test_check_mode_lists_without_writing_or_calling(dsn, world):
    service, fake, clock, _built, run = world
    fake.polls["has_started"] = 10 ** 6
    service.ensure("web", 1, "fake", wait=False)
    service.ensure("api", 1, "fake")
    service.absent("api")
    clock.now += 8 * DAY
    fake.calls.clear()
    result = run(check_mode=True)
    assert result["hanging"] == [{"name": "web-1", "status": "hanging"}] and result["pruned"] == ["api-1"]
    assert result["advanced"] == [] and result["pending"] == 1 and result["changed"]
    assert rows(dsn) == {"api-1": "deleted", "web-1": "starting"} and fake.calls == []


def test_provider_options_reach_the_providers_not_the_rows(dsn, world):
    service, fake, _clock, built, run = world
    fake.polls["has_started"] = 1
    service.ensure("web", 1, "fake", {"zone": "a"}, wait=False)
    built.clear()
    run(provider_options={"fake": {"api_token": "t0ken"}})
    assert built and all(options == {"zone": "a", "api_token": "t0ken"} for _name, options in built)


def test_bad_durations_are_refused(dsn):
    with pytest.raises(InputError, match="prune_after: must be a number of seconds"):
        reconcile(dsn, prune_after=-1)


@pytest.mark.parametrize("parallelism", [0, -3, True, 1.5])
def test_a_bad_parallelism_is_a_clear_error(dsn, parallelism):
    """It used to end in a traceback ("appgraph internal error") from deep in the converge."""
    with pytest.raises(InputError, match="parallelism: must be an integer >= 1"):
        reconcile(dsn, parallelism=parallelism)


def test_reconcile_finishes_what_a_dead_run_left_half_done(tmp_path):
    """Desired states outlive the process that asked: an instance left ``deploying`` by a run that
    died is planned in check mode, then deployed and started by reconcile."""
    import json
    import socket
    import subprocess
    import sys
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import InstanceState
    doc = {"application": "later", "components": {"VM": {"installer": "noop", "children": ["Web"]},
                                                  "Web": {"installer": "noop"}},
           "instances": [{"name": "vm", "component": "VM", "children": [{"name": "web", "component": "Web"}]}]}
    path = tmp_path / "later.app.yml"
    path.write_text(json.dumps(doc))
    dsn = str(tmp_path / "store.db")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    with Store(dsn) as store:
        engine.add_application(store, str(path))
        engine.converge_application(store, "later", "deployed", instance_path="/vm")
        with store.transaction("later") as tx:     # what a run that died right after announcing leaves
            tx.write_states({"/vm/web": InstanceState("deploying", "deployed_started", "not_deployed")})
            tx.take_leases(["/vm/web"], "%s:%s:gone" % (socket.gethostname(), dead), tx.now + 3600)
    planned = reconcile(dsn, check_mode=True)
    assert [(op["operation"], op["path"]) for a in planned["applications"] for op in a["operations"]] == \
        [("deploy", "/vm/web"), ("start", "/vm/web")]
    with Store(dsn) as store:
        assert store.instance_rows("later")["/vm/web"].state.state == "deploying"    # check mode wrote nothing
    done = reconcile(dsn)
    assert done["summary"]["operations"] == 2 and done["changed"]
    with Store(dsn) as store:
        assert store.instance_rows("later")["/vm/web"].state.state == "deployed_started"
    assert reconcile(dsn)["changed"] is False


def test_names_limit_reconcile_to_those_applications_and_reports_unknown_ones(tmp_path):
    """What the heal rulebook relies on: a reconcile of one application leaves the others waiting."""
    import json
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import InstanceState
    dsn = str(tmp_path / "store.db")
    with Store(dsn) as store:
        for name in ("one", "two"):
            doc = {"application": name, "components": {"VM": {"installer": "noop"}},
                   "instances": [{"name": "vm", "component": "VM"}]}
            (tmp_path / ("%s.app.yml" % name)).write_text(json.dumps(doc))
            engine.add_application(store, str(tmp_path / ("%s.app.yml" % name)))
            with store.transaction(name) as tx:         # asked for, not reached (as a run that died leaves)
                tx.write_states({"/vm": InstanceState("not_deployed", "deployed_started", "not_deployed")})
    done = reconcile(dsn, application_names=["two", "gone"], reserve_names=["nothing"])
    assert [a["application"] for a in done["applications"]] == ["two"]
    assert done["unknown"] == ["application gone", "reserve nothing"]
    with Store(dsn) as store:
        assert store.instance_rows("one")["/vm"].state.state == "not_deployed"
        assert store.instance_rows("two")["/vm"].state.state == "deployed_started"
    assert reconcile(dsn, application_names=["one"], reserves=False)["unknown"] == []


@pytest.mark.parametrize("names", ["two", [""], [1]])
def test_bad_names_are_a_clear_error(dsn, names):
    with pytest.raises(InputError, match="application_names: must be a list of names"):
        reconcile(dsn, application_names=names)
