# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Walk a DAG in dependency order on the executor, Terraform style.

A node runs as soon as all its predecessors have succeeded (no level barrier). The walk never
raises midway: a node that fails or times out is recorded, its descendants are marked
``skipped_upstream`` (a consequence, not another error) and the rest of the graph carries on.
Cycles are rejected before anything runs. The walker knows nothing of what a node means: that is
the ``visit`` callback's business.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from .errors import PermanentError
from .executor import Executor, Task, TaskResult

try:
    import networkx
except ImportError:  # ansible-test's import sanity test has no third-party packages
    networkx = None

OK = "ok"
FAILED = "failed"
TIMED_OUT = "timed_out"
SKIPPED_UPSTREAM = "skipped_upstream"
CANCELLED = "cancelled"


@dataclass
class NodeResult:
    node: Hashable
    status: str  # one of OK, FAILED, TIMED_OUT, SKIPPED_UPSTREAM, CANCELLED
    value: Any = None
    error: BaseException | None = None
    error_text: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    cause: Hashable | None = None  # for SKIPPED_UPSTREAM: the ancestor that failed

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def is_error(self) -> bool:
        """Failed or timed out. Skipped and cancelled nodes are consequences, not errors."""
        return self.status in (FAILED, TIMED_OUT)


class CycleError(PermanentError):
    """The graph has a cycle; ``cycle`` lists its nodes, starting from the smallest name."""

    def __init__(self, cycle: list):
        self.cycle = list(cycle)
        path = " -> ".join(str(node) for node in self.cycle + self.cycle[:1])
        super().__init__("dependency cycle: %s (hint: remove one of these dependencies)" % path)


def walk_dag(graph: Any, visit: Callable[[Hashable], Any], parallelism: int = 10,
             task_timeout: float | None = None, deadline: float | None = None,
             cancel: threading.Event | None = None,
             clock: Callable[[], float] = time.monotonic) -> dict[Hashable, NodeResult]:
    """Call ``visit(node)`` for every node, each after all its predecessors succeeded.

    ``graph`` is a ``networkx.DiGraph`` (edge u -> v: u runs first) or a mapping of node ->
    predecessors (nodes named only as predecessors are nodes too). ``visit`` returns the node's
    value or raises. Returns a result for every node, in graph order; raises CycleError (before
    running anything) when the graph has a cycle. Deadline and cancel work as in Executor.run.
    """
    executor = Executor(lambda task, _deadline: visit(task.key), parallelism, task_timeout, clock)
    preds = predecessors(graph)
    succs = successors(preds)
    cycle = find_cycle(succs)
    if cycle:
        raise CycleError(cycle)
    walk = _Walk(preds, succs)
    executor.run(walk.roots(), walk.on_results, deadline, cancel)
    return walk.outcome()


def predecessors(graph: Any) -> dict[Hashable, list]:
    """Normalise the input to node -> predecessors, in graph order."""
    if networkx is not None and isinstance(graph, networkx.Graph):
        if not graph.is_directed():
            raise TypeError("walk_dag needs a directed graph, got an undirected %s" % type(graph).__name__)
        return {node: list(graph.predecessors(node)) for node in graph}
    if not isinstance(graph, Mapping):
        raise TypeError("walk_dag needs a networkx.DiGraph or a mapping of node -> predecessors, got %s"
                        % type(graph).__name__)
    preds = {}
    for node, before in graph.items():
        if isinstance(before, (str, bytes)):  # would silently iterate over characters
            raise TypeError("predecessors of %r must be a collection of nodes, not the string %r" % (node, before))
        preds[node] = list(dict.fromkeys(before))  # a repeated edge must not be counted twice
    for before in list(preds.values()):
        for node in before:
            preds.setdefault(node, [])
    return preds


def successors(preds: dict[Hashable, list]) -> dict[Hashable, list]:
    succs: dict[Hashable, list] = {node: [] for node in preds}
    for node, before in preds.items():
        for pred in before:
            succs[pred].append(node)
    return succs


def find_cycle(succs: dict[Hashable, list]) -> list | None:
    """One cycle of the graph, or None. The same graph always names the same cycle, the same way,
    whatever the insertion order: nodes are explored by name, and the cycle starts at its smallest
    name. Iterative, so a long chain cannot hit the recursion limit."""
    on_path, done = set(), set()
    for root in sorted(succs, key=_label):
        if root in done:
            continue
        stack = [(root, iter(sorted(succs[root], key=_label)))]
        on_path.add(root)
        while stack:
            node, pending = stack[-1]
            nxt = next(pending, _END)
            if nxt is _END:
                stack.pop()
                on_path.discard(node)
                done.add(node)
            elif nxt in on_path:
                path = [entry[0] for entry in stack]
                return _rotate(path[path.index(nxt):])
            elif nxt not in done:
                stack.append((nxt, iter(sorted(succs[nxt], key=_label))))
                on_path.add(nxt)
    return None


_END = object()


def _label(node: Hashable) -> tuple[str, str]:
    return (str(node), repr(node))  # orders nodes of any type; repr breaks ties such as 1 vs "1"


def _rotate(cycle: list) -> list:
    first = min(range(len(cycle)), key=lambda i: _label(cycle[i]))
    return cycle[first:] + cycle[:first]


class _Walk:
    """The walk's bookkeeping; only ever touched from the thread that called walk_dag."""

    def __init__(self, preds: dict[Hashable, list], succs: dict[Hashable, list]):
        self.preds = preds
        self.succs = succs
        self.waiting = {node: len(before) for node, before in preds.items()}  # predecessors not yet ok
        self.results: dict[Hashable, NodeResult] = {}

    def roots(self) -> list[Task]:
        return [Task(node) for node, count in self.waiting.items() if count == 0]

    def on_results(self, batch: list[TaskResult]) -> list[Task]:
        ready = []
        for result in batch:
            node = result.task.key
            self.results[node] = _node_result(result)
            if result.ok:
                ready.extend(self._release(node))
            elif not result.cancelled:
                self._skip_descendants(node)
        return ready

    def _release(self, node: Hashable) -> list[Task]:
        ready = []
        for succ in self.succs[node]:
            self.waiting[succ] -= 1
            if self.waiting[succ] == 0 and succ not in self.results:
                ready.append(Task(succ))
        return ready

    def _skip_descendants(self, failed: Hashable) -> None:
        stack = list(self.succs[failed])
        while stack:
            node = stack.pop()
            if node in self.results:
                continue  # already skipped through another path (and so are its descendants)
            self.results[node] = NodeResult(node, SKIPPED_UPSTREAM, error_text="skipped: %s failed" % (failed,),
                                            cause=failed)
            stack.extend(self.succs[node])

    def outcome(self) -> dict[Hashable, NodeResult]:
        # Nodes never reached were held back by a cancelled (never run) predecessor.
        never = "cancelled: a predecessor never ran"
        return {node: self.results.get(node) or NodeResult(node, CANCELLED, error_text=never)
                for node in self.preds}


def _node_result(result: TaskResult) -> NodeResult:
    if result.ok:
        status = OK
    elif result.cancelled:
        status = CANCELLED
    else:
        status = TIMED_OUT if result.timed_out else FAILED
    return NodeResult(result.task.key, status, result.value, result.error, result.error_text,
                      result.started_at, result.finished_at)
