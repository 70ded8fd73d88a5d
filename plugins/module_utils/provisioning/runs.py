# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run on one provision row, holding its lease: the steps of a provision (and an import),
the rollback of a failed one, and the undoing of a deprovision.

Every step is written before it runs (the part's ``making`` record, with the names it will make)
and after (``made``, with its sub-service's event), in one store transaction each, and only while
this run holds the row's lease; so a run that dies leaves a row saying what may exist, and the
next call or ``reconcile`` rolls it back (a provision) or finishes it (a deprovision).

A rollback undoes the parts in reverse order, each exactly once: a part's new status (``undone``,
or ``undo_failed`` with the error) is written as soon as its undoing ends, and a part already
undone is never undone again.
"""

from __future__ import annotations

from ..errors import ConflictError, describe
from ..store import provisions as sql
from ..store.store import Store
from . import states
from .base import Request
from .schema import ROLES


class Run:
    """The run of ``owner`` (a lease owner) on the row of ``instance_id``."""

    def __init__(self, store_dsn: str, clock, owner: str, instance_id: str, subs: dict, request: Request):
        self.store_dsn, self.clock, self.owner = store_dsn, clock, owner
        self.instance_id, self.subs, self.request = instance_id, subs, request
        self.events: list = []          # kinds of the events this run appended, in order

    # -- the store --------------------------------------------------------------------------------------

    def write(self, parts: dict, events=()) -> None:
        """Record ``parts`` (and append ``events``: (kind, data)) while the lease is ours."""
        with Store(self.store_dsn, clock=self.clock) as store, store.transaction(None) as tx:
            if not sql.update_parts(tx, self.instance_id, self.owner, parts):
                raise ConflictError("instance %r: another run took it over" % self.instance_id)
            self._append(tx, events)

    def end(self, state_from: str, events=(), also=None, **columns) -> sql.ProvisionRow:
        """Write the row's final columns (the lease given back) and the service's events; ``also(tx)``
        writes what must be recorded in the same transaction (an export's snapshot row)."""
        with Store(self.store_dsn, clock=self.clock) as store, store.transaction(None) as tx:
            row = sql.read(tx.db, self.instance_id)
            if row is None or row.lease_owner != self.owner or row.state != state_from:
                raise ConflictError("instance %r: another run took it over" % self.instance_id)
            sql.compare_and_set(tx, row, lease_owner=None, lease_expires=None, **columns)
            if also is not None:
                also(tx)
            self._append(tx, events)
            return sql.read(tx.db, self.instance_id)

    def _append(self, tx, events) -> None:
        rows = [(self.instance_id, kind, dict(data, request=self.request.as_dict())) for kind, data in events]
        if rows:
            tx.append_events(rows)
            self.events.extend(kind for _subject, kind, _data in rows)

    # -- provision ----------------------------------------------------------------------------------------

    def provision(self, parts: dict, done: str, staged: dict | None = None) -> dict:
        """Make every part in role order (restoring ``staged`` data into it: an import); the parts.
        ``done`` names the sub-service events (``provisioned`` or ``imported``)."""
        for role in [r for r in ROLES if r in self.subs]:
            sub = self.subs[role]
            parts[role] = dict(sub.intent(self.request, parts), name=sub.name, status=states.MAKING)
            self.write(parts)
            made = sub.provision(self.request, parts)
            if staged and role in staged:
                sub.restore(self.request, made, parts, staged[role])
            parts[role] = dict(made, name=sub.name, status=states.MADE)
            self.write(parts, [("%s.%s" % (role, done), {"part": sub.describe(parts[role])})])
        return parts

    def rollback(self, parts: dict) -> list:
        """Undo every part that may exist, in reverse order, each once; what could not be undone."""
        not_undone = []
        for role in states.to_undo(parts, ROLES):
            part, sub = parts[role], self.subs.get(role)
            try:
                if sub is None:
                    raise ConflictError("no %s sub-provisioner %r in the provisioners file" % (role, part.get("name")))
                sub.deprovision(self.request, part, parts, keep_data=bool(part.get("adopted")))
                parts[role] = dict(part, status=states.UNDONE)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                parts[role] = dict(part, status=states.UNDO_FAILED, error=describe(exc))
                not_undone.append({"role": role, "name": part.get("name"), "error": describe(exc)})
            self.write(parts)
        return not_undone

    # -- deprovision --------------------------------------------------------------------------------------

    def deprovision(self, parts: dict, keep_database: bool) -> dict:
        """Undo every part in reverse order, writing each one's new status and event."""
        for role in states.to_undo(parts, ROLES):
            part, sub = parts[role], self.subs.get(role)
            if sub is None:
                raise ConflictError("no %s sub-provisioner %r in the provisioners file" % (role, part.get("name")))
            status = sub.deprovision(self.request, part, parts, keep_data=keep_database and role == "database")
            parts[role] = dict(part, status=status)
            self.write(parts, [("%s.deprovisioned" % role, {"part": sub.describe(parts[role])})])
        return parts
