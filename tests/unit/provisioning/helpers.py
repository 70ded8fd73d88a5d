# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provisioners files and managers for the provisioning tests: real local servers, real SQLite
files and (with ``postgresql``) the test PostgreSQL server; test sub-provisioners come in through
real ``appgraph.provisioners`` entry points (``plugins.py``)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from importlib.metadata import EntryPoint

from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.config import load_config
from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.manager import ProvisionManager
from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.registry import GROUP, Registry

FAST = {"backoff_initial": 0.02, "backoff_max": 0.1}
PLUGINS = "ansible_collections.appgraph.lifecycle.tests.unit.provisioning.plugins"


def plugin_registry() -> Registry:
    names = {"blocking": "BlockingDatabase", "failing": "FailingDatabase", "counted_tree": "CountedTree",
             "stubborn_tree": "StubbornTree", "blocking_tree": "BlockingTree", "held_dump": "HeldDumpDatabase"}
    return Registry([EntryPoint(name, "%s:%s" % (PLUGINS, cls), GROUP) for name, cls in names.items()])


def write_config(tmp_path, local_root: str, database: dict | str | None = "sqlite", storage="tree",
                 instance: dict | None = None, extra: str = "", keep_days: float = 7, limits: dict | None = None):
    """A provisioners file under ``tmp_path`` (servers under ``local_root``); its path."""
    if database == "sqlite":
        database = {"name": "sqlite", "options": {"directory": str(tmp_path / "databases")}}
    instance = instance or {"name": "server", "options": {"source": "create", "provider_options":
                                                          {"root": local_root, "heartbeat_interval": 1}}}
    provides = {"instance": instance, "storage": storage}
    if database is not None:
        provides["database"] = database
    doc = {"default": "dreamfactory",
           "provisioners": {"dreamfactory": {"provides": provides,
                                             "offerings": {"version": {"values": ["2.0", "2.1"], "default": "2.1"}},
                                             "resource_uri": "http://{address}/{instance_id}/"}},
           "snapshots": dict({"directory": str(tmp_path / "snapshots"), "keep_days": keep_days},
                             **({"limits": limits} if limits else {}))}
    path = tmp_path / "provisioners.yml"
    path.write_text(json.dumps(doc, indent=2) + "\n" + extra, encoding="utf-8")   # JSON is YAML
    return str(path)


def manager(store: str, config_path: str, **kwargs) -> ProvisionManager:
    registry = kwargs.pop("registry", None) or plugin_registry()
    return ProvisionManager(store, load_config(config_path, registry), registry=registry, polling=FAST, **kwargs)


def tree_state(top: str) -> dict:
    """Every entry of a tree: its mode, and its bytes' sha256 or its link target."""
    out = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if os.path.islink(path):
                what = "-> " + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    what = hashlib.sha256(handle.read()).hexdigest()
            else:
                what = "dir"
            out[os.path.relpath(path, top)] = (st.st_mode, what)
    return out


def fill_tenant(parts: dict) -> None:
    """Files, a link, modes and a table in a tenant's storage and database."""
    tree = parts["storage"]["path"]
    with open(os.path.join(tree, "public", "index.html"), "w", encoding="utf-8") as handle:
        handle.write("<h1>shop</h1>\n")
    os.makedirs(os.path.join(tree, "packages", "app", "lib"))
    with open(os.path.join(tree, "packages", "app", "lib", "run.sh"), "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\necho hi\n")
    os.chmod(os.path.join(tree, "packages", "app", "lib", "run.sh"), 0o750)
    with open(os.path.join(tree, "private", "key.bin"), "wb") as handle:
        handle.write(os.urandom(70000))
    os.symlink("index.html", os.path.join(tree, "public", "home.html"))
    if parts.get("database", {}).get("driver") == "sqlite":
        with sqlite3.connect(parts["database"]["path"]) as conn:
            conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, price REAL)")
            conn.executemany("INSERT INTO orders (item, price) VALUES (?, ?)", [("i%d" % i, i * 1.5) for i in range(500)])
        conn.close()


def sqlite_dump(path: str) -> list:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def events_of(store_path: str, instance_id: str) -> list:
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
    with Store(store_path) as store:
        return [e for e in store.events(0, limit=100000) if e.subject == instance_id]
