"""Heartbeats: a silent root becomes `problem`, a heard one comes back; with a fake provider for
the rule and a real local agent (paused with SIGSTOP) for the whole way."""

from __future__ import annotations

import os
import signal
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils import engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.heartbeats import check_heartbeats
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.states import InstanceState
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import Store


class Beats:
    """A provider that reports whatever heartbeat the test sets."""

    def __init__(self):
        self.last = None

    def last_heartbeat(self, _provider_id):
        return self.last


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
    beats = Beats()

    def factory(_name, _options):
        return beats

    beats.last = 1000.0
    assert check_heartbeats(store, app, now=1025.0, provider_factory=factory) == {}      # 2.5 periods
    assert check_heartbeats(store, app, now=1031.0, provider_factory=factory) == {"/vm": "problem"}
    rows = store.instance_rows("hb")
    assert rows["/vm"].state.state == "problem" and rows["/vm"].last_heartbeat == 1000.0
    assert rows["/vm/web"].state.state == "deployed_started"      # says nothing about the parts inside
    beats.last = 1040.0
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
        [server] = provider.list_servers()
        pid = server.extra["pid"]
        assert _until(lambda: provider.last_heartbeat(server.provider_id) is not None)
        assert check_heartbeats(store, app) == {}
        os.kill(pid, signal.SIGSTOP)                 # the machine hangs: no more heartbeats
        try:
            assert _until(lambda: check_heartbeats(store, app) == {"/vm": "problem"})
        finally:
            os.kill(pid, signal.SIGCONT)
        assert _until(lambda: check_heartbeats(store, app) == {"/vm": "deployed_started"})
    finally:
        engine.converge_application(store, "hb", "undeployed", installers=installers, timeout=60)
        store.close()


def _until(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
