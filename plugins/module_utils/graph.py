# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The application as a networkx DiGraph, and the questions asked of it.

Nodes are instance paths. Edges: containment (parent -> child, ``contains=True``) and dependency
(exporter -> importer, ``imports=[prefixes]``, ``required`` when one of them is). Containment and
required dependencies must form a DAG; optional imports never order anything.
"""

from __future__ import annotations

import heapq

from .errors import InputError
from .model import Application


def _networkx():
    """networkx, imported on first use: 0.12 s that converging never needs (only pictures, info
    and naming a cycle do)."""
    import networkx  # pylint: disable=import-outside-toplevel
    return networkx


def _dependencies(app: Application):
    """``(exporter, importer, prefix, required)`` for every import an instance can take."""
    for prefix, importers in app.importers.items():
        for importer in importers:
            required = prefix in app.component_of(importer).required_prefixes
            for exporter in app.exporters_for(importer, prefix):
                yield exporter, importer, prefix, required


def build_graph(app: Application):
    """Every instance, containment edge and dependency edge of ``app`` (a networkx DiGraph)."""
    nx = _networkx()
    graph = nx.DiGraph(application=app.name)
    for path, inst in app.instances.items():
        graph.add_node(path, component=inst.component, parent=inst.parent, name=inst.name)
    for path, inst in app.instances.items():
        if inst.parent is not None:
            graph.add_edge(inst.parent, path, contains=True, imports=[], required=False)
    for exporter, importer, prefix, required in _dependencies(app):
        _add_dependency(graph, exporter, importer, prefix, required)
    return graph


def _add_dependency(graph, exporter: str, importer: str, prefix: str, required: bool) -> None:
    if graph.has_edge(exporter, importer):
        data = graph.edges[exporter, importer]
        data["imports"].append(prefix)
        data["required"] = data["required"] or required
    else:
        graph.add_edge(exporter, importer, contains=False, imports=[prefix], required=required)


def ordering_graph(graph):
    """The edges that order work: containment and required dependencies."""
    return graph.edge_subgraph((u, v) for u, v, d in graph.edges(data=True) if d["contains"] or d["required"])


def application_graph(app: Application):
    """The graph of ``app``, built once and kept with it (the model is immutable)."""
    cached = app.__dict__.get("_graph")
    if cached is None:
        cached = app.__dict__["_graph"] = build_graph(app)
    return cached


def _ordering_edges(app: Application):
    """Containment and required dependency edges, from the model (no graph needed)."""
    for path, inst in app.instances.items():
        if inst.parent is not None:
            yield inst.parent, path
    seen = set()
    for exporter, importer, _prefix, required in _dependencies(app):
        if required and (exporter, importer) not in seen:
            seen.add((exporter, importer))
            yield exporter, importer


def _kahn(app: Application) -> tuple:
    """Topological order over containment and required edges, ties broken by declaration order
    (a heap of declaration indexes); returns (order, nodes left over on a cycle)."""
    index = {path: i for i, path in enumerate(app.instances)}
    indegree = dict.fromkeys(app.instances, 0)
    successors: dict = {}
    for u, v in _ordering_edges(app):
        successors.setdefault(u, []).append(v)
        indegree[v] += 1
    heap = [index[p] for p, d in indegree.items() if d == 0]
    heapq.heapify(heap)
    paths = list(app.instances)
    order = []
    while heap:
        path = paths[heapq.heappop(heap)]
        order.append(path)
        for nxt in successors.get(path, ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(heap, index[nxt])
    left = [p for p, d in indegree.items() if d > 0]
    return order, left


def check_acyclic(app: Application, graph=None) -> None:
    """Raise InputError naming one cycle (in a stable order) if required imports form one."""
    _order, left = _kahn(app)
    if not left:
        return
    graph = graph if graph is not None else application_graph(app)
    order = {path: i for i, path in enumerate(app.instances)}
    stuck = ordering_graph(graph.subgraph(left))
    cycle = _networkx().find_cycle(stuck, source=sorted(stuck.nodes, key=order.__getitem__))
    first = min(range(len(cycle)), key=lambda i: order[cycle[i][0]])   # start from the earliest instance
    cycle = cycle[first:] + cycle[:first]
    steps = [_describe_edge(app, graph, edge[0], edge[1]) for edge in cycle]
    raise InputError("required imports form a cycle: %s" % "; ".join(steps), app.location_of(cycle[0][0]),
                     key="imports",
                     hint="mark one of these imports '(optional)' or change the imports so that no instance "
                          "waits, even indirectly, for itself")


def _describe_edge(app: Application, graph, exporter: str, importer: str) -> str:
    data = graph.edges[exporter, importer]
    if data["contains"] and not data["required"]:
        return "%s contains %s" % (exporter, importer)
    component = app.instances[importer].component
    return "%s (%s) imports %s from %s" % (importer, component, ", ".join(data["imports"]), exporter)


def topological_order(app: Application, graph=None) -> list:
    """Paths in an order that respects containment and required imports; ties by declaration."""
    order, left = _kahn(app)
    if left:
        check_acyclic(app, graph)
    return order


def subgraph(graph, app: Application, path: str):
    """The instance at ``path`` and everything it contains."""
    return graph.subgraph(app.subtree(path))


def affected_by_stop(app: Application, path: str, graph=None) -> set:
    """Every instance that may have to stop when ``path`` stops: its subtree, the importers that
    require it, and (transitively) theirs. An upper bound: an importer with another started
    exporter keeps running — ``lifecycle`` decides with the states at hand."""
    graph = graph if graph is not None else application_graph(app)
    ordering = ordering_graph(graph)
    if path not in ordering:
        return set(app.subtree(path)) - {path}
    return _networkx().descendants(ordering, path) | set(app.descendants(path))
