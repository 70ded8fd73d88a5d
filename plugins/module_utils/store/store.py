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
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import ConflictError, StoreError
from ..model.states import InstanceState
from .backends import PASSWORD_VARIABLE, connect, json_column, redact, resolve_dsn, with_password
from .bindings import external_sources, read_all_bindings, read_bindings
from .leases import lease_is_live
from .migrations import LATEST, MIGRATIONS


@dataclass(frozen=True)
class AppRecord:
    name: str
    source: str | None
    document: dict
    digest: str
    version: int
    created_at: float
    updated_at: float
    source_digest: str | None = None
    template: str | None = None                # the template it was made from (the document's name)
    exports_prefix: str | None = None          # what the template offers other applications
    external_exports: dict = field(default_factory=dict)


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
    last_error: str | None = None                        # of its last operation, until one succeeds


@dataclass(frozen=True)
class EventRow:
    id: int
    at: float
    application: str | None
    subject: str | None
    kind: str
    data: dict


_INSTANCE_COLUMNS = ("path, component, parent, state, desired, previous, exports, runtime, applied_imports, "
                     "lease_owner, lease_expires, last_heartbeat, last_error")


def _instance_row(row) -> InstanceRow:
    return InstanceRow(row[0], row[1], row[2], InstanceState(row[3], row[4], row[5]), json_column(row[6]),
                       json_column(row[7]), json_column(row[8]), row[9], row[10], row[11], row[12])


class Store:
    """One connection to a store. Not shared between threads: the driver writes from one."""

    def __init__(self, dsn: str | None = None, clock=time.time):
        """``dsn``: a SQLite path or a postgresql:// URL (``resolve_dsn``). A PostgreSQL password
        is best kept out of it: ``$APPGRAPH_STORE_PASSWORD`` (or libpq's own ``$PGPASSWORD``)."""
        self.dsn = resolve_dsn(dsn)
        self.clock = clock
        self.db = connect(with_password(self.dsn, os.environ.get(PASSWORD_VARIABLE)))
        self._migrate()
        self._fleet = self._meta("fleet") or self._make_fleet()

    @property
    def identity(self) -> str:
        return redact(self.dsn)

    @property
    def fleet(self) -> str:
        """The store's fleet identity: made with the store (or at its first opening after migration
        6), then kept in it. Everything a provider makes for this store carries it, so two stores
        never share a server."""
        return self._fleet

    def _meta(self, key: str) -> str | None:
        rows = self.db.query("SELECT value FROM store_meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def _make_fleet(self) -> str:
        with self.transaction(None) as tx:
            tx.db.execute("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                          ("fleet", uuid.uuid4().hex[:12]))
        return self._meta("fleet")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        """Bring the schema to ``LATEST``, one migration per transaction. Opening an up-to-date
        store reads one row and takes no write lock; of two processes migrating at once, the
        second finds the work done (the version is read again under the lock)."""
        version = self._version()
        while version < LATEST:
            self.db.begin_write(None)
            try:
                self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                version = self._version()
                if version < LATEST:
                    for statement in MIGRATIONS[version + 1][self.db.dialect]:
                        self.db.execute(statement)
                    self._set_version(version, version + 1)
                    version += 1
                self.db.commit()
            except BaseException:
                self.db.rollback()
                raise
        if version > LATEST:
            raise StoreError("the store %s has schema version %d; this collection knows up to %d: "
                             "upgrade the collection" % (self.identity, version, LATEST))

    def _version(self) -> int:
        if not self.db.table_exists("schema_version"):
            return 0
        rows = self.db.query("SELECT version FROM schema_version")
        return rows[0][0] if rows else 0

    def _set_version(self, before: int, after: int) -> None:
        if before == 0:
            self.db.execute("INSERT INTO schema_version (version) VALUES (?)", (after,))
        else:
            self.db.execute("UPDATE schema_version SET version = ?", (after,))

    def schema_version(self) -> int:
        return self.db.query("SELECT version FROM schema_version")[0][0]

    # -- reading --------------------------------------------------------------------------------

    def application(self, name: str) -> AppRecord | None:
        rows = self.db.query("SELECT name, source, document, digest, version, created_at, updated_at, source_digest, "
                             "template, exports_prefix, external_exports FROM applications WHERE name = ?", (name,))
        if not rows:
            return None
        row = rows[0]
        return AppRecord(row[0], row[1], json.loads(row[2]), *row[3:8], template=row[8] or row[0],
                         exports_prefix=row[9], external_exports=json_column(row[10]))

    def application_named_by(self, source: str, source_digest: str) -> str | None:
        """The application that ``source`` names itself (its template's name), last added from it
        when its bytes were ``source_digest``; other applications made from that template do not count."""
        rows = self.db.query("SELECT name FROM applications WHERE source = ? AND source_digest = ? AND name = template",
                             (source, source_digest))
        return rows[0][0] if len(rows) == 1 else None

    def applications_of_template(self, template: str) -> list:
        return [r[0] for r in self.db.query("SELECT name FROM applications WHERE template = ? ORDER BY name",
                                            (template,))]

    # bindings

    def bindings(self, name: str) -> dict:
        """``{prefix: [bound application, ...]}``: where ``name``'s ``external <prefix>.*`` imports come from."""
        return read_bindings(self.db, name)

    def all_bindings(self) -> list:
        """``[(application, prefix, bound)]`` of the whole store."""
        return read_all_bindings(self.db)

    def bound_by(self, name: str) -> list:
        """The applications that import from ``name`` (through a binding), by name."""
        return [r[0] for r in self.db.query("SELECT DISTINCT application FROM bindings WHERE bound = ? "
                                            "ORDER BY application", (name,))]

    def has_bindings(self, name: str) -> bool:
        """Whether ``name`` imports from, or exports to, another application."""
        return bool(self.db.query("SELECT 1 FROM bindings WHERE application = ? OR bound = ? LIMIT 1", (name, name)))

    def external_sources(self, names, states) -> dict:
        """What bound applications publish, as the importer's life cycle reads it: for each of
        ``names`` that exists, ``(version, exports_prefix, external_exports, [(path, exports)])``,
        the instances listed being those whose state is in ``states`` (the publishing ones)."""
        return external_sources(self.db, names, states)

    def instance_states(self, application: str) -> list | None:
        """``[(path, parent, component, InstanceState, lease owner, lease expiry)]`` in the model's
        order: the instance rows without their JSON columns (what deciding "nothing to do" needs,
        and no more); None when a row has no position (written before migration 4)."""
        rows = self.db.query("SELECT path, parent, component, state, desired, previous, lease_owner, lease_expires, "
                             "position FROM instances WHERE application = ? ORDER BY position", (application,))
        if any(r[8] is None for r in rows):
            return None
        return [(r[0], r[1], r[2], InstanceState(r[3], r[4], r[5]), r[6], r[7]) for r in rows]

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

    def put_application(self, name: str, document: dict, source: str | None, digest: str, instances,
                        source_digest: str | None = None, template: str | None = None) -> dict:
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
        template = template or document.get("application") or name
        prefix = document.get("exports_prefix")
        offered = json.dumps(document.get("external_exports") or {}, sort_keys=True)
        if self.db.query("SELECT 1 FROM applications WHERE name = ?", (name,)):
            self.db.execute("UPDATE applications SET source = ?, document = ?, digest = ?, source_digest = ?, "
                            "template = ?, exports_prefix = ?, external_exports = ?, updated_at = ? WHERE name = ?",
                            (source, json.dumps(document), digest, source_digest, template, prefix, offered, self.now,
                             name))
        else:
            self.db.execute("INSERT INTO applications (name, source, document, digest, source_digest, template, "
                            "exports_prefix, external_exports, version, created_at, updated_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                            (name, source, json.dumps(document), digest, source_digest, template, prefix, offered,
                             self.now, self.now))
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
        self.db.executemany("UPDATE instances SET position = ? WHERE application = ? AND path = ?",
                            [(position, name, path) for position, path in enumerate(now)])
        self._dirty = True
        return {"added": [row[1] for row in added], "removed": [p for p, _s in gone],
                "retyped": [row[4] for row in retyped]}

    def set_source_digest(self, name: str, source_digest: str) -> None:
        """The source's bytes changed but not the application they describe: remember the new bytes."""
        self.db.execute("UPDATE applications SET source_digest = ? WHERE name = ?", (source_digest, name))

    def delete_application(self, name: str) -> None:
        self.db.execute("DELETE FROM bindings WHERE application = ?", (name,))
        self.db.execute("DELETE FROM instances WHERE application = ?", (name,))
        self.db.execute("DELETE FROM applications WHERE name = ?", (name,))

    # bindings

    def put_bindings(self, name: str, bindings: dict) -> None:
        """Replace ``name``'s bindings (``{prefix: [bound, ...]}``) and move its version on, so that
        a converge of ``name`` under way reads them at its next step."""
        self.db.execute("DELETE FROM bindings WHERE application = ?", (name,))
        self.db.executemany("INSERT INTO bindings (application, prefix, bound) VALUES (?, ?, ?)",
                            [(name, prefix, bound) for prefix, names in sorted(bindings.items())
                             for bound in sorted(set(names))])
        if name == self.application:
            self._dirty = True
        else:
            self.db.execute("UPDATE applications SET version = version + 1, updated_at = ? WHERE name = ?",
                            (self.now, name))

    def all_bindings(self) -> list:
        return read_all_bindings(self.db)

    def bindings(self, name: str) -> dict:
        return read_bindings(self.db, name)

    def external_sources(self, names, states) -> dict:
        return external_sources(self.db, names, states)

    def application_versions(self, names) -> dict:
        """``{name: version}`` of the applications of ``names`` that exist."""
        names = sorted(set(names))
        if not names:
            return {}
        return dict(self.db.query("SELECT name, version FROM applications WHERE name IN (%s)"
                                  % ", ".join("?" * len(names)), names))

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
        """``{path: {column: value}}`` for the JSON columns and ``last_error`` (text, or None to clear
        it); one statement per set of columns."""
        allowed = {"exports", "runtime", "applied_imports", "last_error"}
        batches: dict = {}
        for path, columns in rows.items():
            unknown = set(columns) - allowed
            if unknown:
                raise ValueError("unknown instance columns %s" % sorted(unknown))
            names = tuple(sorted(columns))
            batches.setdefault(names, []).append(
                [columns[name] if name == "last_error" else json.dumps(columns[name], sort_keys=True)
                 for name in names]
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
        """Lease ``paths`` to ``owner``. A live lease of another owner is never taken over: the
        caller announces no operation for a path ``leased_by_others`` named in this transaction,
        and this refuses one that slipped through (ConflictError, so the transaction rolls back)."""
        others = self.leased_by_others(owner)
        taken = sorted(set(paths) & others)
        if taken:
            raise ConflictError("instance(s) leased by another live process: %s" % ", ".join(taken[:5]))
        self.db.executemany("UPDATE instances SET lease_owner = ?, lease_expires = ? WHERE application = ? "
                            "AND path = ?", [(owner, expires, self.application, p) for p in paths])

    def clear_dead_leases(self) -> list:
        """Release every lease whose owner is gone or whose time is up (an operation announced by a
        run that died: the caller adopts it); the paths released."""
        rows = self.db.query("SELECT path, lease_owner, lease_expires FROM instances WHERE application = ? "
                             "AND lease_owner IS NOT NULL", (self.application,))
        dead = [path for path, who, until in rows if not lease_is_live(who, until, self.now)]
        self.db.executemany("UPDATE instances SET lease_owner = NULL, lease_expires = NULL WHERE application = ? "
                            "AND path = ?", [(self.application, path) for path in dead])
        return dead

    def release_leases(self, paths, owner: str) -> None:
        self.db.executemany("UPDATE instances SET lease_owner = NULL, lease_expires = NULL WHERE application = ? "
                            "AND path = ? AND lease_owner = ?", [(self.application, p, owner) for p in paths])

    # events

    def append_events(self, events, application: str | None = None) -> None:
        """``events``: iterable of (subject, kind, data dict), of the transaction's application (or
        of ``application``, for a store-wide transaction about one)."""
        application = application or self.application
        self.db.executemany("INSERT INTO events (at, application, subject, kind, data) VALUES (?, ?, ?, ?, ?)",
                            [(self.now, application, subject, kind, json.dumps(data, sort_keys=True, default=str))
                             for subject, kind, data in events])
