"""kill -9 at random moments of a converge, then a rerun: nothing is lost, nothing is run twice at once.

A 62-instance application whose recipes record what they run (tests/recorded_app.py), plus real
servers of the local provider. Each round picks a request (start everything, stop or restart a
database so that importers' imports change, undeploy or redeploy a server), starts it in a
process of its own, kills that process and everything it started at a random moment (SIGKILL:
the controller machine died), reruns the request to its end, and checks what a user relies on:

- every instance reached its desired state (or rightly waits: for an ancestor that is not
  started, for imports no started exporter gives), and every started importer has its current
  imports applied (in the store, and as its recipe last saw them);
- no lease is left; event ids have no gap;
- no two finished operations on one instance ever overlapped;
- the servers the provider has are exactly the store's live server rows.

Rounds: $APPGRAPH_CRASH_ROUNDS (default 24); seed: $APPGRAPH_CRASH_SEED (default fixed, so a CI
failure can be replayed). The kill moment is drawn over how long that request took when it last ran to its end.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import DEPLOYED_STARTED
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import servers as rows_sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from ansible_collections.appgraph.lifecycle.tests.helpers.recorded import kill_everything, operations, overlapping, write_recorded_app
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recorded_worker.py")
ROUNDS = int(os.environ.get("APPGRAPH_CRASH_ROUNDS", "24"))
SEED = int(os.environ.get("APPGRAPH_CRASH_SEED", "20261201"))

# (state, instance path): requests that move imports and servers around.
REQUESTS = [("started", None), ("stopped", "/db-host 1"), ("stopped", "/db-host 2"), ("started", "/db-host 1"),
            ("started", "/db-host 2"), ("undeployed", "/srv 1"), ("started", "/srv 1"), ("stopped", None),
            ("undeployed", "/db-host 3"), ("started", None)]


def run(store_path, src, state, path=None):
    args = [sys.executable, WORKER, store_path, src, state] + ([path] if path else [])
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def current_imports(rows, prefix_of):
    """What each importer imports now: the exporters of its prefix that are started."""
    started = {p for p, r in rows.items() if r.state.state == DEPLOYED_STARTED}
    out = {}
    for path, row in rows.items():
        prefix = prefix_of.get(row.component)
        if prefix:
            out[path] = sorted(p for p in started if rows[p].component == prefix)
    return out


def settled(rows, path):
    """At its desired state, or rightly waiting: for an ancestor that is not started, or (unresolved)
    for imports that no started exporter gives."""
    row = rows[path]
    if row.state.state == row.state.desired:
        return True
    if row.state.desired != DEPLOYED_STARTED:
        return False
    if row.state.state == "waiting_for_ancestor":
        return rows[row.parent].state.state != DEPLOYED_STARTED
    if row.state.state == "unresolved":
        exporter = {"Api": "Db", "Web": "Api"}.get(row.component)
        return not any(r.component == exporter and r.state.state == DEPLOYED_STARTED for r in rows.values())
    return False


def check(store_path, folder, local_root):
    with Store(store_path) as store:
        rows = store.instance_rows("recorded")
        assert {p: r.state for p, r in rows.items() if not settled(rows, p)} == {}
        assert [p for p, r in rows.items() if r.lease_owner] == []
        wanted = current_imports(rows, {"Api": "Db", "Web": "Api"})
        for path, exporters in wanted.items():
            if rows[path].state.state == DEPLOYED_STARTED:
                prefix = "Db" if rows[path].component == "Api" else "Api"
                assert sorted(rows[path].applied_imports.get(prefix, {})) == exporters, path
        ids = [e.id for e in store.events(limit=10 ** 9)]
        assert ids == list(range(ids[0], ids[0] + len(ids))), "a gap in the event ids"
        live = {r.provider_id or r.name for r in rows_sql.live(store.db)}
        ports = {p: r.exports.get("Db.port") for p, r in rows.items() if r.component == "Db"}
    provider = {s.provider_id for s in LocalProvider(root=local_root).use_fleet(ALL_FLEETS).list_servers()}
    assert provider == live, "servers at the provider %s, in the store %s" % (provider, live)
    ops = operations(folder)
    assert overlapping([o for o in ops if o["end"] is not None]) == []
    last_seen = {}
    for op in ops:
        if op["end"] is not None and op["operation"] in ("start", "update") and op["path"].endswith("/api"):
            last_seen[op["path"]] = sorted(int(p) for p in op["imports"].get("Db", "").split(",") if p)
    for path, exporters in wanted.items():
        if path.endswith("/api") and rows[path].state.state == DEPLOYED_STARTED:
            assert last_seen[path] == sorted(ports[p] for p in exporters), path


def test_kill_nine_at_random_moments_then_rerun(tmp_path, local_root):
    folder = str(tmp_path)
    src = write_recorded_app(folder, hosts=13, dbs=3, webs_per_host=2, servers=2, local_root=local_root)
    store_path = str(tmp_path / "store.db")
    began = time.monotonic()
    first = run(store_path, src, "started")
    assert first.wait(timeout=120) == 0, first.stderr.read()
    duration = time.monotonic() - began
    with Store(store_path) as store:
        assert len(store.instance_rows("recorded")) >= 60
    check(store_path, folder, local_root)
    rng = random.Random(SEED)
    kills = 0
    typical = {}                # how long a request took when it ran to its end: kill within that
    for _round in range(ROUNDS):
        state, path = rng.choice(REQUESTS)
        began = time.monotonic()
        proc = run(store_path, src, state, path)
        deadline = began + rng.uniform(0.0, typical.get((state, path), duration))
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        if proc.poll() is None:
            kill_everything(proc)
            kills += 1
        else:
            assert proc.returncode == 0, proc.stderr.read()
            typical[(state, path)] = time.monotonic() - began
        with Store(store_path) as store:
            result = ensure_application(store, src=src, state=state, instance_path=path, parallelism=8)
        assert result["failed_operations"] == [] and not result["timed_out"], [
            op.get("error") for op in result["failed_operations"]]
        check(store_path, folder, local_root)
    print("crash harness: %d rounds, %d kills, seed %d" % (ROUNDS, kills, SEED))
    assert kills >= ROUNDS // 4        # the moments are drawn over a whole run: many rounds kill it
