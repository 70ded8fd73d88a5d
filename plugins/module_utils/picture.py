# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A picture of an application: DOT text, and an SVG drawn here in pure Python (no Graphviz).

Both show every instance as a box labelled with its name, component and state, filled with the
colour of its state, and the edges of the application graph: containment solid, required
dependencies dashed, optional ones dotted.

The SVG layout is a small Sugiyama-style one, left to right:
  1. rank = depth in the order that containment and required imports impose (longest path);
  2. an edge that skips ranks gets a bend point in each rank it crosses;
  3. within a rank, nodes are ordered by barycenter sweeps (down and up), keeping the order with
     the fewest crossings;
  4. vertical positions: each node as close as possible to the mean of its neighbours, in order and
     without overlap (isotonic regression, pool-adjacent-violators), a few rounds.
``application_report`` is what the ``application_info`` module returns.
"""

from __future__ import annotations

import os
import tempfile
from xml.sax.saxutils import escape, quoteattr

from .engine import application_info
from .errors import InputError, Location

# state -> (legend group, fill, stroke)
_GREEN = ("started", "#c8e6c9", "#2e7d32")
_GREY = ("stopped", "#e0e0e0", "#616161")
_AMBER = ("waiting / unresolved", "#ffe082", "#ff8f00")
_BLUE = ("in progress", "#bbdefb", "#1565c0")
_RED = ("problem / failed", "#ffcdd2", "#c62828")
_WHITE = ("not deployed", "#ffffff", "#9e9e9e")
STATE_STYLE = {
    "deployed_started": _GREEN,
    "deployed_stopped": _GREY,
    "unresolved": _AMBER,
    "waiting_for_ancestor": _AMBER,
    "deploying": _BLUE,
    "starting": _BLUE,
    "stopping": _BLUE,
    "undeploying": _BLUE,
    "problem": _RED,
    "failed": _RED,
    "not_deployed": _WHITE,
}
LEGEND = (_GREEN, _GREY, _AMBER, _BLUE, _RED, _WHITE)
EDGE_STYLE = {  # kind -> (dash array, colour, legend text)
    "contains": ("", "#455a64", "contains"),
    "requires": ("7 4", "#6a1b9a", "imports (required)"),
    "optional": ("2 4", "#8e24aa", "imports (optional)"),
}
FONT = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"


def state_style(state: str) -> tuple:
    """``(legend group, fill, stroke)`` of a state (unknown states: not deployed)."""
    return STATE_STYLE.get(state, _WHITE)


def edge_kind(data: dict) -> str:
    """``contains``, ``requires`` or ``optional`` for an edge of the application graph."""
    if data.get("contains"):
        return "contains"
    return "requires" if data.get("required") else "optional"


# -- DOT ------------------------------------------------------------------------------------------


def _dot_id(text: str) -> str:
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(info: dict, failed=()) -> str:
    """DOT text of ``application_info``'s result (``failed``: paths to colour as failed)."""
    failed = set(failed)
    lines = ["digraph %s {" % _dot_id(info["application"]),
             '  graph [rankdir=LR, labelloc=t, fontname="Helvetica", label=%s];' % _dot_id(info["application"]),
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for inst in info["instances"]:
        state = "failed" if inst["path"] in failed else inst["state"]
        _group, fill, stroke = state_style(state)
        label = "%s\n%s\n%s" % (inst.get("name") or inst["path"].rsplit("/", 1)[-1], inst["component"], inst["state"])
        lines.append("  %s [label=%s, fillcolor=%s, color=%s, tooltip=%s];" % (
            _dot_id(inst["path"]), _dot_id(label), _dot_id(fill), _dot_id(stroke), _dot_id(inst["path"])))
    for source, target, data in _edges(info):
        kind = edge_kind(data)
        dash, colour, _text = EDGE_STYLE[kind]
        attrs = ["style=%s" % {"contains": "solid", "requires": "dashed", "optional": "dotted"}[kind],
                 "color=%s" % _dot_id(colour)]
        if kind != "contains":
            attrs.append("label=%s" % _dot_id(", ".join(data.get("imports") or ())))
        lines.append("  %s -> %s [%s];" % (_dot_id(source), _dot_id(target), ", ".join(attrs)))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edges(info: dict) -> list:
    """``[(source, target, data)]`` in a stable order (declaration order of the instances)."""
    index = {inst["path"]: i for i, inst in enumerate(info["instances"])}
    edges = [(u, v, d) for u, v, d in info["graph"].edges(data=True) if u in index and v in index]
    return sorted(edges, key=lambda e: (index[e[0]], index[e[1]]))


# -- layout ---------------------------------------------------------------------------------------

NODE_HEIGHT = 54.0
DUMMY_HEIGHT = 10.0
NODE_GAP = 18.0        # vertical space between boxes of one rank
BEND_GAP = 2.0         # ... and between two bend points (edges passing through a rank run close together)
RANK_GAP = 90.0        # horizontal space between ranks
MAX_LABEL = 34         # characters; longer names are cut with an ellipsis (the full path is the tooltip)


def _text_width(text: str, size: float, bold: bool = False) -> float:
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


def _topological(paths: list, preds: dict, succs: dict) -> list:
    """Kahn's algorithm, ties in declaration order."""
    waiting = {path: len(set(preds[path])) for path in paths}
    index = {path: i for i, path in enumerate(paths)}
    ready = sorted((p for p in paths if not waiting[p]), key=index.__getitem__)
    out = []
    while ready:
        path = ready.pop(0)
        out.append(path)
        for nxt in sorted(set(succs[path]), key=index.__getitem__):
            waiting[nxt] -= 1
            if not waiting[nxt]:
                ready.append(nxt)
        ready.sort(key=index.__getitem__)
    return out


def _cut(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


class Layout:
    """Positions of nodes (box centres), bend points of edges, and the drawing's size."""

    def __init__(self, info: dict):
        self.info = info
        self.paths = [inst["path"] for inst in info["instances"]]
        self.edges = _edges(info)
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
        for path in _topological(self.paths, preds, succs):
            if preds[path]:
                rank[path] = max(rank[p] + 1 for p in preds[path])
        return rank

    def _box_width(self) -> float:
        widest = 0.0
        for inst in self.info["instances"]:
            name = _cut(inst.get("name") or inst["path"].rsplit("/", 1)[-1])
            widest = max(widest, _text_width(name, 13, bold=True), _text_width(_cut(inst["component"]), 11),
                         _text_width(inst["state"], 11))
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


# -- SVG ------------------------------------------------------------------------------------------

MARGIN = 24.0


def to_svg(info: dict, failed=()) -> str:
    """A self-contained SVG picture of ``application_info``'s result."""
    failed = set(failed)
    layout = Layout(info)
    legend_height, legend_width, legend = _legend()
    title = "%s \u2014 %d instance%s" % (info["application"], len(layout.paths), "" if len(layout.paths) == 1 else "s")
    top = MARGIN + 26 + legend_height + 20
    width = max(layout.graph_width, legend_width, _text_width(title, 16, bold=True)) + 2 * MARGIN
    height = top + layout.graph_height + MARGIN
    ox, oy = MARGIN, top
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family=%s>' % (width, height, width, height, quoteattr(FONT)),
           "<title>%s</title>" % escape(title),
           "<defs>"]
    for kind, (_dash, colour, _text) in EDGE_STYLE.items():
        out.append('<marker id="arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
                   'markerHeight="8" orient="auto-start-reverse"><path d="M0,1 L9,5 L0,9 z" fill="%s"/></marker>'
                   % (kind, colour))
    out.append("</defs>")
    out.append('<rect width="100%" height="100%" fill="#ffffff"/>')
    out.append('<text x="%.1f" y="%.1f" font-size="16" font-weight="bold" fill="#212121">%s</text>'
               % (MARGIN, MARGIN + 14, escape(title)))
    out.append('<g transform="translate(%.1f,%.1f)">' % (MARGIN, MARGIN + 26))
    out.extend(legend)
    out.append("</g>")
    out.append('<g class="edges" transform="translate(%.1f,%.1f)" fill="none">' % (ox, oy))
    out.extend(_svg_edges(layout))
    out.append("</g>")
    out.append('<g class="nodes" transform="translate(%.1f,%.1f)">' % (ox, oy))
    by_path = {inst["path"]: inst for inst in info["instances"]}
    for number, path in enumerate(layout.paths):
        out.append(_svg_node(layout, by_path[path], number, "failed" if path in failed else None))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_node(layout: Layout, inst: dict, number: int, override=None) -> str:
    path = inst["path"]
    group, fill, stroke = state_style(override or inst["state"])
    x, y = layout.x[path] - layout.width / 2, layout.y[path] - NODE_HEIGHT / 2
    cx = layout.x[path]
    name = _cut(inst.get("name") or path.rsplit("/", 1)[-1])
    tooltip = "%s\n%s (%s)\nstate: %s\ndesired: %s" % (
        path, inst["component"], group, inst["state"], inst.get("desired_state", ""))
    return ("<g class=%s id=\"node-%d\" data-path=%s data-state=%s>"
            "<title>%s</title>"
            '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="7" ry="7" fill="%s" stroke="%s" stroke-width="1.6"/>'
            '<text x="%.1f" y="%.1f" text-anchor="middle" font-size="13" font-weight="bold" fill="#212121">%s</text>'
            '<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="#424242">%s</text>'
            '<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" font-style="italic" fill="%s">%s</text>'
            "</g>") % (
        quoteattr("node state-%s" % (override or inst["state"])), number, quoteattr(path), quoteattr(inst["state"]),
        escape(tooltip),
        x, y, layout.width, NODE_HEIGHT, fill, stroke,
        cx, y + 18, escape(name),
        cx, y + 33, escape(_cut(inst["component"])),
        cx, y + 47, _darker(stroke), escape(inst["state"]))


_TEXT = {"#2e7d32": "#1b5e20", "#616161": "#424242", "#ff8f00": "#8a4b00", "#1565c0": "#0d47a1",
         "#c62828": "#b71c1c", "#9e9e9e": "#424242"}


def _darker(colour: str) -> str:
    """A colour for the state's text, dark enough to read on the state's fill."""
    return _TEXT.get(colour, "#212121")


def _svg_edges(layout: Layout) -> list:
    """Each edge as a smooth path through its bend points; ports spread along the box sides."""
    out_ports: dict = {}
    in_ports: dict = {}
    for index, (source, target, _data, chain) in enumerate(layout.routes):
        first = chain[0] if chain else target
        last = chain[-1] if chain else source
        out_ports.setdefault(source, []).append((layout.y[first], index))
        in_ports.setdefault(target, []).append((layout.y[last], index))
    start_y = _spread(out_ports, layout)
    end_y = _spread(in_ports, layout)
    half = layout.width / 2
    out = []
    # Containment first, so dependencies (fewer, and the interesting ones) are drawn on top.
    ordered = sorted(enumerate(layout.routes), key=lambda item: edge_kind(item[1][2]) != "contains")
    for index, (source, target, data, chain) in ordered:
        kind = edge_kind(data)
        dash, colour, _text = EDGE_STYLE[kind]
        points = [(layout.x[source] + half, start_y[index])]
        points += [(layout.x[node], layout.y[node]) for node in chain]
        points.append((layout.x[target] - half, end_y[index]))
        if layout.rank[target] > layout.rank[source]:
            d = _smooth(points)
        else:
            d = _loop(layout, source, target)
        title = "%s %s %s" % (source, "contains" if kind == "contains" else "\u2192", target)
        if kind != "contains":
            title += " (imports %s%s)" % (", ".join(data.get("imports") or ()),
                                          "" if kind == "requires" else ", optional")
        out.append('<path class="edge %s" d="%s" stroke="%s" stroke-width="1.4"%s marker-end="url(#arrow-%s)">'
                   "<title>%s</title></path>" % (
                       kind, d, colour, ' stroke-dasharray="%s"' % dash if dash else "", kind, escape(title)))
    return out


def _spread(ports: dict, layout: Layout) -> dict:
    """y of each edge end: ends on one box side, spread over its middle 60 %, in the order of the
    other ends (so they do not cross at the box)."""
    where = {}
    for node, ends in ports.items():
        ends.sort()
        span = NODE_HEIGHT * 0.6
        for i, (_y, index) in enumerate(ends):
            offset = 0.0 if len(ends) == 1 else -span / 2 + span * i / (len(ends) - 1)
            where[index] = layout.y[node] + offset
    return where


def _smooth(points: list) -> str:
    """A path through ``points`` made of cubic curves with horizontal tangents."""
    x0, y0 = points[0]
    parts = ["M%.1f,%.1f" % (x0, y0)]
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        bend = (xb - xa) / 2
        parts.append("C%.1f,%.1f %.1f,%.1f %.1f,%.1f" % (xa + bend, ya, xb - bend, yb, xb, yb))
    return " ".join(parts)


def _loop(layout: Layout, source: str, target: str) -> str:
    """An edge that does not go rightwards (optional imports only): a curve out and back in."""
    half = layout.width / 2
    xa, ya = layout.x[source] + half, layout.y[source]
    xb, yb = layout.x[target] - half, layout.y[target]
    reach = RANK_GAP * 0.8
    return "M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f" % (xa, ya, xa + reach, ya + reach * 0.5,
                                                          xb - reach, yb - reach * 0.5, xb, yb)


def _legend() -> tuple:
    """``(height, width, svg lines)`` of the legend: state colours, then edge styles."""
    out = []
    x = 0.0
    for group, fill, stroke in LEGEND:
        out.append('<rect x="%.1f" y="0" width="22" height="14" rx="3" fill="%s" stroke="%s" stroke-width="1.4"/>'
                   % (x, fill, stroke))
        out.append('<text x="%.1f" y="11.5" font-size="11" fill="#424242">%s</text>' % (x + 28, escape(group)))
        x += 28 + _text_width(group, 11) + 18
    width = x
    x = 0.0
    for kind, (dash, colour, text) in EDGE_STYLE.items():
        out.append('<path d="M%.1f,29 L%.1f,29" stroke="%s" stroke-width="1.4"%s marker-end="url(#arrow-%s)"/>'
                   % (x, x + 34, colour, ' stroke-dasharray="%s"' % dash if dash else "", kind))
        out.append('<text x="%.1f" y="33" font-size="11" fill="#424242">%s</text>' % (x + 42, escape(text)))
        x += 42 + _text_width(text, 11) + 18
    return 38.0, max(width, x), out


# -- what application_info returns ----------------------------------------------------------------

INFO_KEYS = ("path", "name", "component", "parent", "state", "desired_state", "exports", "imports")


def application_report(store, name: str, picture: str | None = None) -> dict:
    """``application_info`` as plain data (instances, order, dot); the SVG written to ``picture``."""
    info = application_info(store, name)
    result = {
        "changed": False,
        "application": name,
        "source": info.get("source"),
        "instances": [{key: inst.get(key) for key in INFO_KEYS} for inst in info["instances"]],
        "order": list(info["order"]),
        "dot": to_dot(info),
    }
    if picture:
        result["picture"] = write_picture(picture, to_svg(info))
    return result


def write_picture(path: str, svg: str) -> str:
    """Write ``svg`` to ``path`` atomically (a reader never sees half a file); return the full path."""
    path = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise InputError("the folder %s does not exist" % folder, Location(path), key="picture",
                         hint="create it first, or give a path in an existing folder")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".appgraph-", suffix=".svg", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(svg)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise InputError("cannot write the picture: %s" % (exc.strerror or exc), Location(path),
                         key="picture") from None
    return path
