# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``application_info`` returns: states, order, resolved exports and imports, DOT, a picture;
the template the application was made from, its bindings (which applications its ``external``
imports come from, and which import from it), and the bound applications' exporters it imports
from (drawn in the picture, each an edge to its importers)."""

from __future__ import annotations

import os

from .. import lifecycle as lc
from ..errors import InputError, Location
from ..files import atomic_write
from ..model.graph import build_graph, topological_order
from ..picture.dot import to_dot
from ..providers.registry import get_provider
from ..picture.svg import to_svg
from ..runtime.heartbeats import check_heartbeats
from ..store.store import Store
from ..runtime.stored import stored_application


def application_info(store: Store, name: str, heartbeats: bool = True, check_mode: bool = False,
                     provider_factory=get_provider) -> dict:
    """States, order, resolved exports and imports of one application.

    With ``heartbeats``, the servers' heartbeats are read first, so a silent root shows as
    ``problem`` and a heard one leaves it: an observation, recorded in the store (states and
    events) except in check mode, where it is only shown."""
    app = stored_application(store, name)
    observed = check_heartbeats(store, app, provider_factory=provider_factory, record=not check_mode) \
        if heartbeats else {}
    rows = store.instance_rows(name)
    bindings = store.bindings(name)
    sources = store.external_sources(sorted({b for names in bindings.values() for b in names}), lc.PUBLISHING) \
        if app.external_importers else {}
    snap = lc.Snapshot(app, {p: r.state for p, r in rows.items()}, external=lc.external_view(bindings, sources))
    snap.apply(lc.Step(changes={p: rows[p].state._replace(state=s) for p, s in observed.items()}))
    graph = build_graph(app)
    published = {p: rows[p].exports for p in rows if snap[p].state in lc.PUBLISHING}
    instances = []
    for path, inst in app.instances.items():
        row = rows.get(path)
        instances.append({
            "path": path, "name": inst.name, "component": inst.component, "parent": inst.parent,
            "installer": app.components[inst.component].installer,
            "state": snap[path].state, "desired_state": snap[path].desired,
            "exports": (row.exports if row and row.exports else inst.exports),
            "imports": app.imported_values(path, published, snap.external),
            "runtime": row.runtime if row else {},
            "data": dict(inst.data),
            "last_error": row.last_error if row else None,
        })
    external, external_edges = _bound_exporters(store, app, bindings)
    return {"application": name, "source": app.source, "instances": instances,
            "order": topological_order(app, graph), "graph": graph, "snapshot": snap, "observed": observed,
            "template": {"name": app.template, "version": app.version, "source": app.source},
            "exports_prefix": app.exports_prefix, "external_exports": app.external_exports,
            "bindings": bindings, "bound_by": store.bound_by(name),
            "external_instances": external, "external_edges": external_edges}


def _bound_exporters(store: Store, app, bindings: dict) -> tuple:
    """The instances of the bound applications that export what ``app`` imports from them, in
    whatever state (a stopped one draws the binding too: it is what the importer waits for), as
    picture nodes, and an edge from each to each importer of its prefix (``external``; required
    when an import of it is)."""
    from ..model.loader import stored_model  # pylint: disable=import-outside-toplevel
    nodes, edges = [], []
    for prefix, names in sorted(bindings.items()):
        importers = app.external_importers.get(prefix, ())
        for name in names:
            record = store.application(name)
            if record is None or record.exports_prefix != prefix or not importers:
                continue
            model = stored_model(record.document, record.name, record.source)
            offered = set(record.external_exports)
            rows = store.instance_rows(name)
            for path, inst in model.instances.items():
                exported = {"%s.%s" % (p, v) for p, variables in model.components[inst.component].exports.items()
                            for v in variables}
                if not offered & exported:
                    continue
                key = lc.exporter_key(name, path)
                state = rows[path].state if path in rows else None
                nodes.append({"path": key, "name": "%s: %s" % (name, inst.name),
                              "component": "%s (%s)" % (inst.component, name),
                              "state": state.state if state else "not_deployed",
                              "desired_state": state.desired if state else "not_deployed", "external": True})
                for importer in importers:
                    required = prefix in app.component_of(importer).required_external_prefixes
                    edges.append((key, importer, {"contains": False, "imports": [prefix], "required": required,
                                                  "external": True}))
    return nodes, edges


INFO_KEYS = ("path", "name", "component", "parent", "state", "desired_state", "exports", "imports", "data",
             "last_error")


def failed_paths(info: dict) -> list:
    """The instances whose last operation failed (the picture draws them red, as its legend says)."""
    return [inst["path"] for inst in info["instances"] if inst.get("last_error")]


def application_report(store, name: str, picture: str | None = None, check_mode: bool = False,
                       provider_factory=get_provider) -> dict:
    """``application_info`` as plain data (instances, order, dot); the SVG written to ``picture``.
    ``changed`` says whether the heartbeats moved a root's state (nothing is written in check mode)."""
    info = application_info(store, name, check_mode=check_mode, provider_factory=provider_factory)
    result = {
        "changed": bool(info["observed"]),
        "application": name,
        "source": info.get("source"),
        "template": info["template"],
        "exports_prefix": info["exports_prefix"],
        "external_exports": info["external_exports"],
        "bindings": info["bindings"],
        "bound_by": info["bound_by"],
        "instances": [{key: inst.get(key) for key in INFO_KEYS} for inst in info["instances"]],
        "order": list(info["order"]),
        "dot": to_dot(info, failed_paths(info)),
    }
    if picture:
        result["picture"] = write_picture(picture, to_svg(info, failed_paths(info)))
    return result


def write_picture(path: str, svg: str) -> str:
    """Write ``svg`` to ``path`` atomically (a reader never sees half a file); return the full path."""
    path = os.path.abspath(os.path.expanduser(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise InputError("the folder %s does not exist" % folder, Location(path), key="picture",
                         hint="create it first, or give a path in an existing folder")
    try:
        atomic_write(path, svg.encode("utf-8"), mode=0o644)
    except OSError as exc:
        raise InputError("cannot write the picture: %s" % (exc.strerror or exc), Location(path),
                         key="picture") from None
    return path
