"""An unchanged application costs nothing: its source is not read again, and a request with
nothing to do is answered from the states alone, exactly as the converge would answer it."""

from __future__ import annotations

import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils import lifecycle as lc
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as api
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model import loader
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import (
    DEPLOYED_STARTED as STARTED, DEPLOYED_STOPPED as STOPPED, NOT_DEPLOYED as NOT, STARTING, UNRESOLVED,
    InstanceState)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

APP = """\
application: shop
components:
  VM:  {installer: noop, children: [Db, Api]}
  Db:  {installer: noop, exports: {port: 5432}}
  Api: {installer: noop, imports: [Db.port]}
instances:
  - {name: db-vm, component: VM, children: [{name: db, component: Db}]}
  - {name: api-vm, component: VM, count: 2, children: [{name: api, component: Api}]}
"""


def _s(state, desired=None):
    return InstanceState(state, desired or state)


@pytest.mark.parametrize("action, instances, expected", [
    ("start_all", [(True, _s(STARTED)), (False, _s(STARTED))], True),
    ("start_all", [(True, _s(STARTED)), (False, _s(STOPPED))], False),             # asks for more
    ("start_all", [(True, _s(STARTED)), (False, _s(UNRESOLVED, STARTED))], False),  # waits: not at rest
    ("start_all", [(True, _s(STARTED)), (False, _s(STARTING, STARTED))], False),    # under way
    ("deploy_all", [(True, _s(STARTED)), (False, _s(STOPPED)), (False, _s(STARTED))], True),
    ("deploy_all", [(True, _s(STARTED)), (False, _s(NOT))], False),
    ("deploy_all", [(True, _s(NOT))], False),                                        # a root deploys = starts
    ("stop_all", [(True, _s(STARTED)), (False, _s(STOPPED)), (False, _s(NOT))], True),
    ("stop_all", [(True, _s(STARTED)), (False, _s(STARTED))], False),
    ("undeploy_all", [(True, _s(NOT)), (False, _s(NOT))], True),
    ("undeploy_all", [(True, _s(STARTED)), (False, _s(NOT))], False),
])
def test_at_rest(action, instances, expected):
    assert lc.at_rest(action, instances) is expected


@pytest.fixture
def shop(tmp_path):
    src = tmp_path / "shop.app.yml"
    src.write_text(APP, encoding="utf-8")
    store = Store(str(tmp_path / "store.db"))
    api.ensure_application(store, src=str(src), state="started")
    yield store, src
    store.close()


def _slow(store, monkeypatch, **kwargs):
    """The same request with the shortcuts off: what the converge itself answers."""
    monkeypatch.setattr(api, "_unchanged_source", lambda *args: None)
    monkeypatch.setattr(api, "_at_rest", lambda *args: None)
    return api.ensure_application(store, **kwargs)


def test_an_unchanged_source_is_not_read_and_the_answer_is_the_converge_answer(shop, monkeypatch):
    store, src = shop
    fast_reads = []
    monkeypatch.setattr(loader, "load_application", lambda src, **_options: fast_reads.append(src))
    fast = api.ensure_application(store, src=str(src), state="started")
    assert fast_reads == [] and fast["changed"] is False and fast["operations"] == []
    monkeypatch.undo()
    slow = _slow(store, monkeypatch, src=str(src), state="started")
    assert fast == slow


def test_a_comment_changes_nothing_but_is_remembered(shop, monkeypatch):
    store, src = shop
    src.write_text("# a comment\n" + APP, encoding="utf-8")
    first = api.ensure_application(store, src=str(src), state="started")
    assert first["changed"] is False
    reads = []
    real = loader.load_application
    monkeypatch.setattr(loader, "load_application", lambda path: reads.append(path) or real(path))
    api.ensure_application(store, src=str(src), state="started")
    assert reads == []                      # the new bytes were recorded: not read again


def test_a_real_change_is_read_and_applied(shop):
    store, src = shop
    src.write_text(APP.replace("count: 2", "count: 3"), encoding="utf-8")
    result = api.ensure_application(store, src=str(src), state="started")
    assert result["changed"] is True and "/api-vm 3" in result["added"]
    assert {i["state"] for i in result["instances"]} == {STARTED}


def test_work_left_waiting_is_carried_on_not_skipped(shop):
    """An instance not at its desired state (left by a run that died) makes the request converge."""
    store, src = shop
    with store.transaction("shop") as tx:
        tx.write_states({"/api-vm 1/api": InstanceState(STARTING, STARTED, STOPPED)})
    result = api.ensure_application(store, src=str(src), state="started")
    assert [(op["operation"], op["path"]) for op in result["operations"]] == [("start", "/api-vm 1/api")]


def test_an_operation_under_way_elsewhere_is_not_answered_from_the_states(shop, monkeypatch):
    """A live lease (an update runs while the state stays started) means: converge, and wait."""
    store, src = shop
    with store.transaction("shop") as tx:
        tx.take_leases(["/api-vm 1/api"], "someone-else:1:x", time.time() + 60)
    answered = []
    real = api._at_rest

    def spy(*args):
        answered.append(real(*args))
        return answered[-1]

    monkeypatch.setattr(api, "_at_rest", spy)
    api.ensure_application(store, src=str(src), state="started", wait=False)
    assert answered == [None]


def test_the_other_states_at_rest(shop, monkeypatch):
    store, src = shop
    for state in ("stopped", "deployed", "undeployed"):
        api.ensure_application(store, src=str(src), state=state)
        fast = api.ensure_application(store, src=str(src), state=state)
        slow = _slow(store, monkeypatch, src=str(src), state=state)
        monkeypatch.undo()
        assert fast == slow and fast["changed"] is False, state
