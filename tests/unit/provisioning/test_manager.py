# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provision manager's four services on real local servers, real trees and real SQLite files."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, InputErrors
from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.schema import ROLES
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import provisions as sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from .helpers import events_of, fill_tenant, manager, sqlite_dump, tree_state, write_config


@pytest.fixture
def setup(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    return store, write_config(tmp_path, local_root)


def test_provision_makes_every_part_and_is_idempotent(setup):
    store, config = setup
    m = manager(store, config)
    result = m.provision("acme", "shop1", offerings={"version": "2.0"})
    assert result["changed"] and result["provision"]["state"] == "provisioned"
    parts = m.status("shop1")["provisions"][0]["parts"]
    assert {role: p["status"] for role, p in parts.items()} == dict.fromkeys(ROLES, "made")
    assert result["provision"]["resource_uri"] == "http://127.0.0.1/shop1/"
    for area, mode in (("private", 0o700), ("owner-private", 0o700), ("packages", 0o755), ("public", 0o755)):
        assert stat.S_IMODE(os.stat(os.path.join(parts["storage"]["path"], area)).st_mode) == mode
    assert parts["storage"]["path"].startswith(parts["instance"]["home"])   # on the server's own folder
    credentials = os.path.join(parts["storage"]["path"], "private", ".database.json")
    assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600
    assert result["events"] == ["instance.provisioned", "storage.provisioned", "database.provisioned", "provisioned"]
    event = events_of(store, "shop1")[-1]
    assert event.kind == "provisioned" and event.data["request"] == {
        "owner": "acme", "instance_id": "shop1", "provisioner": "dreamfactory", "guest_location": None,
        "offerings": {"version": "2.0"}}
    again = m.provision("acme", "shop1", offerings={"version": "2.0"})
    assert again["changed"] is False and again["events"] == []
    with pytest.raises(InputError, match="belongs to the owner 'acme'"):
        m.provision("other", "shop1")


def test_offerings_are_checked_at_provision_time(setup):
    store, config = setup
    m = manager(store, config)
    with pytest.raises(InputErrors) as caught:
        m.provision("acme", "shop1", offerings={"version": "3.0", "colour": "red"})
    keys = sorted(e.key for e in caught.value.errors)
    assert keys == ["offerings.colour", "offerings.version"]
    with Store(store) as opened:
        assert sql.read(opened.db, "shop1") is None         # nothing written


def test_check_mode_plans_and_writes_nothing(setup):
    store, config = setup
    m = manager(store, config)
    plan = m.provision("acme", "shop1", check_mode=True)
    assert plan["changed"] and [line.split(":")[0] for line in plan["plan"]] == ["instance", "storage", "database"]
    assert m.status()["provisions"] == [] and events_of(store, "shop1") == []


def test_round_trip_restores_identical_storage_and_database(setup):
    store, config = setup
    m = manager(store, config)
    parts = m.provision("acme", "shop1")["provision"]["parts"]
    parts = m.status("shop1")["provisions"][0]["parts"]
    fill_tenant(parts)
    tree_before, db_before = tree_state(parts["storage"]["path"]), sqlite_dump(parts["database"]["path"])

    exported = m.export("shop1")
    snapshot = exported["snapshot"]
    assert os.path.exists(snapshot["path"]) and stat.S_IMODE(os.stat(snapshot["path"]).st_mode) == 0o600
    assert exported["events"] == ["storage.exported", "database.exported", "exported"]
    assert set(snapshot["manifest"]["parts"]) == {"storage", "database"}
    assert snapshot["manifest"]["offerings"] == {"version": "2.1"}

    gone = m.deprovision("shop1")
    assert gone["events"] == ["database.deprovisioned", "storage.deprovisioned", "instance.deprovisioned",
                              "deprovisioned"]
    assert not os.path.exists(parts["storage"]["path"]) and not os.path.exists(parts["database"]["path"])

    back = m.import_snapshot("acme", "shop1", snapshot["path"])
    assert back["provision"]["state"] == "provisioned", back.get("error")
    assert back["events"] == ["instance.imported", "storage.imported", "database.imported", "imported"]
    after = m.status("shop1")["provisions"][0]["parts"]
    assert tree_state(after["storage"]["path"]) == tree_before
    assert sqlite_dump(after["database"]["path"]) == db_before
    assert m.import_snapshot("acme", "shop1", snapshot["path"])["changed"] is False   # idempotent
    assert [d for d in os.listdir(os.path.dirname(snapshot["path"])) if d.startswith(".")] == []  # no staging left


def test_deprovision_can_keep_the_database(setup):
    store, config = setup
    m = manager(store, config)
    m.provision("acme", "shop1")
    parts = m.status("shop1")["provisions"][0]["parts"]
    fill_tenant(parts)
    result = m.deprovision("shop1", keep_database=True)
    assert result["provision"]["parts"]["database"]["status"] == "kept"
    assert os.path.exists(parts["database"]["path"]) and not os.path.exists(parts["storage"]["path"])
    assert m.deprovision("shop1")["changed"] is False


def test_a_failed_provision_rolls_back_each_part_once_in_reverse_order(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    config = write_config(tmp_path, local_root, storage={"name": "counted_tree", "options": {"root": str(tmp_path)}},
                          database={"name": "failing", "options": {"directory": str(tmp_path / "databases")}})
    m = manager(store, config)
    result = m.provision("acme", "shop1")
    assert result["provision"]["state"] == "provisioning_error"
    assert "the database server refused the tenant" in result["error"] and result["not_undone"] == []
    row = m.status("shop1")["provisions"][0]
    assert {r: p["status"] for r, p in row["parts"].items()} == dict.fromkeys(ROLES, "undone")
    with open(row["parts"]["storage"]["path"] + ".undone", encoding="utf-8") as handle:
        assert handle.read() == "undo\n"                  # DFE undid the storage twice
    assert not os.path.exists(row["parts"]["database"]["path"])
    assert not os.path.exists(row["parts"]["storage"]["path"])
    with Store(store) as opened:
        server = opened.db.query("SELECT status FROM servers WHERE name = 'tenant-shop1'")[0][0]
    assert server == "deleted"
    kinds = [e.kind for e in events_of(store, "shop1")]
    assert "provisioned" not in kinds and "database.provisioned" not in kinds


def test_a_rollback_says_what_it_could_not_undo_and_the_next_call_finishes_it(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    config = write_config(tmp_path, local_root, storage={"name": "stubborn_tree", "options": {"root": str(tmp_path)}},
                          database={"name": "failing", "options": {"directory": str(tmp_path / "databases")}})
    m = manager(store, config)
    tree = str(tmp_path / "tenants" / "shop1")
    os.makedirs(os.path.dirname(tree))
    with open(tree + ".stuck", "w", encoding="utf-8"):
        pass
    result = m.provision("acme", "shop1")
    assert [n["role"] for n in result["not_undone"]] == ["storage"]
    assert "could not undo: storage stubborn_tree" in result["error"]
    row = m.status("shop1")["provisions"][0]
    assert row["state"] == "provisioning_error" and row["error"] == result["error"]
    expected = {"instance": "undone", "storage": "undo_failed", "database": "undone"}
    assert {r: p["status"] for r, p in row["parts"].items()} == expected
    again = m.provision("acme", "shop1")    # the leftovers first: still stuck, so nothing new is made
    assert "earlier parts still cannot be undone" in again["error"]
    assert m.status("shop1")["provisions"][0]["state"] == "provisioning_error"
    os.remove(tree + ".stuck")
    gone = m.deprovision("shop1")
    assert gone["provision"]["state"] == "deprovisioned"
    assert not os.path.exists(tree)


def test_export_needs_a_provisioned_instance(setup):
    store, config = setup
    m = manager(store, config)
    with pytest.raises(InputError, match="not provisioned"):
        m.export("nobody")


def test_bad_ids_are_refused_with_the_key(setup):
    store, config = setup
    m = manager(store, config)
    for owner, instance_id, key in (("acme", "../etc", "instance_id"), ("a b", "shop1", "owner"),
                                    ("acme", "x" * 65, "instance_id")):
        with pytest.raises(InputError) as caught:
            m.provision(owner, instance_id)
        assert caught.value.key == key


@pytest.mark.parametrize("suffix, magic", [(".tar", None), (".tar.gz", b"\x1f\x8b"), (".tar.zst", b"\x28\xb5\x2f\xfd")])
def test_each_compression_round_trips_and_is_read_by_its_first_bytes(setup, tmp_path, suffix, magic):
    store, config = setup
    m = manager(store, config)
    m.provision("acme", "shop1")
    parts = m.status("shop1")["provisions"][0]["parts"]
    fill_tenant(parts)
    tree_before, db_before = tree_state(parts["storage"]["path"]), sqlite_dump(parts["database"]["path"])
    written = m.export("shop1", destination=str(tmp_path / ("out" + suffix)))["snapshot"]["path"]
    with open(written, "rb") as handle:
        head = handle.read(4)
    assert head.startswith(magic) if magic else head[:2] not in (b"\x1f\x8b", b"\x28\xb5")
    renamed = str(tmp_path / "renamed.bin")          # the name says nothing: the first bytes do
    os.rename(written, renamed)
    m.deprovision("shop1")
    back = m.import_snapshot("acme", "shop1", renamed)
    assert back["provision"]["state"] == "provisioned", back.get("error")
    after = m.status("shop1")["provisions"][0]["parts"]
    assert tree_state(after["storage"]["path"]) == tree_before
    assert sqlite_dump(after["database"]["path"]) == db_before
