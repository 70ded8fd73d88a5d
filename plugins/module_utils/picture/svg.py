# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An SVG picture of an application, drawn here in pure Python (no Graphviz): the layout's boxes
labelled with name, component and state, filled with the state's colour, and its edges."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .layout import NODE_HEIGHT, RANK_GAP, Layout, cut, text_width
from .style import EDGE_STYLE, FONT, LEGEND, edge_kind, picture_nodes, state_style

MARGIN = 24.0


def to_svg(info: dict, failed=()) -> str:
    """A self-contained SVG picture of ``application_info``'s result."""
    failed = set(failed)
    layout = Layout(info)
    legend_height, legend_width, legend = _legend()
    count = len(info["instances"])
    title = "%s \u2014 %d instance%s" % (info["application"], count, "" if count == 1 else "s")
    top = MARGIN + 26 + legend_height + 20
    width = max(layout.graph_width, legend_width, text_width(title, 16, bold=True)) + 2 * MARGIN
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
    by_path = {inst["path"]: inst for inst in picture_nodes(info)}
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
    name = cut(inst.get("name") or path.rsplit("/", 1)[-1])
    tooltip = "%s\n%s (%s)\nstate: %s\ndesired: %s" % (
        path, inst["component"], group, inst["state"], inst.get("desired_state", ""))
    return ("<g class=%s id=\"node-%d\" data-path=%s data-state=%s>"
            "<title>%s</title>"
            '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="7" ry="7" fill="%s" stroke="%s" stroke-width="1.6"%s/>'
            '<text x="%.1f" y="%.1f" text-anchor="middle" font-size="13" font-weight="bold" fill="#212121">%s</text>'
            '<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="#424242">%s</text>'
            '<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" font-style="italic" fill="%s">%s</text>'
            "</g>") % (
        quoteattr("node state-%s%s" % (override or inst["state"], " external" if inst.get("external") else "")),
        number, quoteattr(path), quoteattr(inst["state"]),
        escape(tooltip),
        x, y, layout.width, NODE_HEIGHT, fill, stroke,
        ' stroke-dasharray="6 3"' if inst.get("external") else "",     # an exporter of a bound application
        cx, y + 18, escape(name),
        cx, y + 33, escape(cut(inst["component"])),
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
        x += 28 + text_width(group, 11) + 18
    width = x
    x = 0.0
    for kind, (dash, colour, text) in EDGE_STYLE.items():
        out.append('<path d="M%.1f,29 L%.1f,29" stroke="%s" stroke-width="1.4"%s marker-end="url(#arrow-%s)"/>'
                   % (x, x + 34, colour, ' stroke-dasharray="%s"' % dash if dash else "", kind))
        out.append('<text x="%.1f" y="33" font-size="11" fill="#424242">%s</text>' % (x + 42, escape(text)))
        x += 42 + text_width(text, 11) + 18
    return 38.0, max(width, x), out
