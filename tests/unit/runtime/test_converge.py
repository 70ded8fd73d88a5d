"""The driver: a request runs end to end on a real store, in parallel, and leaves the truth on disk."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest
import yaml

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import instance as instance_api
from ansible_collections.appgraph.lifecycle.plugins.module_utils.runtime.converge import Converger
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import InstanceState
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import PermanentError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.latency import latency_installers

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "converge_worker.py")


def write_app(folder, record, latency=0.02, fail=(), vms=3):
    doc = {
        "application": "shop",
        "components": {
            "VM": {"installer": "latency", "options": {"latency": latency, "record": record},
                   "children": ["Api", "Db"]},
            "Api": {"installer": "latency", "imports": ["Db.*"], "exports": {"ip": None, "port": {"random": "port"}},
                    "options": {"latency": latency, "record": record, "fail": list(fail)}, "children": ["Worker"]},
            "Worker": {"installer": "latency", "options": {"latency": latency, "record": record}},
            "Db": {"installer": "latency", "exports": {"ip": None, "port": 5432},
                   "options": {"latency": latency, "record": record}},
        },
        "instances": [
            {"name": "db-vm", "component": "VM", "children": [{"name": "db", "component": "Db"}]},
            {"name": "api-vm", "component": "VM", "count": vms, "children": [
                {"name": "api", "component": "Api",
                 "children": [{"name": "worker", "component": "Worker", "count": 2}]}]},
        ],
    }
    path = os.path.join(folder, "shop.app.yml")
    with open(path, "w") as out:
        yaml.safe_dump(doc, out)
    return path


def records(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(params=["sqlite", "postgresql"])
def shop(request, tmp_path):
    """The shop application in a fresh store: a SQLite file, or the shared PostgreSQL database."""
    record = str(tmp_path / "ops.jsonl")
    if request.param == "sqlite":
        dsn = str(tmp_path / "store.db")
    else:
        dsn = request.getfixturevalue("fresh_postgresql")    # a database of its own: xdist runs files at once
    store = Store(dsn)
    engine.add_application(store, write_app(str(tmp_path), record))
    yield store, record, dsn
    store.close()


def test_start_all_runs_every_operation_once_in_dependency_order(shop):
    store, record, _path = shop
    result = engine.converge_application(store, "shop", "started", parallelism=8, installers=latency_installers())
    assert result["failed_operations"] == []
    assert {i["state"] for i in result["instances"]} == {"deployed_started"}
    ran = records(record)
    assert len(ran) == len({(r["path"], r["operation"]) for r in ran}) == 24  # 4 roots deploy; 10 others deploy and start
    end = {(r["path"], r["operation"]): r["end"] for r in ran}
    start = {(r["path"], r["operation"]): r["start"] for r in ran}
    assert start[("/api-vm 1/api", "start")] >= end[("/db-vm/db", "start")]       # imports first
    assert start[("/api-vm 1/api/worker 1", "start")] >= end[("/api-vm 1/api", "start")]  # parent first
    rows = store.instance_rows("shop")
    assert all(r.lease_owner is None for r in rows.values())
    assert isinstance(rows["/api-vm 1/api"].exports["Api.port"], int)
    assert rows["/api-vm 1/api"].applied_imports == {"Db": {"/db-vm/db": {"ip": None, "port": 5432}}}


def test_parallelism_bounds_how_many_operations_run_at_once(shop):
    store, record, _path = shop
    engine.converge_application(store, "shop", "deployed", parallelism=2, installers=latency_installers())
    intervals = sorted((r["start"], r["end"]) for r in records(record))
    peak = max(sum(1 for s, e in intervals if s <= t < e) for t, _end in intervals)
    assert 1 <= peak <= 2


def test_a_second_run_changes_nothing(shop):
    store, record, _path = shop
    engine.converge_application(store, "shop", "started", installers=latency_installers())
    before = len(records(record))
    again = engine.converge_application(store, "shop", "started", installers=latency_installers())
    assert again["changed"] is False and again["operations"] == []
    assert len(records(record)) == before


def test_check_mode_plans_without_touching_anything(shop):
    store, record, _path = shop
    plan = engine.converge_application(store, "shop", "started", check_mode=True, installers=latency_installers())
    assert plan["changed"] is True
    assert {i["state"] for i in plan["instances"]} == {"deployed_started"}
    assert len(plan["operations"]) == 24
    assert records(record) == []
    assert {r.state.state for r in store.instance_rows("shop").values()} == {"not_deployed"}


def test_a_failing_installer_is_reported_and_the_store_says_what_exists(tmp_path):
    record = str(tmp_path / "ops.jsonl")
    with Store(str(tmp_path / "s.db")) as store:
        engine.add_application(store, write_app(str(tmp_path), record, fail=["start"], vms=1))
        result = engine.converge_application(store, "shop", "started", installers=latency_installers())
        assert [(f["operation"], f["path"]) for f in result["failed_operations"]] == [("start", "/api-vm/api")]
        assert "failed on purpose" in result["failed_operations"][0]["error"]
        rows = store.instance_rows("shop")
        assert rows["/api-vm/api"].state.state == "unresolved"      # where its start began
        assert rows["/api-vm/api/worker 1"].state.state == "waiting_for_ancestor"
        kinds = [e.kind for e in store.events(application="shop")]
        assert kinds.count("state") >= 10


def test_a_crashed_run_is_adopted_by_the_next_one(shop):
    store, record, _path = shop
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    owner = "%s:%s:dead" % (socket.gethostname(), dead.stdout.strip())
    with store.transaction("shop") as tx:      # as a crash right after announcing the deploy would leave it
        tx.write_states({"/db-vm": InstanceState("deploying", "deployed_started", "not_deployed")})
        tx.take_leases(["/db-vm"], owner, tx.now + 3600)
    result = engine.converge_application(store, "shop", "started", installers=latency_installers())
    assert result["failed_operations"] == []
    assert store.instance_rows("shop")["/db-vm"].state.state == "deployed_started"
    assert [r["operation"] for r in records(record) if r["path"] == "/db-vm"] == ["deploy"]


def test_a_run_out_of_time_puts_back_what_it_did_not_start(tmp_path):
    record = str(tmp_path / "ops.jsonl")
    with Store(str(tmp_path / "s.db")) as store:
        engine.add_application(store, write_app(str(tmp_path), record, latency=0.15, vms=3))
        app = engine.stored_application(store, "shop")
        cancel = threading.Event()
        cancel.set()                      # cancelled before anything could start
        result = Converger(store, app, parallelism=1, installers=latency_installers()).run("start_all", cancel=cancel)
        assert result.timed_out
        rows = store.instance_rows("shop")
        assert {r.state.state for r in rows.values()} == {"not_deployed"}    # nothing half-announced
        assert {r.state.desired for r in rows.values()} == {"deployed_started"}
        assert all(r.lease_owner is None for r in rows.values())
        result = engine.converge_application(store, "shop", "started", timeout=0.2, parallelism=1,
                                             installers=latency_installers())
        rows = store.instance_rows("shop")
        transitive = [p for p, r in rows.items() if r.state.state in ("deploying", "starting")]
        assert result["timed_out"] and transitive == []
        done = {r["path"] for r in records(record)}
        assert {p for p, r in rows.items() if r.state.state != "not_deployed"} == done


def test_processes_sharing_one_store_never_run_one_operation_twice(shop):
    _store, record, store_path = shop
    # Three runs at once on overlapping work: each asks for a different subtree; the apis of two
    # of them need the db the third one starts, and any of them may react to the others' results.
    subtrees = ["/db-vm", "/api-vm 1", "/api-vm 2"]
    procs = [subprocess.Popen([sys.executable, WORKER, store_path, "shop", "started", path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for path in subtrees]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    ran = records(record)
    keys = [(r["path"], r["operation"]) for r in ran]
    assert len(keys) == len(set(keys))                   # every operation exactly once, across processes
    with Store(store_path) as store:
        rows = store.instance_rows("shop")
    wanted = {p for p in rows if not p.startswith("/api-vm 3")}
    assert {p for p, r in rows.items() if r.state.state == "deployed_started"} == wanted
    expected = {(p, "deploy") for p in wanted} | {(p, "start") for p in wanted if p.count("/") > 1}
    assert set(keys) == expected
    spans: dict = {}
    for r in ran:
        spans.setdefault(r["path"], []).append((r["start"], r["end"]))
    for intervals in spans.values():                     # never two operations on one instance at once
        intervals.sort()
        assert all(a_end <= b_start for (_a, a_end), (b_start, _b) in zip(intervals, intervals[1:]))
    deployers = {r["path"]: r["pid"] for r in ran if r["operation"] == "deploy" and r["path"].count("/") == 1}
    assert len(set(deployers.values())) == 3             # each run announced its own root first


def test_an_instance_waits_for_ancestors_another_run_starts(shop):
    store, _record, _dsn = shop
    polls = []

    def sleep(_seconds):            # the "other run": the parent's vm gets started during the wait
        polls.append(1)
        if len(polls) == 2:
            engine.converge_application(store, "shop", "started", instance_path="/api-vm 1",
                                        installers=latency_installers())

    engine.converge_application(store, "shop", "started", instance_path="/db-vm", installers=latency_installers())
    result = instance_api.converge_instance(store, "shop", "/api-vm 1/api", "started", timeout=30, poll_interval=0,
                                            sleep=sleep, installers=latency_installers())
    assert len(polls) == 2
    assert result["instances"][0]["state"] == "deployed_started" and not result["timed_out"]


def test_without_waiting_an_instance_reports_waiting_for_ancestor(shop):
    store, _record, _dsn = shop
    result = instance_api.converge_instance(store, "shop", "/api-vm 1/api/worker 1", "started", wait_for_ancestors=False,
                                            installers=latency_installers())
    assert result["instances"][0]["state"] == "not_deployed"          # its parents are not deployed
    assert result["instances"][0]["desired_state"] == "deployed_started"
    assert result["failed_operations"] == [] and not result["timed_out"]


def test_waiting_for_ancestors_gives_up_at_the_timeout(shop):
    store, _record, _dsn = shop
    now = [0.0]

    def sleep(seconds):
        now[0] += 5.0

    engine.converge_application(store, "shop", "deployed", instance_path="/api-vm 1", installers=latency_installers())
    result = instance_api.converge_instance(store, "shop", "/api-vm 1/api", "started", timeout=12, sleep=sleep,
                                            clock=lambda: now[0], installers=latency_installers())
    assert result["timed_out"] and result["instances"][0]["state"] == "unresolved"


def test_latency_is_an_installer_of_the_tests_only(tmp_path):
    """Users are never offered ``latency``: without the tests' registry, it is a missing installer."""
    record = str(tmp_path / "ops.jsonl")
    with Store(str(tmp_path / "s.db")) as store:
        engine.add_application(store, write_app(str(tmp_path), record, vms=1))
        with pytest.raises(PermanentError) as refused:
            engine.converge_application(store, "shop", "deployed", instance_path="/db-vm")
    message, available = str(refused.value).split("(available: ")
    assert "needs the installer 'latency', which nobody provides" in message
    assert "noop" in available and "latency" not in available
    assert records(record) == []
