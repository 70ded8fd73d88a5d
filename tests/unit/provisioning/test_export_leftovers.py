# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An export killed (-9) in the middle: the row says exactly which staging folder and partial
archive it left, the next export (or reconcile) removes them and writes a complete snapshot, and a
live export's files are never removed by another process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import ConflictError, PermanentError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import provisions as sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

from .helpers import events_of, fill_tenant, manager, sqlite_dump, tree_state, write_config
from .test_crash_and_races import start_worker


@pytest.fixture
def tenant(tmp_path, local_root):
    """A provisioned tenant with data, whose database dump the export can be held in: (store, config, manager, parts)."""
    store, databases = str(tmp_path / "store.db"), tmp_path / "databases"
    config = write_config(tmp_path, local_root, database={"name": "held_dump", "options": {"directory": str(databases)}})
    m = manager(store, config)
    m.provision("acme", "shop1")
    parts = m.status("shop1")["provisions"][0]["parts"]
    fill_tenant(parts)
    return store, config, m, parts


def held_export(tmp_path, store: str, config: str, hold: str) -> subprocess.Popen:
    """A process exporting shop1, stalled in its database dump (``dump``) or in the archive (``archive``)."""
    databases = tmp_path / "databases"
    (databases / "shop1.hold").write_text(hold, encoding="utf-8")
    worker = start_worker(store, config, {"export": "shop1"})
    wait_until(lambda: (databases / "shop1.held").exists() or worker.poll() is not None, timeout=60,
               what="the export to stall in its database dump")
    assert worker.poll() is None, worker.communicate()
    (databases / "shop1.hold").unlink()                 # later exports run through
    return worker


def kill(worker: subprocess.Popen) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()


def row_of(store: str, instance_id: str = "shop1"):
    with Store(store) as opened:
        return sql.read(opened.db, instance_id)


def snapshot_files(tmp_path) -> set:
    return set(os.listdir(tmp_path / "snapshots"))


def assert_importable(m, path: str, parts: dict, as_id: str = "copy1") -> None:
    """The snapshot ``path`` imports as a new tenant with shop1's files and database (but the
    database's credentials, which name the new tenant's own)."""
    back = m.import_snapshot("acme", as_id, path)
    assert back["provision"]["state"] == "provisioned", back.get("error")
    copy = m.status(as_id)["provisions"][0]["parts"]
    copied, original = (tree_state(p["storage"]["path"]) for p in (copy, parts))
    credentials = os.path.join("private", ".database.json")
    assert copied.keys() == original.keys()
    assert {k: v for k, v in copied.items() if k != credentials} == {k: v for k, v in original.items() if k != credentials}
    assert sqlite_dump(copy["database"]["path"]) == sqlite_dump(parts["database"]["path"])


@pytest.mark.parametrize("hold", ["dump", "archive"])
def test_the_next_export_removes_what_a_killed_export_left(tmp_path, tenant, hold):
    store, config, m, parts = tenant
    worker = held_export(tmp_path, store, config, hold)
    kill(worker)
    row = row_of(store)
    record = row.parts["export"]
    # What the store says after the kill is what is on disk: the staging folder, and the partial
    # archive once the archive was begun; no archive, no snapshot row.
    left = [record["staging"]] + ([record["partial"]] if hold == "archive" else [])
    assert row.state == "provisioned" and row.lease_owner == record["owner"]
    assert record["owner"].startswith("%s:%d:" % (socket.gethostname(), worker.pid))
    assert snapshot_files(tmp_path) == {os.path.basename(p) for p in left}
    assert os.path.isdir(record["staging"]) and os.path.exists(record["partial"]) == (hold == "archive")
    assert not os.path.exists(record["path"])
    status = m.status("shop1")
    assert status["provisions"][0]["export"] == record and status["snapshots"] == []

    exported = m.export("shop1")
    path = exported["snapshot"]["path"]
    assert snapshot_files(tmp_path) == {os.path.basename(path)}         # the leftovers are gone
    status = m.status("shop1")
    assert "export" not in status["provisions"][0] and [s["path"] for s in status["snapshots"]] == [path]
    assert "export" not in row_of(store).parts and row_of(store).lease_owner is None
    swept = [e for e in events_of(store, "shop1") if e.kind == "export_interrupted"]
    assert len(swept) == 1 and swept[0].data["removed"] == left and swept[0].data["stuck"] == []
    assert swept[0].data["snapshot"] == {"id": record["snapshot_id"], "path": record["path"]}
    assert_importable(m, path, parts)


def test_reconcile_removes_what_a_killed_export_left_once(tmp_path, tenant):
    store, config, m, _parts = tenant
    kill(held_export(tmp_path, store, config, "archive"))
    record = row_of(store).parts["export"]
    planned = m.reconcile(check_mode=True)
    assert planned["cleaned"] == [{"instance_id": "shop1", "snapshot_id": record["snapshot_id"],
                                   "removed": [record["staging"], record["partial"]], "stuck": []}]
    assert os.path.isdir(record["staging"]) and os.path.exists(record["partial"])    # check mode removes nothing
    done = m.reconcile()
    assert done["changed"] and done["failed"] == [] and done["recovered"] == []
    assert done["cleaned"] == planned["cleaned"]
    assert snapshot_files(tmp_path) == set() and "export" not in row_of(store).parts
    assert m.reconcile()["cleaned"] == []             # once


def test_a_live_export_keeps_its_files_whatever_another_process_does(tmp_path, tenant):
    store, config, m, parts = tenant
    worker = held_export(tmp_path, store, config, "archive")
    record = row_of(store).parts["export"]
    live = {record["staging"], record["partial"]}
    assert {os.path.join(tmp_path, "snapshots", name) for name in snapshot_files(tmp_path)} == live
    # This process (not the exporter) sweeps, reconciles, and exports another tenant into the same
    # folder: the live export's files stay.
    with pytest.raises(ConflictError):
        m.export("shop1")
    with pytest.raises(ConflictError):
        m.deprovision("shop1")
    assert m.reconcile()["cleaned"] == [] and m.reconcile(check_mode=True)["cleaned"] == []
    m.provision("acme", "shop2")
    other = m.export("shop2")["snapshot"]["path"]
    assert all(os.path.exists(p) for p in live) and row_of(store).parts["export"] == record
    (tmp_path / "databases" / "shop1.go").write_text("", encoding="utf-8")
    out, err = worker.communicate(timeout=120)
    answer = json.loads(out)
    assert "result" in answer, (answer, err)
    path = answer["result"]["snapshot"]["path"]
    assert path == record["path"] and snapshot_files(tmp_path) == {os.path.basename(path), os.path.basename(other)}
    assert "export" not in row_of(store).parts
    assert [e.kind for e in events_of(store, "shop1")].count("export_interrupted") == 0
    assert_importable(m, path, parts)


def dead_owner() -> str:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    return "%s:%s:deadbeef" % (socket.gethostname(), child.stdout.strip())


def test_an_archive_renamed_but_never_recorded_is_removed_and_no_other(tmp_path, tenant):
    """A run killed between the rename of its archive and the transaction recording it leaves a
    complete archive no snapshot row has: its record names it and its manifest has the record's id.
    An archive of another snapshot at that path is not the dead run's and stays."""
    store, _config, m, _parts = tenant
    kept = m.export("shop1")["snapshot"]
    owner = dead_owner()
    with Store(store) as opened, opened.transaction(None) as tx:
        row = sql.read(tx.db, "shop1")
        record = {"snapshot_id": "f" * 32, "owner": owner, "path": kept["path"],
                  "staging": str(tmp_path / "snapshots" / ".export-gone"), "partial": kept["path"] + ".partial-gone"}
        sql.compare_and_set(tx, row, lease_owner=owner, lease_expires=tx.now + 3600, parts=dict(row.parts, export=record))
    assert m.reconcile()["cleaned"] == [{"instance_id": "shop1", "snapshot_id": "f" * 32, "removed": [], "stuck": []}]
    assert os.path.exists(kept["path"])                 # another snapshot's archive

    with Store(store) as opened, opened.transaction(None) as tx:
        row = sql.read(tx.db, "shop1")
        sql.delete_snapshot(tx, kept["id"])
        record = dict(record, snapshot_id=kept["id"])
        sql.compare_and_set(tx, row, lease_owner=owner, lease_expires=tx.now + 3600, parts=dict(row.parts, export=record))
    assert m.status("shop1")["provisions"][0]["export"] == record
    exported = m.export("shop1")["snapshot"]["path"]    # the next export sweeps first
    assert not os.path.exists(kept["path"]) and snapshot_files(tmp_path) == {os.path.basename(exported)}
    removed = [e.data["removed"] for e in events_of(store, "shop1") if e.kind == "export_interrupted"]
    assert removed == [[], [kept["path"]]]


def test_leftovers_that_cannot_be_removed_stay_named_and_stop_the_next_export(tmp_path, tenant):
    store, _config, m, _parts = tenant
    owner, staging, unremovable = dead_owner(), tmp_path / "snapshots" / ".export-stuck", "/proc/version"
    staging.mkdir(parents=True)
    with Store(store) as opened, opened.transaction(None) as tx:
        row = sql.read(tx.db, "shop1")
        record = {"snapshot_id": "e" * 32, "owner": owner, "path": str(tmp_path / "snapshots" / "never.tar"),
                  "staging": str(staging), "partial": unremovable}       # not even root removes that one
        sql.compare_and_set(tx, row, lease_owner=owner, lease_expires=tx.now + 3600, parts=dict(row.parts, export=record))
    cleaned = m.reconcile()["cleaned"]
    assert [(c["removed"], [s["path"] for s in c["stuck"]]) for c in cleaned] == [([str(staging)], [unremovable])]
    left = m.status("shop1")["provisions"][0]["export"]
    assert left["partial"] == unremovable and [s["path"] for s in left["stuck"]] == [unremovable]
    assert not staging.exists() and row_of(store).lease_owner is None
    with pytest.raises(PermanentError, match="cannot be removed: /proc/version"):
        m.export("shop1")
    assert snapshot_files(tmp_path) == set()
    assert m.deprovision("shop1")["provision"]["state"] == "deprovisioned"      # the record stays named
    assert row_of(store).parts["export"]["partial"] == unremovable
