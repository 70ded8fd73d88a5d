# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reserves and their clones: every SQL statement about them (tables ``reserves``, ``clones``,
migration 7), and the transaction that serialises the decisions about one reserve.

Reads take a store connection (``store.db``, or ``tx.db``); writes take the transaction (``tx``),
whose ``now`` dates the row. What to write is decided in ``reserves/``; nothing here decides.

A clone row is joined with its server row (same ``name``) when read, so a clone says its address
and server status without a second query.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from .backends import advisory_key
from .store import Store, Transaction

RESERVE_COLUMNS = ("name", "settings", "provider", "provider_options", "provider_identity", "source", "template",
                   "template_digest", "next_clone_id", "hits", "misses", "created_at", "updated_at")
CLONE_COLUMNS = ("id", "reserve", "name", "clone_id", "state", "alias", "application", "template_digest", "fallback",
                 "reason", "error", "lease_owner", "lease_expires", "created_at", "ready_at", "claimed_at",
                 "migrated_at", "state_changed_at", "updated_at")
_SELECT_RESERVE = "SELECT %s FROM reserves" % ", ".join(RESERVE_COLUMNS)
_SELECT_CLONE = ("SELECT %s, s.address, s.status FROM clones c LEFT JOIN servers s ON s.name = c.name"
                 % ", ".join("c." + c for c in CLONE_COLUMNS))
_ORDER = " ORDER BY c.created_at, c.id"
_CHUNK = 500        # names per statement: SQLite takes at most 999 parameters


@dataclass(frozen=True)
class ReserveRow:
    name: str
    settings: dict
    provider: str
    provider_options: dict
    provider_identity: str | None
    source: str | None
    template: dict | None           # the template application's document; None: clones are bare servers
    template_digest: str
    next_clone_id: int
    hits: int
    misses: int
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class CloneRow:
    id: int
    reserve: str
    name: str                       # the server's name (and the clone's first application name)
    clone_id: int | None            # N of <clone_prefix>N; None for a fallback create
    state: str
    alias: str | None               # the permanent name it was claimed under
    application: str | None         # its application now; None: a bare server
    template_digest: str
    fallback: bool
    reason: str | None              # why it is being deleted
    error: str | None
    lease_owner: str | None
    lease_expires: float | None
    created_at: float
    ready_at: float | None
    claimed_at: float | None
    migrated_at: float | None
    state_changed_at: float
    updated_at: float
    address: str | None = None      # from its server row
    server_status: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class NewClone:
    reserve: str
    name: str
    clone_id: int | None
    state: str
    template_digest: str
    application: str | None = None
    alias: str | None = None
    fallback: bool = False
    lease_owner: str | None = None
    lease_expires: float | None = None


def _reserve(values) -> ReserveRow:
    data = dict(zip(RESERVE_COLUMNS, values))
    for key in ("settings", "provider_options"):
        data[key] = json.loads(data[key])
    data["template"] = json.loads(data["template"]) if data["template"] else None
    return ReserveRow(**data)


def _clone(values) -> CloneRow:
    data = dict(zip(CLONE_COLUMNS + ("address", "server_status"), values))
    data["fallback"] = bool(data["fallback"])
    return CloneRow(**data)


def _marks(items) -> str:
    return ", ".join("?" * len(items))


# -- the transaction ---------------------------------------------------------------------------------

def reserve_transaction(store: Store, reserve: str, name: str | None = None):
    """A write transaction serialised with every other one about ``reserve`` (claims, refill
    decisions, clone state changes) and, with ``name``, about that permanent name (two claims of
    one name from two reserves).

    On PostgreSQL: advisory locks for the transaction (the reserve's, then the name's: always in
    that order), so that these transactions queue behind each other and nothing else
    (``transaction(None)`` would take the store-wide writer lock, and the server flows of every
    pool would queue with them). On SQLite: the database write lock (``BEGIN IMMEDIATE``), waited
    for by SQLite's busy handler. (Two ways to wait that looked better were measured worse with 8
    racing processes on 2 cores, see bench/RESULTS.md: a lock file queueing the processes fairly,
    p99 45 ms, each hand-over a context switch; retrying every 0.2-2 ms, p99 70 ms, the waiters'
    polling taking the CPU from the holder. The busy handler's long sleeps leave it to the holder:
    p99 11-12 ms.) Events appended here have no application: their data names the reserve."""
    return _locked(store, [("reserve", reserve)] + ([("name", name)] if name is not None else []))


def claim_transaction(store: Store, name: str):
    """The transaction of one claim of ``name``: serialised with every other transaction about
    that name (claims, releases), and on SQLite with every reserve transaction (as
    ``reserve_transaction``). On PostgreSQL claims of different names run side by side: each takes
    its clone with ``FOR UPDATE SKIP LOCKED`` (``take_ready``) and touches no row another claim
    needs, so none waits for another (8 processes queueing on the reserve's lock: p50 50 ms)."""
    return _locked(store, [("name", name)])


@contextmanager
def _locked(store: Store, locks: list):
    db = store.db
    if db.dialect == "postgresql":
        # One round trip: the keys are integers of ours, no user text is in the statement.
        db.execute("; ".join(["BEGIN"] + ["SELECT pg_advisory_xact_lock(%d)" % advisory_key(kind, name)
                                          for kind, name in locks]))
    else:
        db.begin_write(None)
    try:
        tx = Transaction(store, None)
        yield tx
        db.commit()
    except BaseException:
        db.rollback()
        raise


# -- reading ------------------------------------------------------------------------------------------

def reserve(db, name: str) -> ReserveRow | None:
    rows = db.query(_SELECT_RESERVE + " WHERE name = ?", (name,))
    return _reserve(rows[0]) if rows else None


def reserves(db) -> list:
    return [_reserve(r) for r in db.query(_SELECT_RESERVE + " ORDER BY name")]


def clones(db, reserve_name: str | None = None) -> list:
    """The clones of a reserve (of every reserve: None), oldest first."""
    if reserve_name is None:
        return [_clone(r) for r in db.query(_SELECT_CLONE + " ORDER BY c.reserve, c.created_at, c.id")]
    return [_clone(r) for r in db.query(_SELECT_CLONE + " WHERE c.reserve = ?" + _ORDER, (reserve_name,))]


def clone_named(db, name: str) -> CloneRow | None:
    rows = db.query(_SELECT_CLONE + " WHERE c.name = ?", (name,))
    return _clone(rows[0]) if rows else None


def clone_by_alias(db, alias: str) -> CloneRow | None:
    rows = db.query(_SELECT_CLONE + " WHERE c.alias = ?", (alias,))
    return _clone(rows[0]) if rows else None


def oldest_ready(db, reserve_name: str, digest: str, state: str) -> CloneRow | None:
    """The clone in ``state`` (ready) built from the template ``digest`` that has waited longest."""
    rows = db.query(_SELECT_CLONE + " WHERE c.reserve = ? AND c.state = ? AND c.template_digest = ? "
                    "ORDER BY c.ready_at, c.id LIMIT 1", (reserve_name, state, digest))
    return _clone(rows[0]) if rows else None


def count_ready(db, reserve_name: str, digest: str, state: str, limit: int | None = None) -> int:
    """Clones of ``reserve_name`` in ``state`` built from ``digest`` (counted up to ``limit``)."""
    sql = "SELECT 1 FROM clones WHERE reserve = ? AND state = ? AND template_digest = ?"
    if limit is None:
        return db.query("SELECT COUNT(*) FROM (%s) counted" % sql, (reserve_name, state, digest))[0][0]
    return db.query("SELECT COUNT(*) FROM (%s LIMIT ?) counted" % sql, (reserve_name, state, digest, limit))[0][0]


def name_in_use(db, name: str) -> tuple:
    """``(the clone claimed under it or None, an application has it, the status of the server row
    that has it or None)``: what a claim checks first, in one query."""
    row = db.query("SELECT (SELECT name FROM clones WHERE alias = ?), (SELECT 1 FROM applications WHERE name = ?), "
                   "(SELECT status FROM servers WHERE name = ?)", (name, name, name))[0]
    return (clone_named(db, row[0]) if row[0] else None), bool(row[1]), row[2]


def names_taken(db, names: list) -> set:
    """Which of ``names`` a server row (any status), an application or a clone holds already."""
    taken = set()
    for start in range(0, len(names), _CHUNK):
        chunk = list(names[start:start + _CHUNK])
        for table in ("servers", "applications", "clones"):
            taken.update(n for (n,) in db.query("SELECT name FROM %s WHERE name IN (%s)" % (table, _marks(chunk)),
                                                chunk))
    return taken


def instance_leases(db, application: str) -> list:
    """``[(owner, expires)]`` of the instances of ``application`` that hold a lease."""
    return [tuple(r) for r in db.query("SELECT lease_owner, lease_expires FROM instances WHERE application = ? "
                                       "AND lease_owner IS NOT NULL", (application,))]


# -- writing (inside a transaction) -----------------------------------------------------------------------

def put_reserve(tx, name: str, settings: dict, provider: str, provider_options: dict, identity: str | None,
                source: str | None, template: dict | None, digest: str, next_clone_id: int) -> None:
    """Add or update a reserve; its counter never goes down (a clone name is never handed out twice)."""
    values = (json.dumps(settings, sort_keys=True), provider, json.dumps(provider_options, sort_keys=True),
              identity, source, None if template is None else json.dumps(template, sort_keys=True), digest)
    tx.db.execute("INSERT INTO reserves (name, settings, provider, provider_options, provider_identity, source, "
                  "template, template_digest, next_clone_id, created_at, updated_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                  "settings = excluded.settings, provider = excluded.provider, "
                  "provider_options = excluded.provider_options, provider_identity = excluded.provider_identity, "
                  "source = excluded.source, template = excluded.template, "
                  "template_digest = excluded.template_digest, updated_at = excluded.updated_at, "
                  "next_clone_id = CASE WHEN excluded.next_clone_id > reserves.next_clone_id "
                  "THEN excluded.next_clone_id ELSE reserves.next_clone_id END",
                  (name,) + values + (next_clone_id, tx.now, tx.now))


def delete_reserve(tx, name: str) -> None:
    tx.db.execute("DELETE FROM reserves WHERE name = ?", (name,))


def take_clone_ids(tx, name: str, count: int) -> int:
    """The first of ``count`` clone ids the reserve hands out now (never again: the counter moves on)."""
    first = tx.db.query("SELECT next_clone_id FROM reserves WHERE name = ?", (name,))[0][0]
    tx.db.execute("UPDATE reserves SET next_clone_id = ?, updated_at = ? WHERE name = ?", (first + count, tx.now, name))
    return first


def count_miss(tx, name: str) -> None:
    """A claim found the reserve empty (rare: it is then a cold create, or a failure)."""
    tx.db.execute("UPDATE reserves SET misses = misses + 1 WHERE name = ?", (name,))


def fold_hit(tx, clone: CloneRow) -> None:
    """``clone`` stops being a handed-out hit (deleted, or back in the reserve): its hit moves into
    the reserve's counter. Hits are counted so, not on the claim's path: a counter that every
    claim updated would be a row all claims queue on."""
    if clone.claimed_at is not None and not clone.fallback:
        tx.db.execute("UPDATE reserves SET hits = hits + 1 WHERE name = ?", (clone.reserve,))


def take_ready(tx, reserve_name: str, digest: str, ready: str, claimed: str, alias: str, lease_owner: str | None,
               lease_expires: float | None) -> CloneRow | None:
    """The ``ready`` clone of ``digest`` that has waited longest becomes ``claimed`` under ``alias``
    (None: there is none). One statement; on PostgreSQL the clone is picked ``FOR UPDATE SKIP
    LOCKED``, so two claims at once take two clones and neither waits."""
    skip = " FOR UPDATE SKIP LOCKED" if tx.db.dialect == "postgresql" else ""
    rows = tx.db.query("UPDATE clones SET state = ?, alias = ?, claimed_at = ?, lease_owner = ?, lease_expires = ?, "
                       "state_changed_at = ?, updated_at = ? WHERE id = (SELECT id FROM clones WHERE reserve = ? "
                       "AND state = ? AND template_digest = ? ORDER BY ready_at, id LIMIT 1%s) RETURNING %s, "
                       "(SELECT address FROM servers WHERE servers.name = clones.name), "
                       "(SELECT status FROM servers WHERE servers.name = clones.name)" % (skip, ", ".join(CLONE_COLUMNS)),
                       (claimed, alias, tx.now, lease_owner, lease_expires, tx.now, tx.now, reserve_name, ready,
                        digest))
    return _clone(rows[0]) if rows else None


def insert_clone(tx, new: NewClone) -> CloneRow:
    tx.db.execute("INSERT INTO clones (reserve, name, clone_id, state, alias, application, template_digest, "
                  "fallback, lease_owner, lease_expires, created_at, state_changed_at, updated_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (new.reserve, new.name, new.clone_id, new.state, new.alias, new.application, new.template_digest,
                   1 if new.fallback else 0, new.lease_owner, new.lease_expires, tx.now, tx.now, tx.now))
    return clone_named(tx.db, new.name)


def move(tx, clone: CloneRow, state: str, **columns) -> bool:
    """``clone`` goes to ``state`` (with ``columns``) if it is still in the state it was read in."""
    values = dict(columns, state=state, updated_at=tx.now)
    if state != clone.state:
        values["state_changed_at"] = tx.now
    return _update(tx, "id = ? AND state = ?", (clone.id, clone.state), values)


def lease(tx, clone: CloneRow, owner: str | None, expires: float | None) -> bool:
    """Take (or, with None, give back) the lease of ``clone`` if it is still as it was read."""
    return _update(tx, "id = ? AND state = ? AND COALESCE(lease_owner, '') = ?",
                   (clone.id, clone.state, clone.lease_owner or ""),
                   {"lease_owner": owner, "lease_expires": expires, "updated_at": tx.now})


def _update(tx, where: str, key: tuple, values: dict) -> bool:
    values = {k: (1 if v else 0) if k == "fallback" else v for k, v in values.items()}
    cur = tx.db.execute("UPDATE clones SET %s WHERE %s" % (", ".join("%s = ?" % k for k in values), where),
                        list(values.values()) + list(key))
    return cur.rowcount == 1


def delete_clone(tx, row_id: int) -> None:
    tx.db.execute("DELETE FROM clones WHERE id = ?", (row_id,))


def rename_application(tx, old: str, new: str, document: dict, digest: str) -> bool:
    """The application ``old`` (its instances and servers) is called ``new`` from now on, with
    ``document`` (the same one, renamed) and its ``digest``; False when there is no ``old``. The
    primary key moves: a new row, the instances moved to it, the old row removed (instances
    reference the name). On PostgreSQL the old row is locked first, as every converge of it does,
    so that no converge transaction of it interleaves."""
    lock = " FOR UPDATE" if tx.db.dialect == "postgresql" else ""
    rows = tx.db.query("SELECT source, version, created_at, source_digest FROM applications WHERE name = ?" + lock,
                       (old,))
    if not rows:
        return False
    source, version, created_at, source_digest = rows[0]
    tx.db.execute("INSERT INTO applications (name, source, document, digest, version, created_at, updated_at, "
                  "source_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (new, source, json.dumps(document), digest, version, created_at, tx.now, source_digest))
    tx.db.execute("UPDATE instances SET application = ? WHERE application = ?", (new, old))
    tx.db.execute("DELETE FROM applications WHERE name = ?", (old,))
    rename_servers(tx, old, new)
    return True


def rename_servers(tx, old: str, new: str) -> None:
    """The server rows of the application ``old`` belong to ``new`` from now on."""
    tx.db.execute("UPDATE servers SET application = ?, updated_at = ? WHERE application = ?", (new, tx.now, old))
