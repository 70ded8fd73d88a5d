"""Chain reactions across applications (runtime/bound.py): their order, and two processes
converging two bound applications at once on one store, with real recipes recording what they run:
no operation twice, none beside another of its instance, every import applied."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.runtime.bound import dependents, order_by_bindings
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from ansible_collections.appgraph.lifecycle.tests.helpers.recorded import (
    counts, hold, operations, overlapping, write_bound_apps)
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bound_worker.py")
DEADLINE = 60.0
BINDINGS = json.dumps({"Store": ["store"]})


def test_dependents_come_after_what_they_import_from():
    rows = [("web", "Db", "db"), ("report", "Web", "web"), ("report", "Db", "db"), ("other", "X", "elsewhere")]
    assert dependents(rows, "db") == ["web", "report"]
    assert dependents(rows, "web") == ["report"] and dependents(rows, "report") == []
    assert order_by_bindings(["report", "web", "db", "other"], rows) == ["db", "web", "report", "other"]


def worker(dsn, src, name, state, bindings=None):
    args = [sys.executable, WORKER, dsn, src, name, state] + ([bindings] if bindings else [])
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc) -> dict:
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["failed"] == [] and not result["timed_out"], result
    assert all(r["failed_operations"] == [] for r in result["reactions"]), result
    return result


@pytest.fixture(params=["sqlite", "postgresql"])
def apps(request, tmp_path):
    folder = str(tmp_path)
    store_src, front_src = write_bound_apps(folder, dbs=2)
    if request.param == "sqlite":
        dsn = str(tmp_path / "store.db")
    else:
        dsn = request.getfixturevalue("fresh_postgresql")    # a database of its own: xdist runs files at once
    with Store(dsn) as store:
        ensure_application(store, name="store", src=store_src)            # bindings name what exists
    return folder, store_src, front_src, dsn


def settled(folder, dsn):
    """Every operation once, none beside another of its instance; the api has both databases' ports."""
    ops = operations(folder)
    assert overlapping(ops) == [] and all(o["end"] is not None for o in ops)
    seen = counts(ops)
    for path in ("/db-host 1/db", "/db-host 2/db", "/api-host/api", "/api-host/api/web"):
        assert (seen[(path, "deploy")], seen[(path, "start")]) == (1, 1), (path, seen)
    with Store(dsn) as store:
        databases = store.instance_rows("store")
        ports = sorted(str(databases[p].exports["Db.port"]) for p in ("/db-host 1/db", "/db-host 2/db"))
        applied = store.instance_rows("front")["/api-host/api"].applied_imports["Store"]
        assert sorted(str(v["port"]) for v in applied.values()) == ports
        assert {r.state.state for r in store.instance_rows("front").values()} == {"deployed_started"}
        for name in ("store", "front"):
            assert all(r.lease_owner is None for r in store.instance_rows(name).values())
    last = [o for o in ops if o["path"] == "/api-host/api" and o["operation"] in ("start", "update")][-1]
    assert sorted(last["imports"]["Store"].strip(",").split(",")) == ports


def test_the_importer_converged_while_its_database_starts_elsewhere(apps):
    folder, store_src, front_src, dsn = apps
    release = hold(folder, "/db-host 1/db", "start")
    db_run = worker(dsn, store_src, "store", "started")
    wait_until(lambda: any(o["path"] == "/db-host 1/db" and o["operation"] == "start" for o in operations(folder)),
               DEADLINE, "the database's start to begin")
    front_run = worker(dsn, front_src, "front", "started", BINDINGS)
    wait_until(lambda: any(o["path"] == "/api-host" or o["path"] == "/api-host/api" for o in operations(folder))
               or front_run.poll() is not None, DEADLINE, "the front to be worked on")
    os.unlink(release)
    front, db = finished(front_run), finished(db_run)
    reacted = [op["path"] for r in db["reactions"] for op in r["operations"]] + (
        ["front"] if front["operations"] else [])
    assert reacted                                        # the importer was brought up by one of them
    settled(folder, dsn)


def test_both_applications_converged_at_once(apps):
    folder, store_src, front_src, dsn = apps
    runs = [worker(dsn, store_src, "store", "started"), worker(dsn, front_src, "front", "started", BINDINGS)]
    for run in runs:
        finished(run)
    settled(folder, dsn)
    # and the chain reaction both ways, from two processes again
    runs = [worker(dsn, store_src, "store", "stopped"), worker(dsn, front_src, "front", "started", BINDINGS)]
    for run in runs:
        finished(run)
    with Store(dsn) as store:
        rows = store.instance_rows("front")
        assert (rows["/api-host/api"].state.state, rows["/api-host/api/web"].state.state) == (
            "unresolved", "waiting_for_ancestor")
    assert overlapping(operations(folder)) == []
