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

from ..errors import InputError, Location
from ..limits import Limits, cap_hint
from .application import Application


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
        if not inst.is_root:
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


def _ordering_edges(app: Application):
    """Containment and required dependency edges, from the model (no graph needed)."""
    for path, inst in app.instances.items():
        if not inst.is_root:
            yield inst.parent, path
    for exporter, importer, _prefix, required in _dependencies(app):
        if required:
            yield exporter, importer


def topological(nodes: list, edges) -> tuple:
    """Kahn's algorithm over ``nodes`` (a list) and ``edges`` (pairs, repeats allowed), ties broken
    by the order of ``nodes`` (a heap of their indexes); returns (order, nodes left over on a cycle).

    The one topological sort of the project: the life cycle's order and the picture's ranks."""
    index = {node: i for i, node in enumerate(nodes)}
    indegree = dict.fromkeys(nodes, 0)
    successors: dict = {}
    for u, v in set(edges):
        successors.setdefault(u, []).append(v)
        indegree[v] += 1
    heap = [index[n] for n, d in indegree.items() if d == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        node = nodes[heapq.heappop(heap)]
        order.append(node)
        for nxt in successors.get(node, ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(heap, index[nxt])
    return order, [n for n, d in indegree.items() if d > 0]


def dependency_count(app: Application, prefix: str) -> int:
    """How many (exporter, importer) pairs the imports of ``prefix`` make (never an instance with itself)."""
    exporters, importers = app.exporters.get(prefix, ()), app.importers.get(prefix, ())
    return len(exporters) * len(importers) - len(set(exporters).intersection(importers))


def check_dependency_count(app: Application, limits: Limits) -> None:
    """Refuse imports that relate more instances than the cap, before any edge is made: every
    importer depends on every exporter of a prefix, so two ``count``s can ask for billions."""
    counts = {prefix: dependency_count(app, prefix) for prefix in app.importers}
    if sum(counts.values()) <= limits.max_dependencies:
        return
    prefix = max(counts, key=counts.__getitem__)
    importer = app.component_of(app.importers[prefix][0])
    spec = next(i for i in importer.imports if i.prefix == prefix and not i.external)
    raise InputError("the imports relate more than %d (exporter, importer) pairs of instances; %s makes %d"
                     % (limits.max_dependencies, spec.text, counts[prefix]),
                     app.locate(spec.where) if app.locate else Location(app.source), key="imports",
                     hint="fewer instances export or import %r, " % prefix + cap_hint("max_dependencies"))


def _kahn(app: Application) -> tuple:
    """Topological order over containment and required edges, ties broken by declaration order."""
    return topological(list(app.instances), _ordering_edges(app))


def check_acyclic(app: Application, graph=None) -> None:
    """Raise InputError naming one cycle (in a stable order) if required imports form one."""
    _order, left = _kahn(app)
    if not left:
        return
    graph = graph if graph is not None else build_graph(app)
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
