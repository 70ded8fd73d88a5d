"""The promises under concurrency and crashes, with real recipes recording what they run:
a lease is never taken over while its owner lives, and an update announced and never finished
(the process killed) is done by the next run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until
from ansible_collections.appgraph.lifecycle.tests.helpers.recorded import counts, hold, kill_everything, operations, overlapping, write_recorded_app

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recorded_worker.py")
DEADLINE = 60.0


def began(folder, path, operation, proc):
    """Whether the operation began (and the converge running it is still alive to say so)."""
    assert proc.poll() is None, proc.communicate()
    return any(o["path"] == path and o["operation"] == operation for o in operations(folder))


def worker(store, src, state, path=None):
    args = [sys.executable, WORKER, store, src, state] + ([path] if path else [])
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc):
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["failed"] == [] and not result["timed_out"], result
    return result


@pytest.fixture(params=["sqlite", "postgresql"])
def recorded(request, tmp_path):
    folder = str(tmp_path)
    src = write_recorded_app(folder, hosts=1, dbs=2)
    if request.param == "sqlite":
        dsn = str(tmp_path / "store.db")
    else:
        dsn = request.getfixturevalue("fresh_postgresql")    # a database of its own: xdist runs files at once
    return folder, src, dsn


def ports_of(store, path):
    applied = store.instance_rows("recorded")[path].applied_imports
    return sorted(values["port"] for values in applied.get("Db", {}).values())


def test_an_update_asked_for_by_another_run_waits_for_the_start_under_way(recorded):
    """Reproduced on the old code: run B started a second exporter while run A was starting the
    importer; B took over A's lease to run the update beside the start, then ran a second start."""
    folder, src, dsn = recorded
    with Store(dsn) as store:
        ensure_application(store, src=src, state="started", instance_path="/db-host 1")
    api = "/api-host/api"
    release = hold(folder, api, "start")
    run_a = worker(dsn, src, "started", "/api-host")
    wait_until(lambda: began(folder, api, "start", run_a), DEADLINE, "the api's start to begin")
    finished(worker(dsn, src, "started", "/db-host 2"))            # run B, while A's start is held
    assert counts(operations(folder))[(api, "update")] == 0          # B left the api to its owner
    os.unlink(release)
    finished(run_a)
    ops = operations(folder)
    assert counts(ops)[(api, "start")] == 1 and counts(ops)[(api, "update")] == 1
    assert overlapping(ops) == []
    start = next(o for o in ops if o["path"] == api and o["operation"] == "start")
    update = next(o for o in ops if o["path"] == api and o["operation"] == "update")
    assert update["begin"] >= start["end"] and len(update["imports"]["Db"].strip(",").split(",")) == 2
    with Store(dsn) as store:
        assert len(ports_of(store, api)) == 2
        assert all(r.lease_owner is None for r in store.instance_rows("recorded").values())


def test_an_update_killed_in_the_middle_is_done_by_the_next_run(recorded):
    folder, src, dsn = recorded
    with Store(dsn) as store:
        ensure_application(store, src=src, state="started", instance_path="/db-host 1")
        ensure_application(store, src=src, state="started", instance_path="/api-host")
        assert len(ports_of(store, "/api-host/api")) == 1
    api = "/api-host/api"
    release = hold(folder, api, "update")
    run = worker(dsn, src, "started", "/db-host 2")
    wait_until(lambda: began(folder, api, "update", run), DEADLINE, "the api's update to begin")
    kill_everything(run)
    os.unlink(release)
    with Store(dsn) as store:
        assert store.instance_rows("recorded")[api].lease_owner is not None      # left by the dead run
        result = ensure_application(store, src=src, state="started")
        assert result["failed_operations"] == []
        assert [(op["operation"], op["path"]) for op in result["operations"]] == [("update", api)]
        assert len(ports_of(store, api)) == 2
        assert all(r.lease_owner is None for r in store.instance_rows("recorded").values())
    done = [o for o in operations(folder) if o["path"] == api and o["operation"] == "update" and o["end"]]
    assert len(done) == 1 and len(done[0]["imports"]["Db"].strip(",").split(",")) == 2
