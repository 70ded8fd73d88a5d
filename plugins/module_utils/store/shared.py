# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Store connections shared by the worker threads of one operation (the flows of a pool operation).

Opening a connection per thread costs about 1 ms (the schema check; on SQLite a WAL checkpoint at
close) and, on PostgreSQL, one server connection each: ``SharedStores`` hands each thread one of a
few connections kept for the whole operation, each behind a lock (``SerialisedConnection``).
"""

from __future__ import annotations

import threading


class SerialisedConnection:
    """A store connection shared by some threads of one operation (a pool's flows): a write transaction holds
    the lock from BEGIN to COMMIT, any other statement holds it while it runs. Threads wait on the
    lock and wake when it is free, instead of sleeping in SQLite's busy handler (1 to 100 ms steps),
    and no thread opens a connection of its own (about 1 ms each: the schema check, and on SQLite a
    WAL checkpoint at close). Measured on SQLite: ensure(200) at concurrency 200 took 2.9 s with a
    connection per flow, 1.12 s like this."""

    def __init__(self, db):
        self._db = db
        self._lock = threading.RLock()      # a transaction reads too: the same thread re-enters

    def __getattr__(self, name):
        return getattr(self._db, name)

    def begin_write(self, application):
        self._lock.acquire()
        try:
            self._db.begin_write(application)
        except BaseException:
            self._lock.release()
            raise

    def commit(self):
        try:
            self._db.commit()
        finally:
            self._lock.release()

    def rollback(self):
        try:
            self._db.rollback()
        finally:
            self._lock.release()

    def query(self, sql, params=()):
        with self._lock:
            return self._db.query(sql, params)

    def execute(self, sql, params=()):
        with self._lock:
            return self._db.execute(sql, params)

    def executemany(self, sql, rows):
        with self._lock:
            return self._db.executemany(sql, rows)


class SharedStores:
    """Up to ``connections`` stores for the threads of one operation: the operation's own ``store``
    first, more opened with ``open_store()`` as threads ask (a thread keeps the one it got).
    ``close()`` gives the operation's store its own connection back and closes the others."""

    def __init__(self, store, open_store, connections: int = 1):
        self._local = threading.local()
        self._guard = threading.Lock()
        self._open = open_store
        self._own, self._raw = store, store.db
        store.db = SerialisedConnection(store.db)
        self._slots: list = [store] + [None] * (max(connections, 1) - 1)
        self._next = 0

    def for_this_thread(self):
        store = getattr(self._local, "store", None)
        if store is None:
            with self._guard:
                slot, self._next = self._next, (self._next + 1) % len(self._slots)
                if self._slots[slot] is None:
                    opened = self._open()
                    opened.db = SerialisedConnection(opened.db)
                    self._slots[slot] = opened
                store = self._slots[slot]
            self._local.store = store
        return store

    def close(self) -> None:
        with self._guard:
            slots, self._slots = self._slots, [self._own]
        self._own.db = self._raw
        for store in slots[1:]:
            if store is not None:
                store.close()
