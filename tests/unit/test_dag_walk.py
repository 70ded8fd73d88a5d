# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""walk_dag: dependency order, failures cascading as skipped_upstream, cycles named up front."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import networkx
import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils import dag_walk
from ansible_collections.appgraph.lifecycle.plugins.module_utils.dag_walk import (
    CANCELLED, FAILED, OK, SKIPPED_UPSTREAM, TIMED_OUT, CycleError, walk_dag)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import AppGraphError

WAIT = 5.0

# vm -> tomcat -> app, vm -> mysql -> app (a diamond), plus an unrelated root.
DEPLOYMENT = {"tomcat": ["vm"], "mysql": ["vm"], "app": ["tomcat", "mysql"], "other-vm": []}


class Log:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, item):
        with self.lock:
            self.items.append(item)


def logging_visit(log, fail=()):
    def visit(node):
        log.add(("start", node))
        if node in fail:
            raise RuntimeError("install of %s failed" % node)
        log.add(("end", node))
        return node.upper()
    return visit


def assert_dependency_order(log, preds):
    position = {item: i for i, item in enumerate(log.items)}
    for node, before in preds.items():
        for pred in before:
            if ("start", node) in position:
                assert position[("end", pred)] < position[("start", node)], (pred, node)


@pytest.mark.parametrize("as_networkx", [False, True])
def test_every_node_runs_after_all_its_predecessors(as_networkx):
    graph = DEPLOYMENT
    if as_networkx:
        graph = networkx.DiGraph([(p, n) for n, before in DEPLOYMENT.items() for p in before])
        graph.add_node("other-vm")
    log = Log()
    results = walk_dag(graph, logging_visit(log), parallelism=4)
    assert {n: (r.status, r.value) for n, r in results.items()} == {
        "vm": (OK, "VM"), "tomcat": (OK, "TOMCAT"), "mysql": (OK, "MYSQL"), "app": (OK, "APP"),
        "other-vm": (OK, "OTHER-VM")}
    assert_dependency_order(log, DEPLOYMENT)
    assert all(r.ok and not r.is_error for r in results.values())


def test_a_mapping_may_name_nodes_only_as_predecessors_and_results_follow_graph_order():
    results = walk_dag({"b": ["a"], "c": ("b", "b")}, lambda node: node)  # a repeated edge counts once
    assert list(results) == ["b", "c", "a"]
    assert all(r.status == OK for r in results.values())


def test_descendants_of_a_failure_are_skipped_upstream_and_the_rest_carries_on():
    log = Log()
    graph = {"tomcat": ["vm"], "app": ["tomcat", "mysql"], "mysql": ["vm"], "monitor": ["app"],
             "other": ["vm"]}
    results = walk_dag(graph, logging_visit(log, fail={"tomcat"}), parallelism=2)
    statuses = {n: r.status for n, r in results.items()}
    assert statuses == {"vm": OK, "tomcat": FAILED, "mysql": OK, "other": OK, "app": SKIPPED_UPSTREAM,
                        "monitor": SKIPPED_UPSTREAM}
    assert results["tomcat"].error_text == "RuntimeError: install of tomcat failed"
    assert isinstance(results["tomcat"].error, RuntimeError)
    assert results["monitor"].cause == "tomcat" and results["app"].cause == "tomcat"
    assert results["app"].error_text == "skipped: tomcat failed"
    assert [n for n, r in results.items() if r.is_error] == ["tomcat"]  # skips are not errors
    assert ("start", "app") not in log.items and ("start", "monitor") not in log.items
    assert_dependency_order(log, graph)


def test_a_timed_out_node_skips_its_descendants():
    release = threading.Event()

    def visit(node):
        if node == "slow":
            release.wait(WAIT)

    try:
        results = walk_dag({"after": ["slow"], "fine": []}, visit, task_timeout=0.05)
    finally:
        release.set()
    assert {n: r.status for n, r in results.items()} == {
        "after": SKIPPED_UPSTREAM, "slow": TIMED_OUT, "fine": OK}
    assert results["slow"].is_error and results["slow"].error_text.startswith("TimeoutError")


def test_no_level_barrier_in_the_walk():
    # "slow" and "b" are both roots; "c" follows "b". "slow" finishes only once "c" has started.
    c_started = threading.Event()

    def visit(node):
        if node == "slow":
            return c_started.wait(WAIT)
        if node == "c":
            c_started.set()
        return True

    results = walk_dag({"slow": [], "b": [], "c": ["b"], "d": ["slow", "c"]}, visit, parallelism=2)
    assert results["slow"].value is True, "c waited for slow: a level barrier"
    assert all(r.ok for r in results.values())


def test_the_parallelism_bound_holds_in_the_walk():
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    gate = threading.Barrier(3, timeout=WAIT)

    def visit(node):
        if node == "root":
            return
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        gate.wait()
        with lock:
            state["now"] -= 1

    graph = {("leaf", i): ["root"] for i in range(9)}
    results = walk_dag(graph, visit, parallelism=3)
    assert state["max"] == 3
    assert all(r.ok for r in results.values())


def test_cancel_leaves_unreached_nodes_cancelled_not_failed():
    cancel = threading.Event()

    def visit(node):
        if node == "a":
            cancel.set()

    results = walk_dag({"a": [], "b": ["a"], "c": ["b"], "x": []}, visit, parallelism=1, cancel=cancel)
    assert {n: r.status for n, r in results.items()} == {"a": OK, "b": CANCELLED, "c": CANCELLED,
                                                         "x": CANCELLED}
    assert results["c"].error_text == "cancelled: a predecessor never ran"
    assert not any(r.is_error for r in results.values())


def test_walk_dag_validates_parallelism_before_anything():
    with pytest.raises(ValueError, match="got 0"):
        walk_dag({"a": []}, lambda node: None, parallelism=0)


# --- cycles and bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("graph", [
    {"a": ["c"], "b": ["a"], "c": ["b"]},
    {"c": ["b"], "b": ["a"], "a": ["c"]},
    {"b": ["a"], "c": ["b"], "a": ["c"], "z": ["a"]},
])
def test_a_cycle_is_rejected_before_running_and_named_the_same_way_whatever_the_order(graph):
    visited = []
    with pytest.raises(CycleError) as caught:
        walk_dag(graph, visited.append)
    assert str(caught.value) == "dependency cycle: a -> b -> c -> a (hint: remove one of these dependencies)"
    assert caught.value.cycle == ["a", "b", "c"]
    assert isinstance(caught.value, AppGraphError)
    assert visited == []


def test_a_cycle_in_a_networkx_graph_and_a_self_loop():
    graph = networkx.DiGraph([("vm", "tomcat"), ("tomcat", "app"), ("app", "tomcat")])
    with pytest.raises(CycleError, match=r"app -> tomcat -> app"):
        walk_dag(graph, lambda node: None)
    with pytest.raises(CycleError, match=r"dependency cycle: x -> x "):
        walk_dag({"x": ["x"]}, lambda node: None)


def test_a_long_chain_does_not_hit_the_recursion_limit():
    n = sys.getrecursionlimit() + 100
    chain = {i: [i - 1] for i in range(1, n)}
    assert dag_walk.find_cycle(dag_walk.successors(dag_walk.predecessors(chain))) is None
    chain[0] = [n - 1]
    assert len(dag_walk.find_cycle(dag_walk.successors(dag_walk.predecessors(chain)))) == n


def test_bad_graphs_are_refused_with_a_message():
    with pytest.raises(TypeError, match="directed"):
        walk_dag(networkx.Graph([("a", "b")]), lambda node: None)
    with pytest.raises(TypeError, match="not the string 'vm'"):
        walk_dag({"tomcat": "vm"}, lambda node: None)
    with pytest.raises(TypeError, match="mapping of node -> predecessors"):
        walk_dag([("a", "b")], lambda node: None)


# --- no networkx, no ansible ---------------------------------------------------------------------

def test_walk_dag_works_on_a_mapping_without_networkx(monkeypatch):
    monkeypatch.setattr(dag_walk, "networkx", None)
    results = walk_dag(DEPLOYMENT, lambda node: node)
    assert all(r.ok for r in results.values())


def test_the_engine_modules_import_without_networkx_or_ansible():
    code = (
        "import sys\n"
        "sys.modules['networkx'] = None\n"  # makes `import networkx` raise ImportError
        "from ansible_collections.appgraph.lifecycle.plugins.module_utils import dag_walk, executor\n"
        "assert dag_walk.networkx is None\n"
        "print(sorted(m for m in sys.modules if m == 'ansible' or m.startswith('ansible.')))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
