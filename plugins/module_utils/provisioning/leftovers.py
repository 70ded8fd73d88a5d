# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an export leaves on disk while it runs, and the removal of what a dead one left.

An export stages its parts in a folder ``.export-<snapshot id>`` next to the archive and writes the
archive as ``<archive>.partial-<nonce>`` before renaming it. Both names are chosen before anything is
made and written in the provision row (``parts["export"]``, the *record*) with the lease owner, so a
run killed (-9) in the middle leaves a row saying exactly what may exist. The next service on the
tenant, or ``reconcile``, removes those files once the run is dead: the row's lease is not live and
the record's process is not running on this host (a process of another host is taken for dead once
its lease expired, as every other lease here). A live run's files are never touched: their names are
in no other run's record, and its own record is swept only after it died.
"""

from __future__ import annotations

import os
import shutil

from ..store.leases import lease_is_live, running_here
from .extract import snapshot_id_of
from .snapshot import partial_name

STAGING_PREFIX = ".export-"


def export_record(path: str, snapshot_id: str, owner: str) -> dict:
    """The record of an export about to write the archive ``path``: what it will make, by name."""
    return {"snapshot_id": snapshot_id, "owner": owner, "path": path,
            "staging": os.path.join(os.path.dirname(path), STAGING_PREFIX + snapshot_id),
            "partial": partial_name(path, snapshot_id[:8])}


def abandoned(record: dict, lease_owner: str | None, lease_expires: float | None, now: float, me: str) -> bool:
    """Whether the export of ``record`` can no longer be running (``me``: the caller's lease owner)."""
    if lease_owner != me and lease_is_live(lease_owner, lease_expires, now):
        return False
    owner = record.get("owner")
    return owner == me or not running_here(owner)


def existing(record: dict) -> list:
    """The leftovers of ``record`` that are on disk: its staging folder, its partial archive, and its
    archive when the run died after renaming it (and before recording it: the record says so)."""
    found = [record[key] for key in ("staging", "partial") if record.get(key) and os.path.lexists(record[key])]
    path = record.get("path")
    if path and os.path.isfile(path) and snapshot_id_of(path) == record.get("snapshot_id"):
        found.append(path)
    return found


def remove(record: dict) -> tuple:
    """Remove what ``record``'s dead export left: ``(removed paths, [{path, error}] of those that stay)``."""
    removed, stuck = [], []
    for path in existing(record):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            removed.append(path)
        except OSError as exc:
            stuck.append({"path": path, "error": "%s: %s" % (type(exc).__name__, exc.strerror or exc)})
    return removed, stuck
