# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two stores on one machine provisioning a tenant of the same id with the default ``sqlite``
database: each gets a file of its own, and deprovisioning one leaves the other's data.
(On the old code both used ``~/.local/state/appgraph/databases/<id>.sqlite``: the second
provision adopted the first's file and its deprovision deleted it.)"""

from __future__ import annotations

import os
import sqlite3

from .helpers import manager, write_config


def test_the_default_database_files_are_per_store(tmp_path, local_root, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = write_config(tmp_path, local_root, database={"name": "sqlite"})
    first, second = manager(str(tmp_path / "a.db"), config), manager(str(tmp_path / "b.db"), config)
    paths = []
    for service in (first, second):
        result = service.provision("acme", "shop")
        assert result["provision"]["state"] == "provisioned", result.get("error")
        paths.append(service.status("shop")["provisions"][0]["parts"]["database"]["path"])
    assert paths[0] != paths[1]
    assert all(p.startswith(str(tmp_path / "home" / ".local" / "state" / "appgraph" / "databases")) for p in paths)
    with sqlite3.connect(paths[0]) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    conn.close()

    second.deprovision("shop")
    assert not os.path.exists(paths[1])
    with sqlite3.connect(paths[0]) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    conn.close()
    first.deprovision("shop")
    assert not os.path.exists(paths[0])
