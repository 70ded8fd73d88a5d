# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durable state: applications, instances (actual and desired state), leases and the event outbox.

Writers work in ``transaction(application)``: it serialises writers of one application, hands out
the version the application had, and stamps every row it writes with the next one, so a process
can catch up with what others did by reading ``changed_since(its version)`` only.

Leases say who runs an operation on an instance now; a lease is live until it expires, or at once
dead when its owner is a process of this host that is gone.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from .errors import ConflictError, StoreError
from .states import InstanceState
from .store_backends import connect, redact, resolve_dsn
from .store_schema import LATEST, MIGRATIONS


@dataclass(frozen=True)
class AppRecord:
    name: str
    source: str | None
    document: dict
    digest: str
    version: int
    created_at: float
    updated_at: float


@dataclass
class InstanceRow:
    path: str
    component: str
    parent: str | None
    state: InstanceState
    exports: dict = field(default_factory=dict)          # published values, "Prefix.var" -> value
    runtime: dict = field(default_factory=dict)          # what installers learnt (server address, ...)
    applied_imports: dict = field(default_factory=dict)  # imports the installer last started or updated with
    lease_owner: str | None = None
    lease_expires: float | None = None
    last_heartbeat: float | None = None


@dataclass(frozen=True)
class EventRow:
    id: int
    at: float
    application: str | None
    subject: str | None
    kind: str
    data: dict


_INSTANCE_COLUMNS = ("path, component, parent, state, desired, previous, exports, runtime, applied_imports, "
                     "lease_owner, lease_expires, last_heartbeat")


def _loads(text):
    return json.loads(text) if text else {}


def _instance_row(row) -> InstanceRow:
    return InstanceRow(row[0], row[1], row[2], InstanceState(row[3], row[4], row[5]), _loads(row[6]),
                       _loads(row[7]), _loads(row[8]), row[9], row[10], row[11])


def new_owner() -> str:
    """A lease owner name: host, process id, and a nonce (pids are reused)."""
    return "%s:%d:%s" % (socket.gethostname(), os.getpid(), uuid.uuid4().hex[:8])


def lease_is_live(owner: str | None, expires: float | None, now: float) -> bool:
    if not owner or expires is None or expires <= now:
        return False
    host, _sep, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False            # its process is gone: nobody will finish that operation
        except PermissionError:
            return True
    return True


class Store:
    """One connection to a store. Not shared between threads: the driver writes from one."""

    def __init__(self, dsn: str | None = None, clock=time.time):
        self.dsn = resolve_dsn(dsn)
        self.clock = clock
        self.db = connect(self.dsn)
        self._migrate()

    @property
    def identity(self) -> str:
        return redact(self.dsn)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        self.db.begin_write(None)
        try:
            self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            rows = self.db.query("SELECT version FROM schema_version")
            current = rows[0][0] if rows else 0
            if current > LATEST:
                raise StoreError("the store %s has schema version %d; this collection knows up to %d: "
                                 "upgrade the collection" % (self.identity, current, LATEST))
            for version in range(current + 1, LATEST + 1):
                for statement in MIGRATIONS[version][self.db.dialect]:
                    self.db.execute(statement)
            if current == 0:
                self.db.execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST,))
            elif current < LATEST:
                self.db.execute("UPDATE schema_version SET version = ?", (LATEST,))
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise

    def schema_version(self) -> int:
        return self.db.query("SELECT version FROM schema_version")[0][0]

    # -- reading --------------------------------------------------------------------------------

    def application(self, name: str) -> AppRecord | None:
        rows = self.db.query("SELECT name, source, document, digest, version, created_at, updated_at "
                             "FROM applications WHERE name = ?", (name,))
        return AppRecord(rows[0][0], rows[0][1], json.loads(rows[0][2]), *rows[0][3:]) if rows else None

    def application_names(self) -> list:
        return [r[0] for r in self.db.query("SELECT name FROM applications ORDER BY name")]

    def instance_rows(self, application: str) -> dict:
        rows = self.db.query("SELECT %s FROM instances WHERE application = ?" % _INSTANCE_COLUMNS, (application,))
        return {row[0]: _instance_row(row) for row in rows}

    def events(self, after_id: int = 0, application: str | None = None, limit: int = 1000) -> list:
        sql = "SELECT id, at, application, subject, kind, data FROM events WHERE id > ?"
        params: list = [after_id]
        if application is not None:
            sql += " AND application = ?"
            params.append(application)
        rows = self.db.query(sql + " ORDER BY id LIMIT ?", params + [limit])
        return [EventRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    # -- writing --------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, application: str | None = None):
        """Serialise writers of ``application``; commit on success, roll back on any error."""
        self.db.begin_write(application)
        tx = Transaction(self, application)
        try:
            yield tx
            tx._stamp()
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise


class Transaction:
    def __init__(self, store: Store, application: str | None):
        self.store, self.db, self.application = store, store.db, application
        self.now = store.clock()
        rows = self.db.query("SELECT version FROM applications WHERE name = ?", (application,)) \
            if application else []
        self.version = rows[0][0] if rows else 0      # the version before this transaction
        self.next_version = self.version + 1
        self._dirty = False

    @property
    def version_after(self) -> int:
        """The application's version once this transaction commits."""
        return self.next_version if self._dirty else self.version

    def _stamp(self) -> None:
        if self._dirty and self.application:
            self.db.execute("UPDATE applications SET version = ?, updated_at = ? WHERE name = ?",
                            (self.next_version, self.now, self.application))

    # applications

    def put_application(self, name: str, document: dict, source: str | None, digest: str, instances) -> dict:
        """Add or update an application and its instance rows.

        ``instances`` is ``[(path, component, parent)]``. New paths start ``not_deployed``; a path
        that left the model is dropped only if it is not deployed (else ConflictError naming it).
        """
        existing = self.db.query("SELECT path, component, state FROM instances WHERE application = ?", (name,))
        now = {path: (component, parent) for path, component, parent in instances}
        gone = [(path, state) for path, _component, state in existing if path not in now]
        deployed = [path for path, state in gone if state != "not_deployed"]
        if deployed:
            raise ConflictError("cannot drop instance(s) still deployed: %s; undeploy them first"
                                % ", ".join(sorted(deployed)[:5]))
        if self.db.query("SELECT 1 FROM applications WHERE name = ?", (name,)):
            self.db.execute("UPDATE applications SET source = ?, document = ?, digest = ?, updated_at = ? "
                            "WHERE name = ?", (source, json.dumps(document), digest, self.now, name))
        else:
            self.db.execute("INSERT INTO applications (name, source, document, digest, version, created_at, "
                            "updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
                            (name, source, json.dumps(document), digest, self.now, self.now))
        self.application = self.application or name
        known = {path: component for path, component, _state in existing}
        added = [(name, path, comp, parent, "not_deployed", "not_deployed", self.next_version, self.now)
                 for path, (comp, parent) in now.items() if path not in known]
        self.db.executemany("INSERT INTO instances (application, path, component, parent, state, desired, "
                            "changed_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", added)
        retyped = [(now[path][0], self.next_version, self.now, name, path)
                   for path, component in known.items() if path in now and now[path][0] != component]
        self.db.executemany("UPDATE instances SET component = ?, changed_version = ?, updated_at = ? "
                            "WHERE application = ? AND path = ?", retyped)
        self.db.executemany("DELETE FROM instances WHERE application = ? AND path = ?",
                            [(name, path) for path, _state in gone])
        self._dirty = True
        return {"added": [row[1] for row in added], "removed": [p for p, _s in gone],
                "retyped": [row[4] for row in retyped]}

    def delete_application(self, name: str) -> None:
        self.db.execute("DELETE FROM instances WHERE application = ?", (name,))
        self.db.execute("DELETE FROM applications WHERE name = ?", (name,))

    # instances

    def changed_since(self, version: int) -> dict:
        rows = self.db.query("SELECT %s FROM instances WHERE application = ? AND changed_version > ?"
                             % _INSTANCE_COLUMNS, (self.application, version))
        return {row[0]: _instance_row(row) for row in rows}

    def leased_by_others(self, owner: str) -> set:
        rows = self.db.query("SELECT path, lease_owner, lease_expires FROM instances WHERE application = ? "
                             "AND lease_expires > ? AND lease_owner <> ?", (self.application, self.now, owner))
        return {path for path, who, until in rows if lease_is_live(who, until, self.now)}

    def write_states(self, changes: dict) -> None:
        self.db.executemany(
            "UPDATE instances SET state = ?, desired = ?, previous = ?, changed_version = ?, updated_at = ? "
            "WHERE application = ? AND path = ?",
            [(s.state, s.desired, s.previous, self.next_version, self.now, self.application, path)
             for path, s in changes.items()])
        self._dirty = self._dirty or bool(changes)

    def write_data(self, path: str, **columns) -> None:
        """Write JSON columns of one instance: ``exports``, ``runtime``, ``applied_imports``."""
        self.write_data_many({path: columns})

    def write_data_many(self, rows: dict) -> None:
        """``{path: {column: value}}`` for the JSON columns; one statement per set of columns."""
        allowed = {"exports", "runtime", "applied_imports"}
        batches: dict = {}
        for path, columns in rows.items():
            unknown = set(columns) - allowed
            if unknown:
                raise ValueError("unknown instance columns %s" % sorted(unknown))
            names = tuple(sorted(columns))
            batches.setdefault(names, []).append(
                [json.dumps(columns[name], sort_keys=True) for name in names]
                + [self.next_version, self.now, self.application, path])
        for names, values in batches.items():
            sets = ", ".join("%s = ?" % name for name in names)
            self.db.executemany("UPDATE instances SET %s, changed_version = ?, updated_at = ? WHERE application = ? "
                                "AND path = ?" % sets, values)
            self._dirty = True

    def heartbeat(self, path: str, at: float) -> None:
        self.db.execute("UPDATE instances SET last_heartbeat = ? WHERE application = ? AND path = ?",
                        (at, self.application, path))

    def take_leases(self, paths, owner: str, expires: float) -> None:
        self.db.executemany("UPDATE instances SET lease_owner = ?, lease_expires = ? WHERE application = ? "
                            "AND path = ?", [(owner, expires, self.application, p) for p in paths])

    def release_leases(self, paths, owner: str) -> None:
        self.db.executemany("UPDATE instances SET lease_owner = NULL, lease_expires = NULL WHERE application = ? "
                            "AND path = ? AND lease_owner = ?", [(self.application, p, owner) for p in paths])

    # events

    def append_events(self, events) -> None:
        """``events``: iterable of (subject, kind, data dict)."""
        self.db.executemany("INSERT INTO events (at, application, subject, kind, data) VALUES (?, ?, ?, ?, ?)",
                            [(self.now, self.application, subject, kind, json.dumps(data, sort_keys=True,
                                                                                    default=str))
                             for subject, kind, data in events])
