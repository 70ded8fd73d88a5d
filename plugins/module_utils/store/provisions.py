# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provisions and their snapshots: every SQL statement about them (tables ``provisions`` and
``provision_snapshots``, migration 9).

Reads take a store connection (``store.db`` or ``tx.db``); writes take the transaction (``tx``),
whose ``now`` dates the row. What to write is decided in ``provisioning/``; nothing here decides.
A state change is compare-and-set on the state and the lease read before, so of two processes
working on one instance id, one wins each step and the other reads again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .backends import json_column

COLUMNS = ("instance_id", "owner", "provisioner", "config_path", "guest_location", "offerings", "operation", "state", "parts",
           "resource_uri", "error", "lease_owner", "lease_expires", "created_at", "updated_at", "state_changed_at")
_JSON = ("offerings", "parts")
_SELECT = "SELECT %s FROM provisions" % ", ".join(COLUMNS)
SNAPSHOT_COLUMNS = ("id", "instance_id", "path", "size", "sha256", "created_at", "expires_at")


@dataclass(frozen=True)
class ProvisionRow:
    instance_id: str
    owner: str
    provisioner: str
    config_path: str | None         # the provisioners file (reconcile reads it again to finish a crashed run)
    guest_location: str | None
    offerings: dict
    operation: str                  # provision or import: what made it
    state: str
    parts: dict                     # role -> what its sub-provisioner made (status, names, ...)
    resource_uri: str | None
    error: str | None
    lease_owner: str | None
    lease_expires: float | None
    created_at: float
    updated_at: float
    state_changed_at: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SnapshotRow:
    id: str
    instance_id: str
    path: str
    size: int
    sha256: str
    created_at: float
    expires_at: float | None        # pruned by reconcile after this (None: kept)


def _row(values) -> ProvisionRow:
    data = dict(zip(COLUMNS, values))
    for key in _JSON:
        data[key] = json_column(data[key])
    return ProvisionRow(**data)


def read(db, instance_id: str) -> ProvisionRow | None:
    rows = db.query(_SELECT + " WHERE instance_id = ?", (instance_id,))
    return _row(rows[0]) if rows else None


def select(db, states=None, instance_id: str | None = None) -> list:
    """Rows by instance id, optionally in some states."""
    sql, params = _SELECT + " WHERE 1 = 1", []
    if states:
        sql += " AND state IN (%s)" % ", ".join("?" * len(states))
        params.extend(states)
    if instance_id is not None:
        sql += " AND instance_id = ?"
        params.append(instance_id)
    return [_row(r) for r in db.query(sql + " ORDER BY instance_id", params)]


def with_part(db, key: str) -> list:
    """Rows whose parts have the key ``key`` (an export's record), by instance id."""
    rows = db.query(_SELECT + " WHERE parts LIKE ? ORDER BY instance_id", ('%%"%s"%%' % key,))
    return [row for row in map(_row, rows) if key in row.parts]


def count_on_server(db, server: str, part_statuses) -> int:
    """How many provisions have their instance on ``server`` (a pool's shared server), counting
    those whose instance part is in ``part_statuses``."""
    rows = db.query("SELECT parts FROM provisions WHERE parts LIKE ?", ("%" + server.replace("%", "") + "%",))
    count = 0
    for (parts,) in rows:
        instance = json.loads(parts).get("instance") or {}
        count += instance.get("server") == server and instance.get("status") in part_statuses
    return count


def insert(tx, row: dict) -> None:
    """A new row (``row``: the columns but the dates, which are the transaction's)."""
    values = dict(row, created_at=tx.now, updated_at=tx.now, state_changed_at=tx.now)
    values = {k: json.dumps(v, sort_keys=True) if k in _JSON else v for k, v in values.items()}
    tx.db.execute("INSERT INTO provisions (%s) VALUES (%s)" % (", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))),
                  [values.get(c) for c in COLUMNS])


def compare_and_set(tx, before: ProvisionRow, **columns) -> bool:
    """Write ``columns`` if the row is still in ``before``'s state with ``before``'s lease."""
    columns = {k: json.dumps(v, sort_keys=True) if k in _JSON else v for k, v in columns.items()}
    columns["updated_at"] = tx.now
    if "state" in columns and columns["state"] != before.state:
        columns["state_changed_at"] = tx.now
    assignments = ", ".join("%s = ?" % k for k in columns)
    lease_test = "lease_owner = ?" if before.lease_owner is not None else "lease_owner IS NULL"
    params = list(columns.values()) + [before.instance_id, before.state]
    params += [before.lease_owner] if before.lease_owner is not None else []
    cursor = tx.db.execute("UPDATE provisions SET %s WHERE instance_id = ? AND state = ? AND %s"
                           % (assignments, lease_test), params)
    return cursor.rowcount == 1


def update_parts(tx, instance_id: str, owner: str, parts: dict) -> bool:
    """The parts of the instance whose lease ``owner`` holds (a step's record, written before and after it)."""
    cursor = tx.db.execute("UPDATE provisions SET parts = ?, updated_at = ? WHERE instance_id = ? AND lease_owner = ?",
                           (json.dumps(parts, sort_keys=True), tx.now, instance_id, owner))
    return cursor.rowcount == 1


def delete(tx, instance_id: str) -> None:
    tx.db.execute("DELETE FROM provisions WHERE instance_id = ?", (instance_id,))


# -- snapshots ---------------------------------------------------------------------------------------------


def add_snapshot(tx, snapshot: SnapshotRow) -> None:
    tx.db.execute("INSERT INTO provision_snapshots (%s) VALUES (?, ?, ?, ?, ?, ?, ?)" % ", ".join(SNAPSHOT_COLUMNS),
                  [getattr(snapshot, c) for c in SNAPSHOT_COLUMNS])


def snapshots(db, instance_id: str | None = None, expired_at: float | None = None) -> list:
    """Snapshot rows, oldest first: of one instance, or (``expired_at``) those expired by then."""
    sql, params = "SELECT %s FROM provision_snapshots WHERE 1 = 1" % ", ".join(SNAPSHOT_COLUMNS), []
    if instance_id is not None:
        sql += " AND instance_id = ?"
        params.append(instance_id)
    if expired_at is not None:
        sql += " AND expires_at IS NOT NULL AND expires_at < ?"
        params.append(expired_at)
    return [SnapshotRow(*r) for r in db.query(sql + " ORDER BY created_at, id", params)]


def delete_snapshot(tx, snapshot_id: str) -> None:
    tx.db.execute("DELETE FROM provision_snapshots WHERE id = ?", (snapshot_id,))
