# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sweeping what dead exports left (``leftovers.py`` says what and whether): one tenant's, under its
row's lease so that two sweepers do it once, or every tenant's (``reconcile``)."""

from __future__ import annotations

from ..errors import describe
from ..store import provisions as sql
from ..store.store import Store
from . import leftovers, states
from .base import Request
from .runs import Run


def sweep_all(manager, check_mode: bool, failed: list) -> list:
    """What the dead exports of every tenant left, removed (in check mode: what would be)."""
    cleaned = []
    with _store(manager) as store:
        rows = sql.with_part(store.db, states.EXPORT_RECORD)
    for row in rows:
        record = row.parts[states.EXPORT_RECORD]
        if not leftovers.abandoned(record, row.lease_owner, row.lease_expires, manager.clock(), manager.owner):
            continue
        if check_mode:
            cleaned.append({"instance_id": row.instance_id, "snapshot_id": record.get("snapshot_id"),
                            "removed": leftovers.existing(record), "stuck": []})
            continue
        try:
            done = sweep_one(manager, row.instance_id)
            if done is not None:
                cleaned.append(done)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            failed.append({"instance_id": row.instance_id, "error": describe(exc)})
    return cleaned


def sweep_one(manager, instance_id: str) -> dict | None:
    """Remove what a dead export of ``instance_id`` left, as its record in the row names it, under
    the row's lease (so that two sweepers do it once); what was removed, or None (nothing to do).
    Files that cannot be removed stay named in the record, for the next try."""
    with _store(manager) as store:
        row = sql.read(store.db, instance_id)
    if row is None or states.EXPORT_RECORD not in row.parts:       # the usual case: no write transaction
        return None
    with _store(manager) as store, store.transaction(None) as tx:
        row = sql.read(tx.db, instance_id)
        record = row.parts.get(states.EXPORT_RECORD) if row is not None else None
        if not record or not leftovers.abandoned(record, row.lease_owner, row.lease_expires, tx.now, manager.owner) \
                or not sql.compare_and_set(tx, row, lease_owner=manager.owner,
                                           lease_expires=tx.now + manager.lease_seconds):
            return None
        row = sql.read(tx.db, instance_id)
    removed, stuck = leftovers.remove(record)
    parts = {key: part for key, part in row.parts.items() if key != states.EXPORT_RECORD}
    if stuck:
        parts[states.EXPORT_RECORD] = dict(record, stuck=stuck)
    done = {"instance_id": instance_id, "snapshot_id": record.get("snapshot_id"), "removed": removed,
            "stuck": stuck}
    run = Run(manager.store_dsn, manager.clock, manager.owner, instance_id, {}, Request.of_row(row))
    run.end(row.state, [("export_interrupted", {"snapshot": {"id": record.get("snapshot_id"),
                                                             "path": record.get("path")},
                                                "removed": removed, "stuck": stuck})], parts=parts)
    return done


def _store(manager) -> Store:
    return Store(manager.store_dsn, clock=manager.clock)
