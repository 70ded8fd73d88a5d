# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance sub-provisioner's other sources: a clone claimed from a warm reserve, and a shared
server of a pool (real local servers)."""

from __future__ import annotations

import os

from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.service import ReserveService
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.pools import PoolService
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from .helpers import FAST, manager, write_config


def test_a_clone_from_a_warm_reserve(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    options = {"root": local_root, "heartbeat_interval": 1}
    built = ReserveService(store, **FAST).ensure("tenants", {"full_size": 2, "minimum_size": 1, "refill_window": ""},
                                                 provider="local", provider_options=options)
    assert len(built["built"]) == 2
    source = {"name": "server", "options": {"source": "reserve", "reserve": "tenants"}}
    config = write_config(tmp_path, local_root, instance=source)
    m = manager(store, config)
    result = m.provision("acme", "shop1")
    instance = result["provision"]["parts"]["instance"]
    assert instance["server"] in built["built"] and instance["source"] == "reserve"
    tree = m.status("shop1")["provisions"][0]["parts"]["storage"]["path"]
    assert os.path.isdir(os.path.join(tree, "public"))
    m.deprovision("shop1")
    with Store(store) as opened:
        status = opened.db.query("SELECT status FROM servers WHERE name = ?", (instance["server"],))[0][0]
    assert status == "deleted" and not os.path.exists(tree)      # released: not reused, deleted


def test_tenants_share_the_least_loaded_server_of_a_pool(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    pools = PoolService(store, **FAST)
    made = pools.ensure("shared", 2, "local", {"root": local_root, "heartbeat_interval": 1})
    names = sorted(s["name"] for s in made.as_dict()["servers"])
    source = {"name": "server", "options": {"source": "pool", "pool": "shared"}}
    config = write_config(tmp_path, local_root, instance=source)
    m = manager(store, config)
    servers = [m.provision("acme", "shop%d" % i)["provision"]["parts"]["instance"]["server"] for i in range(3)]
    assert sorted(servers[:2]) == names and servers[2] in names      # one each, then the least loaded
    m.deprovision("shop0")
    with Store(store) as opened:
        statuses = {r[0]: r[1] for r in opened.db.query("SELECT name, status FROM servers")}
    assert statuses == {n: "running" for n in names}                 # the pool keeps its servers
