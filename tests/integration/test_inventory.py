# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `servers` inventory plugin: real local servers joined with the store, through ansible-inventory."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.inventory import (
    cache_key_suffix, inventory_hosts)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.names import identifier
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider

from .helpers import BIN, ansible_env


def _give_root_a_server(store, application, root, runtime):
    with store.transaction(application) as tx:
        tx.write_data(root, runtime=runtime)


@pytest.fixture
def local_servers(tmp_path):
    """Two real local servers (agent processes): one for the shop's db-vm, one spare; stopped after."""
    provider = LocalProvider(root=str(tmp_path / "servers"), stop_timeout=2.0)
    made = [provider.create_server(ServerSpec(name=name, server_type="small", client_token="token-" + name))
            for name in ("shop-db", "spare-1")]
    yield provider, made
    servers = provider.list_servers()
    for server in servers:
        provider.stop_server(server.provider_id)
    deadline = time.monotonic() + 5
    while not all(provider.has_stopped(s.provider_id) for s in servers) and time.monotonic() < deadline:
        time.sleep(0.02)
    for server in servers:
        provider.delete_server(server.provider_id)


def test_ansible_inventory_lists_live_servers_with_their_application(workdir, local_servers):
    provider, made = local_servers
    store_path = workdir / "store.db"
    with Store(str(store_path)) as store:
        engine.add_application(store, str(workdir / "shop.app.yml"))
        engine.converge_application(store, "shop", "started")
        # What the server installer records; joined by provider_id (the other root by server name).
        runtime = {"provider": "local", "provider_id": made[0].provider_id, "server": made[0].name,
                   "address": "127.0.0.1"}
        _give_root_a_server(store, "shop", "/db-vm", runtime)
    source = workdir / "appgraph.servers.yml"
    source.write_text(json.dumps({
        "plugin": "appgraph.lifecycle.servers",
        "store": str(store_path),
        "providers": [{"name": "local", "options": {"root": provider.root}}],
        "all_fleets": True,         # the servers were made by hand, for no store's fleet
        "keyed_groups": [{"key": "appgraph_application", "prefix": "application"}],
        "compose": {"db_port": "appgraph_exports['/db-vm/db']['Db.port'] | default(omit)"},
    }), encoding="utf-8")
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list"], cwd=str(workdir),
                          env=ansible_env(store_path), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    inventory = json.loads(proc.stdout)
    hostvars = inventory["_meta"]["hostvars"]
    assert sorted(hostvars) == ["shop-db", "spare-1"]

    db = {k: _plain(v) for k, v in hostvars["shop-db"].items()}
    assert db["ansible_host"] == "127.0.0.1" and db["ansible_connection"] == "appgraph.lifecycle.sandbox"
    assert db["appgraph_local_root"] == provider.root
    assert db["appgraph_provider"] == "local" and db["appgraph_application"] == "shop"
    assert db["appgraph_component"] == "Host" and db["appgraph_instance_path"] == "/db-vm"
    assert db["appgraph_status"] in ("starting", "running")
    assert db["appgraph_exports"]["/db-vm/db"]["Db.port"] == 5432
    assert db["db_port"] == 5432                                   # compose
    spare = {k: _plain(v) for k, v in hostvars["spare-1"].items()}
    assert "appgraph_application" not in spare and spare["appgraph_server_type"] == "small"

    def members(group):
        return sorted(inventory.get(group, {}).get("hosts", []))
    assert members("app_shop") == ["shop-db"]
    assert members("application_shop") == ["shop-db"]              # keyed_groups
    assert members("component_Host") == members("component_Db") == ["shop-db"]
    assert members("pool_small") == ["shop-db", "spare-1"]
    assert members("status_running") + members("status_starting") != []


def _plain(value):
    """ansible-inventory marks plugin strings as unsafe: {"__ansible_unsafe": "x"} -> "x"."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# -- inventory_source without processes ----------------------------------------------------------


def test_join_by_server_name_when_no_provider_id_and_names_are_sanitised(workdir):
    with Store(str(workdir / "store.db")) as store:
        engine.add_application(store, str(workdir / "shop.app.yml"))
        _give_root_a_server(store, "shop", "/api-vm 1", {"provider": "ec2", "server": "web one"})
        ec2 = FakeProvider()
        ec2.add_server("web one", provider_id="i-1", state="starting", tags={"server_type": "c5.large"})
        [host] = inventory_hosts(store, [("ec2", ec2)])
    assert host["name"] == "web one"
    assert host["vars"]["appgraph_instance_path"] == "/api-vm 1"
    assert host["vars"]["appgraph_exports"] == {"/api-vm 1": {}, "/api-vm 1/api": {}}
    assert "ansible_connection" not in host["vars"]                  # not a local server
    assert sorted(host["groups"]) == ["app_shop", "component_Api", "component_Host", "pool_c5_large",
                                      "status_starting"]
    assert identifier("a-b.c d") == "a_b_c_d"


def test_a_server_of_another_provider_with_the_same_id_is_not_joined(workdir):
    with Store(str(workdir / "store.db")) as store:
        engine.add_application(store, str(workdir / "shop.app.yml"))
        _give_root_a_server(store, "shop", "/db-vm", {"provider": "local", "provider_id": "x1"})
        ec2 = FakeProvider()
        ec2.add_server("other", provider_id="x1")
        [host] = inventory_hosts(store, [("ec2", ec2)])
    assert "app_shop" not in host["groups"]


def test_cache_key_changes_with_the_store_and_the_providers(tmp_path):
    one = [("fake", FakeProvider("fake:account-1"))]
    two = [("fake", FakeProvider("fake:account-2"))]
    assert cache_key_suffix(str(tmp_path / "a.db"), one) == cache_key_suffix(str(tmp_path / "a.db"), one)
    assert cache_key_suffix(str(tmp_path / "a.db"), one) != cache_key_suffix(str(tmp_path / "b.db"), one)
    assert cache_key_suffix(str(tmp_path / "a.db"), one) != cache_key_suffix(str(tmp_path / "a.db"), two)
    # A password never reaches the key's input unredacted: two passwords, one key.
    assert cache_key_suffix("postgresql://u:secret1@h/db", one) == cache_key_suffix("postgresql://u:secret2@h/db", one)


def test_pool_servers_show_the_store_status_and_their_pool(tmp_path, local_root):
    """Servers of a pool (no application) are hosts grouped by pool and by the store's status,
    which knows more than the provider (a hanging server still runs, as far as it can tell)."""
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.pools import PoolService
    root = local_root
    dsn = str(tmp_path / "store.db")
    pools = PoolService(dsn, backoff_initial=0.02, backoff_max=0.2)
    provider = LocalProvider(root=root, stop_timeout=2.0)
    try:
        result = pools.ensure("web", 2, provider="local", provider_options={"root": root}, timeout=60)
        assert sorted(s["status"] for s in result.servers) == ["running", "running"]
        with Store(dsn) as store:
            first = sorted(s["name"] for s in result.servers)[0]
            store.db.execute("UPDATE servers SET status = 'hanging' WHERE name = ?", (first,))
            hosts = {h["name"]: h for h in inventory_hosts(store, [("local", provider.use_fleet(store.fleet))])}
        assert set(hosts) == {s["name"] for s in result.servers}
        assert hosts[first]["vars"]["appgraph_status"] == "hanging"
        assert hosts[first]["vars"]["appgraph_provider_state"] == "running"
        assert "status_hanging" in hosts[first]["groups"]
        assert all("pool_web" in h["groups"] and h["vars"]["appgraph_server_type"] == "web" for h in hosts.values())
    finally:
        pools.absent("web", provider="local", provider_options={"root": root}, timeout=60)
