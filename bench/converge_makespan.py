"""Makespan of a whole request through the real driver (life cycle + SQLite store + executor).

Usage: python bench/converge_makespan.py [--vms 40 --latency 0.05]
Every operation of the application takes --latency seconds (the latency installer of tests/helpers). With
uniform latency the critical path is (number of waves of the plan) x latency: the bound no
scheduler can beat. Printed beside it: the driver at parallelism >= width, a level-by-level run
(the same driver forced to wait for a whole wave before the next: the plan's waves), and a
sequential one (parallelism 1, estimated as operations x latency when --skip-sequential).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

# _common puts collection/ on sys.path before the engine is imported
import _common  # noqa: F401 pylint: disable=unused-import
import yaml

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.runtime.converge import Converger
from ansible_collections.appgraph.lifecycle.plugins.module_utils import lifecycle as lc
from ansible_collections.appgraph.lifecycle.plugins.module_utils.lifecycle.plan import settle
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.latency import latency_installers


def document(vms: int, latency: float) -> dict:
    opts = {"latency": latency}
    return {
        "application": "makespan",
        "components": {
            "VM": {"installer": "latency", "options": opts, "children": ["Api", "Db", "Cache"]},
            "Db": {"installer": "latency", "options": opts, "exports": {"port": 5432}},
            "Cache": {"installer": "latency", "options": opts, "exports": {"port": 6379}},
            "Api": {"installer": "latency", "options": opts, "imports": ["Db.*", "Cache.* (optional)"],
                    "children": ["Worker"]},
            "Worker": {"installer": "latency", "options": opts},
        },
        "instances": [
            {"name": "db-vm", "component": "VM", "children": [{"name": "db", "component": "Db"}]},
            {"name": "cache-vm", "component": "VM", "children": [{"name": "cache", "component": "Cache"}]},
            {"name": "vm", "component": "VM", "count": vms, "children": [
                {"name": "api", "component": "Api",
                 "children": [{"name": "worker", "component": "Worker", "count": 3}]}]},
        ],
    }


def run(folder: str, doc: dict, parallelism: int) -> tuple:
    """(whole request, makespan): the request includes reading the model and the store; the
    makespan runs from the first operation's start to the last one's end."""
    path = os.path.join(folder, "app-%d.app.yml" % parallelism)
    with open(path, "w") as out:
        yaml.safe_dump(doc, out)
    with Store(os.path.join(folder, "store-%d.db" % parallelism)) as store:
        engine.add_application(store, path)
        start = time.perf_counter()
        app = engine.stored_application(store, "makespan")
        result = Converger(store, app, installers=latency_installers(), parallelism=parallelism).run("start_all")
        elapsed = time.perf_counter() - start
        if result.failed:
            sys.exit("operations failed: %s" % [op.as_dict() for op in result.failed][:3])
    return elapsed, result.makespan


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--skip-sequential", action="store_true")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    doc = document(args.vms, args.latency)
    app = engine.application_from_document(doc, lambda _p: None)
    snap = lc.Snapshot(app)
    plan = settle(snap, lc.request(snap, "start_all"))
    width = max(len(wave) for wave in _waves(snap, plan)) if plan.operations else 1
    bound = plan.waves * args.latency
    print("application: %d instances, %d operations, %d waves, widest wave %d, latency %.0f ms"
          % (len(app.instances), len(plan.operations), plan.waves, width, args.latency * 1000))
    print("critical path (waves x latency):        %.3f s" % bound)
    elapsed, makespan = run(folder, doc, parallelism=max(width, 1))
    print("driver, parallelism %-4d, makespan        %.3f s  = %.3f x the critical path (target <= 1.05)"
          % (width, makespan, makespan / bound))
    print("  the whole request (model + store + makespan) %.3f s  = %.3f x" % (elapsed, elapsed / bound))
    level = plan.waves * args.latency       # a barrier per wave, each wave as long as its op
    print("level-by-level (one barrier per wave):   >= %.3f s (equals the bound when every operation "
          "takes the same time; see bench/makespan.py for mixed latencies)" % level)
    if args.skip_sequential:
        print("sequential (parallelism 1):              ~%.3f s (operations x latency)"
              % (len(plan.operations) * args.latency))
    else:
        seq = run(folder, doc, parallelism=1)[1]
        print("sequential (parallelism 1), makespan:    %.3f s  = %.1f x" % (seq, seq / bound))


def _waves(snap, plan):
    """Re-play the plan wave by wave to measure the widest one."""
    snap = snap.copy()
    step = lc.request(snap, "start_all")
    while step.operations:
        yield step.operations
        snap.apply(step)
        step = lc.finish(snap, [lc.Outcome(op, True) for op in step.operations])


if __name__ == "__main__":
    main()
