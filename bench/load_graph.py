"""Load + validate + build the graph of a 10,000-instance application written out in full.

Usage: python bench/load_graph.py [--vms 2500]
Each VM holds a Tomcat (exports ip, port) with a Webapp (imports Database.*), and an Agent; one
Apache imports Tomcat.*; one database VM. 4 instances per VM: --vms 2500 gives 10,004 instances.
"""

from __future__ import annotations

import argparse
import os
import tempfile

# _common puts collection/ on sys.path before the engine is imported
from _common import best_of

from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.graph import build_graph, topological_order

HEADER = """application: big
components:
  VM: {installer: noop, children: [Tomcat, Agent, Database, Apache]}
  Tomcat: {installer: noop, exports: {ip: null, port: 8080}, children: [Webapp]}
  Webapp: {installer: noop, imports: [Database.*]}
  Agent: {installer: noop}
  Apache: {installer: noop, imports: [Tomcat.*]}
  Database: {installer: noop, exports: {ip: null, port: 5432}}
instances:
  - name: db-vm
    component: VM
    children:
      - {name: db, component: Database}
      - {name: apache, component: Apache}
"""


def write_application(path: str, vms: int) -> int:
    with open(path, "w") as out:
        out.write(HEADER)
        for i in range(vms):
            out.write("  - name: vm-%d\n    component: VM\n    children:\n" % i)
            out.write("      - name: tomcat\n        component: Tomcat\n        exports: {port: %d}\n" % (9000 + i % 1000))
            out.write("        children: [{name: app, component: Webapp}]\n")
            out.write("      - {name: agent, component: Agent}\n")
    return 3 + vms * 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=2500)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "big.app.yml")
    count = write_application(path, args.vms)
    size = os.path.getsize(path)

    def load_and_build():
        app = load_application(path)       # parse, schema, model, cycle check (builds the graph once)
        graph = build_graph(app)
        topological_order(app, graph)
        return app, graph

    seconds, (app, graph) = best_of(3, load_and_build)
    print("instances: %d (file %.1f MB), graph: %d nodes, %d edges"
          % (len(app.instances), size / 1e6, graph.number_of_nodes(), graph.number_of_edges()))
    print("load + validate + build graph + topological order: %.3f s (best of 3; target < 2 s)" % seconds)
    assert count == len(app.instances)


if __name__ == "__main__":
    main()
