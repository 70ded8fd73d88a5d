"""Heartbeats: a silent root becomes `problem`, a heard one comes back; with a fake provider for
the rule and a real local agent (paused with SIGSTOP) for the whole way."""

from __future__ import annotations

import os
import signal
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.runtime.heartbeats import check_heartbeats
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import InstanceState
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS

DEADLINE = 15.0   # seconds: three missed heartbeats of 0.1 s, on a loaded machine


def write_app(folder, components, name="hb"):
    import json
    doc = {"application": name, "components": components,
           "instances": [{"name": "vm", "component": "VM", "children": [{"name": "web", "component": "Web"}]}]}
    path = os.path.join(folder, "hb.app.yml")
    with open(path, "w") as out:
        json.dump(doc, out)
    return path


@pytest.fixture
def started(tmp_path):
    """An application whose root is recorded as a started server of a fake provider."""
    store = Store(str(tmp_path / "s.db"))
    engine.add_application(store, write_app(str(tmp_path), {
        "VM": {"installer": "noop", "children": ["Web"]}, "Web": {"installer": "noop"}}))
    engine.converge_application(store, "hb", "started")
    with store.transaction("hb") as tx:
        tx.write_data("/vm", runtime={"provider": "fake", "provider_id": "id-1",
                                      "provider_options": {"heartbeat_interval": 10}})
    yield store, engine.stored_application(store, "hb")
    store.close()


def test_three_missed_periods_make_a_problem_and_a_heartbeat_heals(started):
    store, app = started
    beats = FakeProvider()                      # reports whatever heartbeat the test sets

    def factory(_name, _options):
        return beats

    beats.heartbeats["id-1"] = 1000.0
    assert check_heartbeats(store, app, now=1025.0, provider_factory=factory) == {}      # 2.5 periods
    assert check_heartbeats(store, app, now=1031.0, provider_factory=factory) == {"/vm": "problem"}
    rows = store.instance_rows("hb")
    assert rows["/vm"].state.state == "problem" and rows["/vm"].last_heartbeat == 1000.0
    assert rows["/vm/web"].state.state == "deployed_started"      # says nothing about the parts inside
    beats.heartbeats["id-1"] = 1040.0
    assert check_heartbeats(store, app, now=1041.0, provider_factory=factory) == {"/vm": "deployed_started"}
    kinds = [(e.subject, e.data.get("after")) for e in store.events(application="hb") if e.kind == "state"]
    assert kinds[-2:] == [("/vm", "problem"), ("/vm", "deployed_started")]


def test_roots_without_a_provider_are_left_alone(started):
    store, app = started
    with store.transaction("hb") as tx:
        tx.write_data("/vm", runtime={})
    assert check_heartbeats(store, app, now=10 ** 10) == {}
    assert store.instance_rows("hb")["/vm"].state == InstanceState("deployed_started", "deployed_started")


def test_a_paused_local_agent_becomes_a_problem_and_heals(tmp_path, local_root):
    root = local_root
    store = Store(str(tmp_path / "s.db"))
    engine.add_application(store, write_app(str(tmp_path), {
        "VM": {"installer": "server", "provider": "local", "children": ["Web"],
               "provider_options": {"root": root, "heartbeat_interval": 0.1}},
        "Web": {"installer": "noop"}}))
    installers = InstallerRegistry(settings={"server": {"backoff_initial": 0.02, "backoff_max": 0.2}})
    provider = LocalProvider(root=root, stop_timeout=2.0)
    try:
        result = engine.converge_application(store, "hb", "started", installers=installers, timeout=60)
        assert not result["failed_operations"]
        app = engine.stored_application(store, "hb")
        [server] = provider.use_fleet(ALL_FLEETS).list_servers()
        provider = LocalProvider(root=server.extra["home"])
        pid = server.extra["pid"]
        wait_until(lambda: provider.last_heartbeat(server.provider_id) is not None, DEADLINE, "a first heartbeat")
        assert check_heartbeats(store, app) == {}
        os.kill(pid, signal.SIGSTOP)                 # the machine hangs: no more heartbeats
        try:
            wait_until(lambda: check_heartbeats(store, app) == {"/vm": "problem"}, DEADLINE,
                       "the paused root to be a problem")
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_until(lambda: check_heartbeats(store, app) == {"/vm": "deployed_started"}, DEADLINE,
                   "the resumed root to be heard again")
    finally:
        engine.converge_application(store, "hb", "undeployed", installers=installers, timeout=60)
        store.close()


def test_without_recording_nothing_is_written(started):
    """Check mode (application_info, reconcile): the observation is returned, the store untouched."""
    store, app = started
    beats = FakeProvider()
    beats.heartbeats["id-1"] = 1000.0
    events = len(store.events(application="hb"))
    assert check_heartbeats(store, app, now=1031.0, provider_factory=lambda *_: beats, record=False) == \
        {"/vm": "problem"}
    rows = store.instance_rows("hb")
    assert rows["/vm"].state.state == "deployed_started" and rows["/vm"].last_heartbeat is None
    assert len(store.events(application="hb")) == events


def test_application_info_shows_the_heartbeats_and_records_them_outside_check_mode(started):
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import info

    store, _app = started
    beats = FakeProvider()
    beats.heartbeats["id-1"] = time.time() - 3600        # an hour of silence at a 10 s period
    planned = info.application_report(store, "hb", check_mode=True, provider_factory=lambda *_: beats)
    assert planned["changed"] is True
    assert {i["path"]: i["state"] for i in planned["instances"]}["/vm"] == "problem"
    assert store.instance_rows("hb")["/vm"].state.state == "deployed_started"       # nothing written
    done = info.application_report(store, "hb", provider_factory=lambda *_: beats)
    assert done["changed"] is True and store.instance_rows("hb")["/vm"].state.state == "problem"
    again = info.application_report(store, "hb", provider_factory=lambda *_: beats)
    assert again["changed"] is False                                               # already recorded
