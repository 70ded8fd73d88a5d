# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DOT text of an application: every instance a box filled with its state's colour, every edge of
the graph (containment solid, required imports dashed, optional ones dotted); the bound
applications' exporters it imports from are dashed boxes, their edges teal."""

from __future__ import annotations

from .style import EDGE_STYLE, edge_kind, ordered_edges, picture_nodes, state_style


def _dot_id(text: str) -> str:
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(info: dict, failed=()) -> str:
    """DOT text of ``application_info``'s result (``failed``: paths to colour as failed)."""
    failed = set(failed)
    lines = ["digraph %s {" % _dot_id(info["application"]),
             '  graph [rankdir=LR, labelloc=t, fontname="Helvetica", label=%s];' % _dot_id(info["application"]),
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for inst in picture_nodes(info):
        state = "failed" if inst["path"] in failed else inst["state"]
        _group, fill, stroke = state_style(state)
        label = "%s\n%s\n%s" % (inst.get("name") or inst["path"].rsplit("/", 1)[-1], inst["component"], inst["state"])
        extra = ', style="rounded,filled,dashed"' if inst.get("external") else ""    # another application's
        lines.append("  %s [label=%s, fillcolor=%s, color=%s, tooltip=%s%s];" % (
            _dot_id(inst["path"]), _dot_id(label), _dot_id(fill), _dot_id(stroke), _dot_id(inst["path"]), extra))
    for source, target, data in ordered_edges(info):
        kind = edge_kind(data)
        dash, colour, _text = EDGE_STYLE[kind]
        attrs = ["style=%s" % {"contains": "solid", "requires": "dashed", "optional": "dotted",
                               "external": "dashed" if data.get("required") else "dotted"}[kind],
                 "color=%s" % _dot_id(colour)]
        if kind != "contains":
            attrs.append("label=%s" % _dot_id(", ".join(data.get("imports") or ())))
        lines.append("  %s -> %s [%s];" % (_dot_id(source), _dot_id(target), ", ".join(attrs)))
    lines.append("}")
    return "\n".join(lines) + "\n"
