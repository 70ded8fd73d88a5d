# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the boxes and edges of a picture go: a small Sugiyama-style layout, left to right.

  1. rank = depth in the order that containment and required imports impose (longest path);
  2. an edge that skips ranks gets a bend point in each rank it crosses;
  3. within a rank, nodes are ordered by barycenter sweeps (down and up), keeping the order with
     the fewest crossings;
  4. vertical positions: each node as close as possible to the mean of its neighbours, in order and
     without overlap (isotonic regression, pool-adjacent-violators), a few rounds.
"""

from __future__ import annotations

from ..model.graph import topological
from .style import edge_kind, ordered_edges, picture_nodes

NODE_HEIGHT = 54.0
DUMMY_HEIGHT = 10.0
NODE_GAP = 18.0        # vertical space between boxes of one rank
BEND_GAP = 2.0         # ... and between two bend points (edges passing through a rank run close together)
RANK_GAP = 90.0        # horizontal space between ranks
MAX_LABEL = 34         # characters; longer names are cut with an ellipsis (the full path is the tooltip)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """A generous estimate of the width of ``text`` in a sans-serif font (no font metrics here)."""
    width = 0.0
    for char in text:
        if char in "il.,:;|!'`":
            width += 0.32
        elif char in "fjrt()[]{} /-":
            width += 0.42
        elif char in "mwMW@%":
            width += 0.92
        elif char.isupper() or char.isdigit() or char in "_#&":
            width += 0.70
        else:
            width += 0.60
    return width * size * (1.08 if bold else 1.0)


def _reaches(succs: dict, start: str, goal: str) -> bool:
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt in succs[node]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def cut(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


class Layout:
    """Positions of nodes (box centres), bend points of edges, and the drawing's size."""

    def __init__(self, info: dict):
        self.info = info
        self.paths = [inst["path"] for inst in picture_nodes(info)]
        self.edges = ordered_edges(info)
        self.rank = self._ranks()
        self.width = self._box_width()
        self.layers: list = []        # rank -> [node id], node ids are paths or ("dummy", n)
        self.routes: list = []        # (source, target, data, [node ids between])
        self._split_long_edges()
        self._order()
        self.x: dict = {}
        self.y: dict = {}
        self._coordinates()

    # ranks

    def _ranks(self) -> dict:
        """Longest-path rank over containment and required imports, plus each optional import that
        does not close a cycle (so optional edges point rightwards too whenever they can)."""
        preds: dict = {path: [] for path in self.paths}
        succs: dict = {path: [] for path in self.paths}
        optional = []
        for source, target, data in self.edges:
            if edge_kind(data) == "optional":
                optional.append((source, target))
            else:
                preds[target].append(source)
                succs[source].append(target)
        for source, target in optional:
            if source != target and not _reaches(succs, target, source):
                preds[target].append(source)
                succs[source].append(target)
        rank = {path: 0 for path in self.paths}
        for path in topological(self.paths, ((p, path) for path in self.paths for p in preds[path]))[0]:
            if preds[path]:
                rank[path] = max(rank[p] + 1 for p in preds[path])
        return rank

    def _box_width(self) -> float:
        widest = 0.0
        for inst in picture_nodes(self.info):
            name = cut(inst.get("name") or inst["path"].rsplit("/", 1)[-1])
            widest = max(widest, text_width(name, 13, bold=True), text_width(cut(inst["component"]), 11),
                         text_width(inst["state"], 11))
        return max(120.0, min(300.0, widest + 24))

    # long edges

    def _split_long_edges(self) -> None:
        top = max(self.rank.values(), default=-1)
        self.layers = [[] for _rank in range(top + 1)]
        for path in self.paths:
            self.layers[self.rank[path]].append(path)
        self.succ: dict = {path: [] for path in self.paths}
        self.pred: dict = {path: [] for path in self.paths}
        dummies = 0
        for source, target, data in self.edges:
            low, high = self.rank[source], self.rank[target]
            chain = []
            if high - low > 1:
                for r in range(low + 1, high):
                    node = ("dummy", dummies)
                    dummies += 1
                    self.layers[r].append(node)
                    self.succ[node], self.pred[node] = [], []
                    chain.append(node)
            if high > low:
                hops = [source] + chain + [target]
                for a, b in zip(hops, hops[1:]):
                    self.succ[a].append(b)
                    self.pred[b].append(a)
            self.routes.append((source, target, data, chain))

    # crossing reduction

    def _order(self) -> None:
        best = [list(layer) for layer in self.layers]
        best_crossings = self.crossings(best)
        layers = [list(layer) for layer in self.layers]
        for sweep in range(12):
            if best_crossings == 0:
                break
            if sweep % 2 == 0:
                for r in range(1, len(layers)):
                    layers[r] = self._by_barycenter(layers[r], layers[r - 1], self.pred)
            else:
                for r in range(len(layers) - 2, -1, -1):
                    layers[r] = self._by_barycenter(layers[r], layers[r + 1], self.succ)
            crossings = self.crossings(layers)
            if crossings < best_crossings:
                best, best_crossings = [list(layer) for layer in layers], crossings
        self.layers = best

    @staticmethod
    def _by_barycenter(layer: list, fixed: list, neighbours: dict) -> list:
        position = {node: i for i, node in enumerate(fixed)}
        keyed = []
        for i, node in enumerate(layer):
            around = [position[n] for n in neighbours[node] if n in position]
            keyed.append((sum(around) / len(around) if around else float(i), i, node))
        return [node for _b, _i, node in sorted(keyed, key=lambda k: (k[0], k[1]))]

    def crossings(self, layers=None) -> int:
        """Edge crossings between adjacent ranks for an ordering (default: the chosen one)."""
        layers = layers if layers is not None else self.layers
        total = 0
        for r in range(len(layers) - 1):
            here = {node: i for i, node in enumerate(layers[r])}
            there = {node: i for i, node in enumerate(layers[r + 1])}
            pairs = sorted((here[a], there[b]) for a in layers[r] for b in self.succ[a] if b in there)
            for i, (a1, b1) in enumerate(pairs):
                for a2, b2 in pairs[i + 1:]:
                    if a2 > a1 and b2 < b1:
                        total += 1
        return total

    # coordinates

    def height_of(self, node) -> float:
        return DUMMY_HEIGHT if isinstance(node, tuple) else NODE_HEIGHT

    def _coordinates(self) -> None:
        for r, layer in enumerate(self.layers):
            for node in layer:
                self.x[node] = r * (self.width + RANK_GAP) + self.width / 2
            self._pack(layer, {node: 0.0 for node in layer})
        for round_ in range(8):
            layers = range(1, len(self.layers)) if round_ % 2 == 0 else range(len(self.layers) - 2, -1, -1)
            for r in layers:
                layer = self.layers[r]
                desired = {}
                for node in layer:
                    around = [self.y[n] for n in self.pred[node] + self.succ[node]]
                    desired[node] = sum(around) / len(around) if around else self.y[node]
                self._pack(layer, desired)
        low = min((self.y[n] - self.height_of(n) / 2 for n in self.y), default=0.0)
        for node in self.y:
            self.y[node] -= low
        self.graph_width = max((self.x[n] + self.width / 2 for n in self.x), default=0.0)
        self.graph_height = max((self.y[n] + self.height_of(n) / 2 for n in self.y), default=0.0)

    def _pack(self, layer: list, desired: dict) -> None:
        """y for ``layer`` in its order, closest (least squares) to ``desired``, without overlaps."""
        offsets, total = [], 0.0
        for i, node in enumerate(layer):
            if i:
                both_bends = isinstance(node, tuple) and isinstance(layer[i - 1], tuple)
                total += (self.height_of(layer[i - 1]) + self.height_of(node)) / 2 + (BEND_GAP if both_bends else NODE_GAP)
            offsets.append(total)
        blocks: list = []      # [sum of targets, count], merged while they violate the order
        for i, node in enumerate(layer):
            blocks.append([desired[node] - offsets[i], 1])
            while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
                value, count = blocks.pop()
                blocks[-1][0] += value
                blocks[-1][1] += count
        i = 0
        for value, count in blocks:
            for _member in range(count):
                self.y[layer[i]] = value / count + offsets[i]
                i += 1
