# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small Roboconf application directories and ``*.app.yml`` files written by the tests."""

from __future__ import annotations

import os

import yaml


def roboconf_app(folder, graph: str, instances: str | None = None, descriptor=None, name: str = "demo") -> str:
    """A Roboconf application in ``folder/<name>``: ``graph/main.graph``, ``instances/initial.instances``
    and ``descriptor/application.properties`` (``descriptor``: its lines; default: the name and the
    entry points). Returns its path."""
    app = os.path.join(str(folder), name)
    os.makedirs(os.path.join(app, "descriptor"), exist_ok=True)
    os.makedirs(os.path.join(app, "graph"), exist_ok=True)
    with open(os.path.join(app, "graph", "main.graph"), "w", encoding="utf-8") as handle:
        handle.write(graph)
    lines = list(descriptor) if descriptor is not None else ["name = %s" % name, "graph-entry-point = main.graph"]
    if instances is not None:
        os.makedirs(os.path.join(app, "instances"), exist_ok=True)
        with open(os.path.join(app, "instances", "initial.instances"), "w", encoding="utf-8") as handle:
            handle.write(instances)
        if not any(line.startswith("instance-entry-point") for line in lines):
            lines.append("instance-entry-point = initial.instances")
    with open(os.path.join(app, "descriptor", "application.properties"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return app


def yaml_app(folder, doc: dict, name: str = "app") -> str:
    """``doc`` written as ``folder/<name>.app.yml``; returns its path."""
    path = os.path.join(str(folder), "%s.app.yml" % name)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle, sort_keys=False)
    return path
