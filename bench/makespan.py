# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How close does the executor get to the critical path of a deployment-shaped DAG?

Prints figures, asserts nothing. Run from the repository root:

    .venv/bin/python bench/makespan.py [--seed 7] [--roots 50] [--repeat 5] [--no-sequential]

Every node sleeps a fixed latency (a stand-in for a slow installer). Two latency profiles:
``uniform`` (every node 20 ms) and ``varied`` (each node's latency drawn once, with the seed,
from 5, 10, 20, 40 and 80 ms: installers differ). With uniform latencies a level-by-level
scheduler loses nothing in theory (every level lasts exactly 20 ms), so its excess is overhead;
with varied ones its barriers make every level as slow as its slowest member, which is what
dispatching on completion avoids.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "collection"))

import networkx  # noqa: E402

from ansible_collections.appgraph.lifecycle.plugins.module_utils.executor import Executor, Task  # noqa: E402

PROFILES = ("uniform", "varied")


def deployment_dag(roots: int, seed: int) -> networkx.DiGraph:
    """Servers with middleware chains (containment), applications fanning out of them,
    configuration chains under some applications, and imports between middleware of different
    servers (always from a lower server number: acyclic, like Apache importing Tomcat)."""
    rng = random.Random(seed)
    graph = networkx.DiGraph()
    middleware = []
    for r in range(roots):
        parent = "/vm %d" % r
        graph.add_node(parent, kind="server")
        for d in range(rng.randint(1, 4)):
            node = "%s/mw%d" % (parent, d)
            graph.add_edge(parent, node)
            graph.nodes[node]["kind"] = "middleware"
            middleware.append((r, node))
            for a in range(rng.randint(0, 3)):
                app = "%s/app%d" % (node, a)
                graph.add_edge(node, app)
                graph.nodes[app]["kind"] = "app"
                below = app
                for c in range(rng.choice((0, 0, 1, 2))):
                    conf = "%s/conf%d" % (app, c)
                    graph.add_edge(below, conf)
                    graph.nodes[conf]["kind"] = "config"
                    below = conf
            parent = node
    for dummy in range(roots):  # cross edges: importer on a higher-numbered server
        (ra, exporter), (rb, importer) = sorted(rng.sample(middleware, 2))
        if ra != rb:
            graph.add_edge(exporter, importer)
    assert networkx.is_directed_acyclic_graph(graph)
    return graph


def latencies(graph: networkx.DiGraph, profile: str, seed: int) -> dict:
    if profile == "uniform":
        return dict.fromkeys(graph, 0.020)
    rng = random.Random(seed)
    return {node: rng.choice((0.005, 0.010, 0.020, 0.040, 0.080)) for node in graph}


def shape(graph: networkx.DiGraph, latency: dict) -> dict:
    """Critical path, and width = peak concurrency of the ideal as-soon-as-possible schedule."""
    start = {}
    for node in networkx.topological_sort(graph):
        start[node] = max((start[p] + latency[p] for p in graph.predecessors(node)), default=0.0)
    events = sorted([(start[n], 1) for n in graph] + [(start[n] + latency[n], -1) for n in graph],
                    key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    running = width = 0
    for dummy, change in events:
        running += change
        width = max(width, running)
    levels = level_sets(graph)
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(), "width": width,
            "levels": len(levels), "widest_level": max(len(level) for level in levels),
            "critical_path": max(start[n] + latency[n] for n in graph),
            "critical_path_nodes": len(critical_path(graph, latency, start)),
            "level_bound": sum(max(latency[n] for n in level) for level in levels),
            "sequential_bound": sum(latency.values())}


def critical_path(graph: networkx.DiGraph, latency: dict, start: dict) -> list:
    """Walk back from the last node to finish, through the predecessor that held it up."""
    path = [max(graph, key=lambda n: start[n] + latency[n])]
    while start[path[-1]] > 0:
        path.append(max(graph.predecessors(path[-1]), key=lambda p: start[p] + latency[p]))
    return path[::-1]


def level_sets(graph: networkx.DiGraph) -> list[list]:
    """Level = longest distance (in edges) from a source."""
    level = {}
    for node in networkx.topological_sort(graph):
        level[node] = max((level[p] + 1 for p in graph.predecessors(node)), default=0)
    levels = [[] for dummy in range(max(level.values()) + 1)]
    for node, n in level.items():
        levels[n].append(node)
    return levels


def run_executor(graph, latency, parallelism):
    """Each node is dispatched the moment its last predecessor finishes (what the converge loop
    does with the life cycle's steps), on the engine's executor."""
    waiting = {node: graph.in_degree(node) for node in graph}

    def ready(batch):
        out = []
        for result in batch:
            assert result.ok, result.error_text
            for nxt in graph.successors(result.key):
                waiting[nxt] -= 1
                if not waiting[nxt]:
                    out.append(Task(nxt))
        return out

    executor = Executor(lambda task, deadline: time.sleep(latency[task.key]), parallelism=parallelism)
    started = time.monotonic()
    report = executor.run([Task(n) for n, d in waiting.items() if not d], ready)
    elapsed = time.monotonic() - started
    assert report.ok == graph.number_of_nodes()
    return elapsed


def run_levels(graph, latency, parallelism):
    """The scheduler the executor replaces: run a whole level, wait for all of it, go on.

    Its threads are started before the clock starts (the executor's are not): the comparison
    shows the cost of the barriers alone, in the baseline's favour."""
    levels = level_sets(graph)
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        warm = threading.Barrier(parallelism)
        wait([pool.submit(warm.wait) for dummy in range(parallelism)])
        started = time.monotonic()
        for level in levels:
            wait([pool.submit(time.sleep, latency[node]) for node in level])
        return time.monotonic() - started


def measure(repeat, run, *args):
    """(median, best) of ``repeat`` runs: the host is shared, the median is what to expect."""
    times = [run(*args) for dummy in range(repeat)]
    return statistics.median(times), min(times)


def makespans(graph, profile, seed, repeat, sequential):
    latency = latencies(graph, profile, seed)
    facts = shape(graph, latency)
    parallelism = max(facts["width"], facts["widest_level"])
    bound = facts["critical_path"]
    print("\n## profile %s: %d nodes, %d edges, width %d (widest level %d), %d levels, critical path "
          "%d nodes / %.0f ms, parallelism used %d"
          % (profile, facts["nodes"], facts["edges"], facts["width"], facts["widest_level"], facts["levels"],
             facts["critical_path_nodes"], bound * 1000, parallelism))
    rows = [("critical-path bound", (bound, bound)),
            ("level-by-level bound (sum of slowest per level)", (facts["level_bound"],) * 2),
            ("Executor, dispatch on completion", measure(repeat, run_executor, graph, latency, parallelism)),
            ("level-by-level", measure(repeat, run_levels, graph, latency, parallelism))]
    if sequential:
        rows.append(("sequential (Executor, parallelism 1)", measure(1, run_executor, graph, latency, 1)))
    else:
        rows.append(("sequential bound (sum of latencies)", (facts["sequential_bound"],) * 2))
    print("| scheduler | makespan, median of %d | x critical path | best | x critical path |" % repeat)
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (median, best) in rows:
        print("| %s | %.0f ms | %.3f | %.0f ms | %.3f |"
              % (name, median * 1000, median / bound, best * 1000, best / bound))


def overhead(count=10000):
    print("\n## dispatch overhead, %d no-op tasks" % count)
    print("| case | tasks/s | us/task |\n| --- | ---: | ---: |")
    noop = Executor(lambda task, deadline: None, 10)
    cases = [
        ("independent, parallelism 10", noop, [Task(i) for i in range(count)], lambda batch: ()),
        ("independent, parallelism 1", Executor(lambda task, deadline: None, 1),
         [Task(i) for i in range(count)], lambda batch: ()),
        # each task a follow-up of the previous: a full round trip (worker -> on_results -> worker)
        ("chain (follow-up of the previous)", noop, [Task(0)],
         lambda batch: [Task(batch[0].key + 1)] if batch[0].key + 1 < count else ()),
    ]
    for name, executor, initial, on_results in cases:
        started = time.monotonic()
        report = executor.run(initial, on_results)
        elapsed = time.monotonic() - started
        assert report.ok == count
        print("| %s | %.0f | %.1f |" % (name, count / elapsed, elapsed / count * 1e6))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--roots", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5, help="median of this many runs (parallel schedulers)")
    parser.add_argument("--no-sequential", action="store_true", help="print the sum of latencies instead")
    args = parser.parse_args()
    graph = deployment_dag(args.roots, args.seed)
    print("# Executor makespan (Python %s, %d CPUs, seed %d)" % (sys.version.split()[0], os.cpu_count(), args.seed))
    for profile in PROFILES:
        makespans(graph, profile, args.seed, args.repeat, not args.no_sequential)
    overhead()


if __name__ == "__main__":
    main()
