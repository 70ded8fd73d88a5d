# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server rows and pool counters: every SQL statement about servers (tables ``servers``, ``server_types``).

Reads take a store connection (``store.db``, or ``tx.db`` inside a transaction); writes take the
transaction (``tx``), whose ``now`` dates the row. The flows that decide what to write are in
``servers/``; nothing here decides anything.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..model.statuses import DELETED, RUNNING, TRANSITIVE
from .backends import advisory_key, json_column

COLUMNS = ("id", "name", "server_type", "provider", "provider_options", "provider_identity", "provider_id",
           "client_token", "generation", "status", "previous_status", "address", "tags", "application",
           "instance_path", "error", "created_at", "updated_at", "status_changed_at", "reboot_requested", "fleet")
_JSON_COLUMNS = ("provider_options", "tags")
_SELECT = "SELECT %s FROM servers" % ", ".join(COLUMNS)
_INSERT = ("INSERT INTO servers (name, server_type, provider, provider_options, provider_identity, client_token, "
           "generation, status, tags, application, instance_path, created_at, updated_at, status_changed_at, fleet) "
           "VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)")
_CHUNK = 500        # names per statement: SQLite takes at most 999 parameters


@dataclass(frozen=True)
class ServerRow:
    id: int
    name: str
    server_type: str
    provider: str
    provider_options: dict
    provider_identity: str | None
    provider_id: str | None
    client_token: str
    generation: int
    status: str
    previous_status: str | None
    address: str | None
    tags: dict = field(default_factory=dict)
    application: str | None = None
    instance_path: str | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    status_changed_at: float = 0.0
    reboot_requested: bool = False
    fleet: str | None = None            # the store's fleet it was made for (None: before fleets)

    def as_dict(self) -> dict:
        """The row as plain data, without the provider options (they may hold credentials)."""
        out = asdict(self)
        del out["provider_options"]
        return out


@dataclass(frozen=True)
class NewServer:
    """What a new row holds (status ``new``, generation 0)."""

    name: str
    server_type: str
    provider: str
    provider_options: dict
    provider_identity: str | None
    client_token: str
    tags: dict
    application: str | None = None
    instance_path: str | None = None
    fleet: str | None = None


def _row(values) -> ServerRow:
    data = dict(zip(COLUMNS, values))
    for key in _JSON_COLUMNS:
        data[key] = json_column(data[key])
    data["reboot_requested"] = bool(data["reboot_requested"])
    return ServerRow(**data)


def _value(key: str, value):
    if key in _JSON_COLUMNS:
        return json.dumps(value, sort_keys=True)
    if key == "reboot_requested":
        return 1 if value else 0
    return value


def _marks(items) -> str:
    return ", ".join("?" * len(items))


def _chunks(items: list):
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


# -- reading ---------------------------------------------------------------------------------------

def read(db, name: str) -> ServerRow | None:
    rows = db.query(_SELECT + " WHERE name = ?", (name,))
    return _row(rows[0]) if rows else None


def read_many(db, names: list) -> list:
    """The rows of ``names`` (those that exist), in the order they were made."""
    rows = [_row(r) for chunk in _chunks(list(names)) for r in db.query(
        _SELECT + " WHERE name IN (%s)" % _marks(chunk), chunk)]
    return sorted(rows, key=lambda r: r.id)


def select(db, server_type: str | None = None, statuses=None, application: str | None = None) -> list:
    """Rows, oldest first, optionally of one server type, in some statuses, of one application."""
    sql, params = _SELECT + " WHERE 1 = 1", []
    if server_type is not None:
        sql += " AND server_type = ?"
        params.append(server_type)
    if application is not None:
        sql += " AND application = ?"
        params.append(application)
    if statuses is not None:
        statuses = list(statuses)
        sql += " AND status IN (%s)" % _marks(statuses) if statuses else " AND 1 = 0"
        params.extend(statuses)
    return [_row(r) for r in db.query(sql + " ORDER BY created_at, id", params)]


def live(db) -> list:
    """Every row that is not deleted."""
    return [_row(r) for r in db.query(_SELECT + " WHERE status <> ? ORDER BY id", (DELETED,))]


def pool(db, server_type: str) -> list:
    """The rows of a pool (servers of no application) that are not deleted, oldest first."""
    return [_row(r) for r in db.query(_SELECT + " WHERE server_type = ? AND application IS NULL AND status <> ? "
                                      "ORDER BY created_at, id", (server_type, DELETED))]


def pools(db) -> list:
    """The rows of every pool, by pool, oldest first."""
    return [_row(r) for r in db.query(
        _SELECT + " WHERE application IS NULL AND status <> ? AND server_type IN (SELECT name FROM server_types) "
        "ORDER BY server_type, created_at, id", (DELETED,))]


def _pending_where() -> tuple:
    statuses = sorted(TRANSITIVE)
    return "status IN (%s) OR (status = ? AND reboot_requested = 1)" % _marks(statuses), statuses + [RUNNING]


def pending(db) -> list:
    """Rows a verification step is due for: transitive ones, and running ones with a reboot requested."""
    where, params = _pending_where()
    return [_row(r) for r in db.query(_SELECT + " WHERE " + where + " ORDER BY id", params)]


def count_pending(db) -> int:
    where, params = _pending_where()
    return db.query("SELECT COUNT(*) FROM servers WHERE " + where, params)[0][0]


def stale(db, since: float) -> list:
    """Rows in a transitive status whose status changed at ``since`` or earlier (hanging ones)."""
    statuses = sorted(TRANSITIVE)
    return [_row(r) for r in db.query(_SELECT + " WHERE status IN (%s) AND status_changed_at <= ? ORDER BY id"
                                      % _marks(statuses), statuses + [since])]


def deleted_before(db, before: float) -> list:
    """Names of deleted rows whose status changed strictly before ``before``."""
    return sorted(n for (n,) in db.query("SELECT name FROM servers WHERE status = ? AND status_changed_at < ?",
                                         (DELETED, before)))


def account_count(db, identity: str | None, provider: str | None = None) -> int:
    """Rows that exist at a provider account (every status but deleted), whatever their pool; by
    provider name when the account is not known yet."""
    if identity is not None:
        column, value = "provider_identity", identity
    else:
        column, value = "provider", provider
    return db.query("SELECT COUNT(*) FROM servers WHERE %s = ? AND status <> ?" % column, (value, DELETED))[0][0]


def taken(db, names: list) -> set:
    """Which of ``names`` a row (any status) holds already."""
    return {n for chunk in _chunks(list(names)) for (n,) in db.query(
        "SELECT name FROM servers WHERE name IN (%s)" % _marks(chunk), chunk)}


def server_type(db, name: str):
    """``(next_number, provider, provider_identity)`` of a pool, or None."""
    rows = db.query("SELECT next_number, provider, provider_identity FROM server_types WHERE name = ?", (name,))
    return tuple(rows[0]) if rows else None


def server_types(db, name: str | None = None) -> list:
    """``[(name, provider)]`` of every pool (or of the one called ``name``)."""
    if name is not None:
        return [tuple(r) for r in db.query("SELECT name, provider FROM server_types WHERE name = ?", (name,))]
    return [tuple(r) for r in db.query("SELECT name, provider FROM server_types ORDER BY name")]


# -- writing (inside a transaction) ------------------------------------------------------------------

def insert(tx, new: NewServer) -> bool:
    """Write ``new`` (status ``new``) unless a row of that name exists; True when it was written."""
    cur = tx.db.execute(_INSERT + " ON CONFLICT (name) DO NOTHING", _insert_values(tx, new))
    return cur.rowcount == 1


def insert_many(tx, rows: list) -> None:
    tx.db.executemany(_INSERT, [_insert_values(tx, new) for new in rows])


def _insert_values(tx, new: NewServer) -> tuple:
    return (new.name, new.server_type, new.provider, _value("provider_options", new.provider_options),
            new.provider_identity, new.client_token, "new", _value("tags", new.tags), new.application,
            new.instance_path, tx.now, tx.now, tx.now, new.fleet)


def update(tx, row_id: int, **columns) -> None:
    """Change columns of a row (no status check)."""
    values = dict(columns, updated_at=tx.now)
    tx.db.execute("UPDATE servers SET %s WHERE id = ?" % ", ".join("%s = ?" % k for k in values),
                  [_value(k, v) for k, v in values.items()] + [row_id])


def compare_and_set(tx, row: ServerRow, **columns) -> bool:
    """Write ``columns`` if the row still has the status and generation it was read with."""
    cur = tx.db.execute("UPDATE servers SET %s WHERE id = ? AND status = ? AND generation = ?"
                        % ", ".join("%s = ?" % k for k in columns),
                        [_value(k, v) for k, v in columns.items()] + [row.id, row.status, row.generation])
    return cur.rowcount == 1


def flag_reboot(tx, row_ids: list) -> None:
    tx.db.executemany("UPDATE servers SET reboot_requested = 1, updated_at = ? WHERE id = ?",
                      [(tx.now, row_id) for row_id in row_ids])


def prune(tx, before: float) -> list:
    """Delete the deleted rows whose status changed strictly before ``before``; their names."""
    return sorted(n for (n,) in tx.db.query("DELETE FROM servers WHERE status = ? AND status_changed_at < ? "
                                            "RETURNING name", (DELETED, before)))


def lock_account(tx, identity: str) -> None:
    """Serialise the decisions about one provider account: SQLite's write lock does already; on
    PostgreSQL an advisory lock for the transaction."""
    if tx.db.dialect == "postgresql":
        tx.db.execute("SELECT pg_advisory_xact_lock(?)", (advisory_key("pool", identity),))


def claim_numbers(tx, name: str, provider: str, identity: str | None, count: int) -> int:
    """The first of ``count`` numbers a pool hands out now (never again: the counter moves on)."""
    tx.db.execute("INSERT INTO server_types (name, provider, provider_identity, next_number, created_at, "
                  "updated_at) VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (name) DO NOTHING",
                  (name, provider, identity, tx.now, tx.now))
    number = tx.db.query("SELECT next_number FROM server_types WHERE name = ?", (name,))[0][0]
    tx.db.execute("UPDATE server_types SET next_number = ?, provider = ?, provider_identity = ?, updated_at = ? "
                  "WHERE name = ?", (number + count, provider, identity, tx.now, name))
    return number
