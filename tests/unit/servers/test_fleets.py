"""Two stores on one machine (or one cloud account) never share a server.

Reproduced on the old code: store A made pool ``web`` with 3 servers; store B asked for pool
``web`` with 2 and reported ``web-1`` and ``web-2`` started (it had taken A's); B's ``absent``
deleted them, while A still reported three running, even after ``reconcile``. Each store has a
fleet identity now, carried into everything its providers make.
"""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.inventory import inventory_hosts
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.reconcile import reconcile
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.registry import get_provider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.pools import PoolService
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store


def fleet_of(dsn):
    with Store(dsn) as store:
        return store.fleet


def test_a_store_is_given_a_fleet_once_and_keeps_it(tmp_path):
    first = fleet_of(str(tmp_path / "a.db"))
    assert first == fleet_of(str(tmp_path / "a.db")) != fleet_of(str(tmp_path / "b.db"))


@pytest.fixture(params=["local", "ec2"])
def provider(request, tmp_path, local_root):
    """``(provider name, options)``: real local servers, or EC2 instances of a moto server."""
    if request.param == "local":
        return "local", {"root": local_root, "heartbeat_interval": 1}
    moto_url = request.getfixturevalue("moto_url")
    image_id = request.getfixturevalue("image_id")
    return "ec2", {"endpoint_url": moto_url, "image_id": image_id, "account": "moto"}


def running(dsn, pool="web"):
    return sorted(s["name"] for s in PoolService(dsn).status(pool)["servers"] if s["status"] == "running")


def test_two_stores_with_one_pool_name_keep_their_own_servers(tmp_path, provider):
    name, options = provider
    store_a, store_b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    a = PoolService(store_a, backoff_initial=0.01, backoff_max=0.1)
    b = PoolService(store_b, backoff_initial=0.01, backoff_max=0.1)
    assert a.ensure("web", 3, name, options, timeout=60).counts == {"running": 3}
    made_b = b.ensure("web", 2, name, options, timeout=60)
    assert made_b.started == ["web-1", "web-2"] and made_b.counts == {"running": 2}   # its own, made anew
    ids_a = {s["provider_id"] for s in a.status("web")["servers"]}
    ids_b = {s["provider_id"] for s in made_b.servers}
    if name == "ec2":
        assert not ids_a & ids_b                  # other instances (local ids are names, in other folders)

    gone = b.absent("web", name, options, timeout=60)
    assert gone.failed_servers == [] and gone.counts == {}
    reconcile(store_a, applications=False)
    assert running(store_a) == ["web-1", "web-2", "web-3"]
    seen_by_a = get_provider(name, options).use_fleet(fleet_of(store_a))
    assert sorted(s.name for s in seen_by_a.list_servers()) == ["web-1", "web-2", "web-3"]
    assert all(s.state in ("running", "starting") for s in seen_by_a.list_servers())
    a.absent("web", name, options, timeout=60)
    assert get_provider(name, options).use_fleet(ALL_FLEETS).list_servers() == []


def test_the_inventory_of_a_store_lists_its_own_fleet(tmp_path, local_root):
    options = {"root": local_root, "heartbeat_interval": 1}
    store_a, store_b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    a = PoolService(store_a, backoff_initial=0.01, backoff_max=0.1)
    b = PoolService(store_b, backoff_initial=0.01, backoff_max=0.1)
    try:
        a.ensure("web", 2, "local", options, timeout=60)
        b.ensure("db", 1, "local", options, timeout=60)
        with Store(store_a) as store:
            own = inventory_hosts(store, [("local", get_provider("local", options).use_fleet(store.fleet))])
            every = inventory_hosts(store, [("local", get_provider("local", options).use_fleet(ALL_FLEETS))])
        assert sorted(h["name"] for h in own) == ["web-1", "web-2"]
        assert sorted(h["name"] for h in every) == ["db-1", "web-1", "web-2"]
    finally:
        a.absent("web", "local", options, timeout=60)
        b.absent("db", "local", options, timeout=60)
