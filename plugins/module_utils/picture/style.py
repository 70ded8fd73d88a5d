# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a picture shows states and edges: the colours of states, the strokes of edges, and the
order of the edges (the same for DOT and SVG)."""

from __future__ import annotations

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
    "external": ("5 2 1 2", "#00838f", "imports from a bound application"),
}
FONT = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"


def state_style(state: str) -> tuple:
    """``(legend group, fill, stroke)`` of a state (unknown states: not deployed)."""
    return STATE_STYLE.get(state, _WHITE)


def edge_kind(data: dict) -> str:
    """``contains``, ``requires``, ``optional`` or ``external`` (an import from a bound application)."""
    if data.get("contains"):
        return "contains"
    if data.get("external"):
        return "external"
    return "requires" if data.get("required") else "optional"


def picture_nodes(info: dict) -> list:
    """The boxes of a picture: the instances, then the bound applications' exporters they import from."""
    return list(info["instances"]) + list(info.get("external_instances") or ())


def ordered_edges(info: dict) -> list:
    """``[(source, target, data)]`` in a stable order (declaration order of the instances; the bound
    applications' exporters after them)."""
    index = {inst["path"]: i for i, inst in enumerate(picture_nodes(info))}
    edges = [(u, v, d) for u, v, d in info["graph"].edges(data=True) if u in index and v in index]
    edges += [(u, v, d) for u, v, d in info.get("external_edges") or () if u in index and v in index]
    return sorted(edges, key=lambda e: (index[e[0]], index[e[1]]))
