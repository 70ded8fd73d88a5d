# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the outbox for event sources (``extensions/eda``): batches in id order, the store's
identity, and on PostgreSQL a listener woken by the NOTIFY of migration 5.

Why ``id > last`` loses nothing: SQLite has one writer at a time, and on PostgreSQL migration 5
makes every transaction that inserts events take one lock before its ids are drawn and keep it
until it ends, so an id is visible only after every smaller id has committed (or rolled back).
A batch is read below a horizon (the largest id visible when it starts) so that "scanned up to
here" is exact even when a filter leaves out most rows.

Database errors come out as ``StoreError`` with the store named: a source retries on that.
"""

from __future__ import annotations

import json
import os
import re
import select
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import InputError, StoreError
from .backends import PostgreSQLBackend, is_postgresql, load_psycopg, redact
from .store import EventRow, Store

CHANNEL = "appgraph_events"
KIND = re.compile(r"^(?=.{1,64}$)[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")     # name or dotted.name, as the engine's


@dataclass(frozen=True)
class Batch:
    """Events after a position, and how far the read went (``scanned``: the next read starts there)."""
    events: list
    scanned: int


def store_identity(store: Store) -> str:
    """A name of the store that does not depend on how it was reached: the SQLite file's real
    path, or ``postgresql://host:port/database`` of the server the connection landed on (no user,
    no password). Event uuids and cursor files are keyed on it."""
    if store.db.dialect == "sqlite":
        return os.path.realpath(store.dsn)
    info = store.db.conn.info
    return "postgresql://%s:%s/%s" % (info.host, info.port, info.dbname)


@contextmanager
def guarded(store_name: str):
    """Turn the driver's errors into a ``StoreError`` naming the store (never its password)."""
    psycopg, _error = load_psycopg() if is_postgresql(store_name) else (None, None)
    errors = (sqlite3.Error, OSError) + ((psycopg.Error,) if psycopg else ())
    try:
        yield
    except errors as exc:
        raise StoreError("the store %s: %s: %s" % (redact(store_name), type(exc).__name__,
                                                   str(exc).strip() or "no message")) from None


def open_store(dsn: str, must_exist: bool = True) -> Store:
    """Open a store to read events from. A SQLite file that is not there is an error (a typo
    would otherwise make an empty store and wait on it forever); the caller retries."""
    if must_exist and not is_postgresql(dsn) and not os.path.exists(dsn):
        raise StoreError("the store %s does not exist (yet)" % dsn)
    with guarded(dsn):
        return Store(dsn)


def latest_id(store: Store) -> int:
    """The largest event id (0 for an empty outbox)."""
    with guarded(store.dsn):
        return store.db.query("SELECT COALESCE(MAX(id), 0) FROM events")[0][0]


def read_batch(store: Store, after: int, kinds=None, applications=None, limit: int = 500) -> Batch:
    """Up to ``limit`` events with ``id > after`` in id order, of the given kinds and applications
    (None: all). ``scanned`` is the id the next call starts after: the last event returned when the
    batch is full, else the horizon (rows left out by the filters are passed over once)."""
    with guarded(store.dsn):
        horizon = latest_id(store)
        if horizon <= after:
            return Batch([], after)
        sql = "SELECT id, at, application, subject, kind, data FROM events WHERE id > ? AND id <= ?"
        params: list = [after, horizon]
        for column, values in (("kind", kinds), ("application", applications)):
            if values:
                sql += " AND %s IN (%s)" % (column, ", ".join("?" * len(values)))
                params.extend(values)
        rows = store.db.query(sql + " ORDER BY id LIMIT ?", params + [limit])
    events = [EventRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
    return Batch(events, events[-1].id if len(events) == limit else horizon)


def check_kind(kind) -> str:
    """An event kind a writer may use: a lower-case name, or names joined by dots as the engine's
    per sub-service ones are (``database.provisioned``); readers filter on it."""
    if not isinstance(kind, str) or not KIND.match(kind):
        raise InputError("must be a lower-case name (letters, digits, '_'), or such names joined by '.', at most 64 "
                         "characters, got %r" % (kind,), key="kind", hint="for example request_finished or shop.order_paid")
    return kind


def publish(store: Store, kind: str, data: dict, application: str | None = None,
            subject: str | None = None) -> int:
    """Append one event (a playbook's word to the rulebooks, such as a request's result); its id."""
    check_kind(kind)
    with guarded(store.dsn), store.transaction(application) as tx:
        return tx.db.query("INSERT INTO events (at, application, subject, kind, data) VALUES (?, ?, ?, ?, ?) "
                           "RETURNING id", (tx.now, application, subject, kind,
                                            json.dumps(data, sort_keys=True, default=str)))[0][0]


class Listener:
    """``LISTEN appgraph_events`` on a connection of its own (PostgreSQL): ``wait(timeout)`` is
    True once a transaction that appended events committed. Only a hint to read: a notification
    missed while disconnected is found in the table on the next read."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self._heard = False
        with guarded(dsn):
            self.backend = PostgreSQLBackend(dsn)
            self.backend.conn.add_notify_handler(self._on_notify)
            self.backend.execute("LISTEN %s" % CHANNEL)

    def _on_notify(self, _notify) -> None:
        self._heard = True

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a notification (one thread at a time)."""
        with guarded(self.dsn):
            if not self._heard:
                ready, _w, _x = select.select([self.backend.conn.fileno()], [], [], timeout)
                if ready:
                    self.backend.query("SELECT 1")     # lets the driver read what arrived
        heard, self._heard = self._heard, False
        return heard

    def close(self) -> None:
        try:
            self.backend.close()
        except Exception:  # pylint: disable=broad-exception-caught
            pass            # closing a connection that is already gone
