"""Chain reaction: stop the exporter that 100,000 instances depend on, directly or through ancestors.

Usage: python bench/chain_reaction.py [--vms 1000 --modules 99]
Shape: one database; --vms VMs, each with a Server importing Database.* and --modules modules
inside the server (they depend on the database through their parent). With the defaults,
1,000 importers + 99,000 descendants = 100,000 instances must react.

Prints: the step that unpublishes (every new state decided: importers and their descendants go
stopping, the leaves' stop operations announced), and the whole reaction played to its end
(all stops done: importers unresolved, descendants waiting_for_ancestor).
"""

from __future__ import annotations

import argparse
import time

# _common puts collection/ on sys.path before the engine is imported
import _common  # noqa: F401 pylint: disable=unused-import

from ansible_collections.appgraph.lifecycle.plugins.module_utils import lifecycle as lc
from ansible_collections.appgraph.lifecycle.plugins.module_utils.limits import Limits
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import application_from_document
from ansible_collections.appgraph.lifecycle.plugins.module_utils.lifecycle.plan import settle
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import UNRESOLVED, WAITING_FOR_ANCESTOR


def application(vms: int, modules: int):
    doc = {
        "application": "chain",
        "components": {
            "VM": {"installer": "noop", "children": ["Server", "Database"]},
            "Server": {"installer": "noop", "imports": ["Database.*"], "children": ["Module"]},
            "Module": {"installer": "noop"},
            "Database": {"installer": "noop", "exports": {"ip": None, "port": 5432}},
        },
        "instances": [{"name": "db-vm", "component": "VM", "children": [{"name": "db", "component": "Database"}]},
                      {"name": "vm", "component": "VM", "count": vms, "children": [
                          {"name": "server", "component": "Server", "children": [
                              {"name": "module", "component": "Module", "count": modules}]}]}],
    }
    # 101,002 instances with the defaults: past the default cap of 100,000, raised for this benchmark
    return application_from_document(doc, lambda _path: None, limits=Limits(max_instances=2 + vms * (2 + modules)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--modules", type=int, default=99)
    args = parser.parse_args()
    started = time.perf_counter()
    app = application(args.vms, args.modules)
    snap = lc.Snapshot(app)
    settle(snap, lc.request(snap, "start_all"), copy=False)
    dependents = args.vms * (1 + args.modules)
    print("application: %d instances, %d depend on /db-vm/db; all started in %.1f s (set-up)"
          % (len(app.instances), dependents, time.perf_counter() - started))

    before = time.perf_counter()
    step = lc.request(snap, "stop", "/db-vm/db")
    decided = time.perf_counter() - before
    stopping = sum(1 for s in step.changes.values() if s.state == "stopping")
    print("stop /db-vm/db -> new states decided: %d instances stopping, %d stop operations ready: %.3f s"
          " (target < 1 s)" % (stopping, len(step.operations), decided))

    before = time.perf_counter()
    plan = settle(snap, step, copy=False)
    played = time.perf_counter() - before
    final = [s.state for s in plan.snapshot.states.values()]
    counts = (plan.waves, len(plan.operations), played, final.count(UNRESOLVED), final.count(WAITING_FOR_ANCESTOR))
    print("reaction played to its end in %d waves (%d stop operations): %.3f s; unresolved: %d, "
          "waiting_for_ancestor: %d" % counts)


if __name__ == "__main__":
    main()
