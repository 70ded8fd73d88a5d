# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provision manager (DFE's ProvisionManager): ``provision``, ``deprovision``, ``export`` and
``import``, each idempotent by instance id, each firing an event per service and per sub-service.

Where DFE went wrong, and what is done here instead:

- its ``force`` flag was stored under one key and read under another, so a rollback never forced:
  there is no flag; a rollback always undoes every part that may exist (``runs.Run.rollback``);
- it queued a provision and looked the instance up at once: every service here runs to its end
  before it returns, and its result is what the store says afterwards;
- options and packages were dropped on the way: the request (owner, guest location, offerings)
  is stored with the row, and carried by every event and the snapshot's manifest;
- a failed provision deprovisioned storage twice: each part's undoing is written as it ends, and
  a part undone is never undone again;
- snapshot restore matched file names its exports never wrote: one module writes the archive
  (``snapshot.py``) and its names are the only ones the reader accepts (``extract.py``).

A row in ``provisioning`` or ``deprovisioning`` whose lease is dead (its process is gone) is
finished first: the provision rolled back, the deprovision carried on (``recover``). What a dead
export left on disk (its staging folder, its partial archive) is named in the row before it is made,
and removed by the next service on the tenant or by ``reconcile`` (``leftovers.py``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid

from ..errors import ConflictError, InputError, PermanentError, describe
from ..store import provisions as sql
from ..store.leases import lease_is_live, new_owner
from ..store.store import Store
from . import leftovers, states
from .base import Context, Request
from .compression import EXTENSIONS, compression_of_name
from .config import Config, choose_offerings, load_config
from .extract import Limits, SnapshotRefused, stage_snapshot
from .registry import Registry
from .results import plan_or_same, row_view, service_result, summary_parts, undone_text
from .runs import Run
from .schema import ROLES
from .snapshot import make_manifest, stage_part, write_archive
from .sweep import sweep_all, sweep_one
from .validate import check_id, resource_uri

LEASE_SECONDS = 3600.0
DAY = 86400.0


class ProvisionManager:
    """Provisions in the store at ``store_dsn``, with the provisioners of ``config`` (a row made
    with another provisioners file is worked on with that file, read again)."""

    def __init__(self, store_dsn: str, config: Config | None = None, registry: Registry | None = None,
                 clock=time.time, sleep=time.sleep, provider_factory=None, owner: str | None = None,
                 timeout: float | None = None, polling: dict | None = None, lease_seconds: float = LEASE_SECONDS):
        self.store_dsn, self.config, self.registry = store_dsn, config, registry or Registry()
        self.clock, self.sleep, self.provider_factory = clock, sleep, provider_factory
        self.owner, self.timeout = owner or new_owner(), timeout
        self.polling, self.lease_seconds = dict(polling or {}), lease_seconds
        self._configs = {config.path: config} if config is not None else {}
        with self._store() as store:
            self.fleet = store.fleet

    # -- helpers ------------------------------------------------------------------------------------------

    def _store(self) -> Store:
        return Store(self.store_dsn, clock=self.clock)

    def _context(self) -> Context:
        deadline = None if self.timeout is None else self.clock() + self.timeout
        return Context(self.store_dsn, self.fleet, self.clock, self.sleep, self.provider_factory, deadline,
                       polling=self.polling)

    def _config_of(self, row=None) -> Config:
        path = row.config_path if row is not None and row.config_path else None
        if path is None or (self.config is not None and path == self.config.path):
            if self.config is None:
                raise InputError("no provisioners file given", key="provisioners",
                                 hint="the path of a provisioners.yml")
            return self.config
        if path not in self._configs:
            if not os.path.exists(path):
                raise PermanentError("instance %s was provisioned with %s, which is gone: give its provisioners "
                                     "file back to finish it" % (row.instance_id, path))
            self._configs[path] = load_config(path, self.registry)
        return self._configs[path]

    def _subs(self, config: Config, provisioner: str, context: Context) -> dict:
        chosen = config.provisioner(provisioner)
        return {role: self.registry.get(role, name)(options, context)
                for role, (name, options) in chosen.provides.items()}

    def _read(self, instance_id: str):
        with self._store() as store:
            return sql.read(store.db, instance_id)

    def _take(self, instance_id: str, service: str, new: dict | None = None):
        """Take the row's lease and write the state its service starts in; the row, or None when
        the service has nothing to do. A dead run's row is recovered first."""
        while True:
            with self._store() as store, store.transaction(None) as tx:
                row = sql.read(tx.db, instance_id)
                if row is not None and row.lease_owner and row.lease_owner != self.owner \
                        and lease_is_live(row.lease_owner, row.lease_expires, tx.now):
                    raise ConflictError("instance %r is being worked on by another run (%s)"
                                        % (instance_id, row.lease_owner), retry_after=1.0)
                if row is None or row.state not in states.TRANSITIVE:
                    return self._start(tx, row, service, new)
                sql.compare_and_set(tx, row, lease_owner=self.owner, lease_expires=tx.now + self.lease_seconds)
                dead = sql.read(tx.db, instance_id)
            self.recover(dead)

    def _start(self, tx, row, service: str, new: dict | None):
        if states.already_done(row.state if row else None, service):
            return None
        try:
            target = states.start(row.state if row else None, service)
        except states.Refused as exc:
            raise InputError("instance %r: %s" % (tx_id(row, new), exc), key="instance_id") from None
        lease = {"lease_owner": self.owner, "lease_expires": tx.now + self.lease_seconds}
        if row is None:
            sql.insert(tx, dict(new, state=states.CREATED, parts={}, **lease))
            row = sql.read(tx.db, new["instance_id"])
            sql.compare_and_set(tx, row, state=target, error=None)
        else:
            sql.compare_and_set(tx, row, state=target, error=None, **dict(new or {}, **lease))
        return sql.read(tx.db, row.instance_id)

    # -- provision ------------------------------------------------------------------------------------------

    def provision(self, owner: str, instance_id: str, guest_location: str | None = None, offerings=None,
                  provisioner: str | None = None, check_mode: bool = False) -> dict:
        check_id(owner, "owner")
        check_id(instance_id, "instance_id")
        config = self._config_of()
        chosen = config.provisioner(provisioner)
        request = Request(owner, instance_id, chosen.name, guest_location, choose_offerings(chosen, offerings))
        context = self._context()
        subs = self._subs(config, chosen.name, context)
        for sub in subs.values():
            sub.check(request)
        if not check_mode:
            sweep_one(self, instance_id)
        row = self._read(instance_id)
        _check_owner(row, owner)
        if check_mode or (row is not None and states.already_done(row.state, states.PROVISION)):
            return plan_or_same(row, request, subs, states.PROVISION, check_mode)
        new = {"instance_id": instance_id, "owner": owner, "provisioner": chosen.name, "config_path": config.path,
               "guest_location": guest_location, "offerings": request.offerings, "operation": states.PROVISION}
        row = self._take(instance_id, states.PROVISION, new)
        if row is None:
            return plan_or_same(self._read(instance_id), request, subs, states.PROVISION, False)
        return self._make(row, request, subs, context, states.PROVISION, chosen.resource_uri)

    def _make(self, row, request: Request, subs: dict, context: Context, service: str, uri_template,
              staged: dict | None = None, extra: dict | None = None) -> dict:
        """The steps of a provision or an import on the leased ``row``; a failure rolls back."""
        run = Run(self.store_dsn, self.clock, self.owner, request.instance_id, subs, request)
        parts = dict(row.parts)
        done = "imported" if service == states.IMPORT else "provisioned"
        try:
            parts = self._leftovers(run, parts)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            final = run.end(row.state, state=states.fail(service), parts=parts, error=describe(exc))
            return dict(service_result(final, subs, run.events), changed=True, error=describe(exc), not_undone=[])
        parts.update(extra or {})
        try:
            parts = run.provision(parts, done, staged)
            uri = resource_uri(uri_template, request, parts)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            not_undone = run.rollback(parts)
            error = describe(exc) + undone_text(not_undone)
            final = run.end(row.state, state=states.fail(service), parts=parts, error=error)
            return dict(service_result(final, subs, run.events), changed=True, error=error, not_undone=not_undone)
        final = run.end(row.state, [(done, {"provision": summary_parts(parts, subs)})], state=states.finish(service),
                        parts=parts, resource_uri=uri, error=None)
        return dict(service_result(final, subs, run.events), changed=True, secrets=dict(context.secrets))

    @staticmethod
    def _leftovers(run: Run, parts: dict) -> dict:
        """What a failed provision could not undo is undone before it is made again (``parts``
        keeps saying what is left when that fails)."""
        if any((parts.get(role) or {}).get("status") in states.EXISTS for role in ROLES):
            not_undone = run.rollback(parts)
            if not_undone:
                raise PermanentError("earlier parts still cannot be undone%s" % undone_text(not_undone))
        record = parts.get(states.EXPORT_RECORD)        # files a dead export left that could not be removed
        parts.clear()
        if record is not None:
            parts[states.EXPORT_RECORD] = record
        return parts

    # -- deprovision ----------------------------------------------------------------------------------------

    def deprovision(self, instance_id: str, keep_database: bool = False, check_mode: bool = False) -> dict:
        check_id(instance_id, "instance_id")
        if not check_mode:
            sweep_one(self, instance_id)
        row = self._read(instance_id)
        if row is None or states.already_done(row.state, states.DEPROVISION):
            return {"changed": False, "provision": row_view(row), "events": []}
        config = self._config_of(row)
        subs = self._subs(config, row.provisioner, self._context())
        if check_mode:
            undo = states.to_undo(row.parts, ROLES)
            return {"changed": bool(undo) or row.state != states.DEPROVISIONED, "check_mode": True,
                    "provision": row_view(row), "plan": ["deprovision %s (%s)%s" % (
                        role, row.parts[role].get("name"), ", kept" if keep_database and role == "database" else "")
                        for role in undo], "events": []}
        row = self._take(instance_id, states.DEPROVISION)
        if row is None:
            return {"changed": False, "provision": row_view(self._read(instance_id)), "events": []}
        return self._unmake(row, subs, keep_database)

    def _unmake(self, row, subs: dict, keep_database: bool) -> dict:
        request = Request.of_row(row)
        run = Run(self.store_dsn, self.clock, self.owner, row.instance_id, subs, request)
        parts = dict(row.parts)
        try:
            parts = run.deprovision(parts, keep_database)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            final = run.end(row.state, state=states.DEPROVISIONING_ERROR, parts=parts, error=describe(exc))
            return dict(service_result(final, subs, run.events), changed=True, error=describe(exc))
        final = run.end(row.state, [("deprovisioned", {"provision": summary_parts(parts, subs)})],
                        state=states.DEPROVISIONED, parts=parts, error=None)
        return dict(service_result(final, subs, run.events), changed=True)

    # -- recovery (a run that died) ----------------------------------------------------------------------

    def recover(self, row) -> dict:
        """Finish the work of a run that died on ``row`` (whose lease this manager now holds): a
        provision (or import) is rolled back, a deprovision is carried on."""
        subs = self._subs(self._config_of(row), row.provisioner, self._context())
        if states.interrupted(row.state) == states.DEPROVISION:
            return self._unmake(row, subs, keep_database=False)
        run = Run(self.store_dsn, self.clock, self.owner, row.instance_id, subs, Request.of_row(row))
        parts = dict(row.parts)
        not_undone = run.rollback(parts)
        error = "interrupted (its process died): rolled back" + undone_text(not_undone)
        final = run.end(row.state, state=states.PROVISIONING_ERROR, parts=parts, error=error)
        return dict(service_result(final, subs, run.events), changed=True, error=error, not_undone=not_undone)

    def reconcile(self, check_mode: bool = False) -> dict:
        """Roll back or finish every provision whose run died; prune expired snapshots."""
        recovered, failed = [], []
        with self._store() as store:
            rows = sql.select(store.db, states.TRANSITIVE)
            expired = sql.snapshots(store.db, expired_at=self.clock())
        for row in rows:
            if lease_is_live(row.lease_owner, row.lease_expires, self.clock()):
                continue
            if check_mode:
                recovered.append({"instance_id": row.instance_id, "state": row.state})
                continue
            try:
                taken = self._take_dead(row)
                if taken is not None:
                    result = self.recover(taken)
                    recovered.append({"instance_id": row.instance_id, "state": result["provision"]["state"]})
            except Exception as exc:  # pylint: disable=broad-exception-caught
                failed.append({"instance_id": row.instance_id, "error": describe(exc)})
        cleaned = sweep_all(self, check_mode, failed)
        pruned = [s.path for s in expired] if check_mode else self._prune(expired)
        return {"changed": bool(recovered or pruned or cleaned), "recovered": recovered, "failed": failed,
                "pruned": pruned, "cleaned": cleaned}

    def _take_dead(self, row):
        with self._store() as store, store.transaction(None) as tx:
            if sql.compare_and_set(tx, row, lease_owner=self.owner, lease_expires=tx.now + self.lease_seconds):
                return sql.read(tx.db, row.instance_id)
        return None

    def _prune(self, expired: list) -> list:
        pruned = []
        for snapshot in expired:
            if os.path.exists(snapshot.path):
                os.remove(snapshot.path)
            with self._store() as store, store.transaction(None) as tx:
                sql.delete_snapshot(tx, snapshot.id)
                tx.append_events([(snapshot.instance_id, "snapshot_pruned", {"path": snapshot.path,
                                                                             "id": snapshot.id})])
            pruned.append(snapshot.path)
        return pruned

    # -- export ---------------------------------------------------------------------------------------------

    def export(self, instance_id: str, destination: str | None = None, check_mode: bool = False) -> dict:
        check_id(instance_id, "instance_id")
        row = self._read(instance_id)
        if row is None or row.state != states.PROVISIONED:
            raise InputError("instance %r is %s: only a provisioned instance is exported" % (
                instance_id, row.state if row else "not provisioned"), key="instance_id", hint="provision it first")
        config = self._config_of(row)
        subs = self._subs(config, row.provisioner, self._context())
        path = self._destination(config, instance_id, destination, make=not check_mode)
        dumps = [role for role in ROLES if role in subs and subs[role].dump_file
                 and (row.parts.get(role) or {}).get("status") == states.MADE]
        if check_mode:
            return {"changed": True, "check_mode": True, "provision": row_view(row),
                    "snapshot": {"path": path, "parts": dumps}, "events": []}
        sweep_one(self, instance_id)
        row = self._lease_provisioned(row)
        run = Run(self.store_dsn, self.clock, self.owner, instance_id, subs, Request.of_row(row))
        record = leftovers.export_record(path, uuid.uuid4().hex, self.owner)
        snapshot_id, staging = record["snapshot_id"], record["staging"]
        try:
            # The names go into the row before anything is made: a run killed now leaves a row that
            # says what may be on disk, for the next call to remove.
            run.write(dict(row.parts, **{states.EXPORT_RECORD: record}))
            os.mkdir(staging, 0o700)
            staged, digests = {}, {}
            for role in dumps:
                staged[role] = (subs[role].dump_file, os.path.join(staging, subs[role].dump_file))
                digests[role] = stage_part(subs[role], run.request, row.parts[role], row.parts, staged[role][1])
            at = self.clock()
            manifest = make_manifest(snapshot_id, run.request.as_dict(), at, staged, digests)
            sha256, size = write_archive(path, manifest, staged, compression_of_name(path, config.snapshots.compression),
                                         partial=record["partial"])
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)      # before the record goes: it names the folder
            self._release(row)
            raise
        shutil.rmtree(staging, ignore_errors=True)
        keep = config.snapshots.keep_days
        snapshot = sql.SnapshotRow(snapshot_id, instance_id, path, size, sha256, at, at + keep * DAY if keep else None)
        events = [("%s.exported" % role, {"part": {"file": manifest["parts"][role]["file"],
                                                   "size": manifest["parts"][role]["size"]}}) for role in dumps]
        events.append(("exported", {"snapshot": {"id": snapshot_id, "path": path, "size": size, "sha256": sha256}}))
        # The snapshot is recorded as the record goes, in one transaction: a run killed before
        # leaves a record naming an archive no snapshot row has, which the next call removes.
        final = run.end(states.PROVISIONED, events, also=lambda tx: sql.add_snapshot(tx, snapshot), parts=row.parts)
        return dict(service_result(final, subs, run.events), changed=True,
                    snapshot={"path": path, "id": snapshot_id, "size": size, "sha256": sha256, "manifest": manifest})

    def _destination(self, config: Config, instance_id: str, destination: str | None, make: bool = True) -> str:
        directory = destination or config.snapshots.directory
        if not directory:
            raise InputError("no destination, and the provisioners file names no snapshots directory",
                             key="destination", hint="a folder, or a file name ending .tar, .tar.gz or .tar.zst")
        directory = os.path.abspath(os.path.expanduser(directory))
        if compression_of_name(directory, "") and not os.path.isdir(directory):
            path = directory
        else:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock()))
            path = os.path.join(directory, "%s-%s-%s%s" % (instance_id, stamp, uuid.uuid4().hex[:6],
                                                           EXTENSIONS[config.snapshots.compression]))
        if make:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        return path

    def _lease_provisioned(self, row):
        with self._store() as store, store.transaction(None) as tx:
            current = sql.read(tx.db, row.instance_id)
            record = current.parts.get(states.EXPORT_RECORD) if current is not None else None
            if current is None or current.state != states.PROVISIONED or (record and not record.get("stuck")) or (
                    current.lease_owner and lease_is_live(current.lease_owner, current.lease_expires, tx.now)):
                raise ConflictError("instance %r is being worked on by another run" % row.instance_id,
                                    retry_after=1.0)
            if record:
                raise PermanentError("instance %r: an export that died left files that cannot be removed: %s" % (
                    row.instance_id, "; ".join("%s (%s)" % (s["path"], s["error"]) for s in record["stuck"])))
            sql.compare_and_set(tx, current, lease_owner=self.owner, lease_expires=tx.now + self.lease_seconds)
            return sql.read(tx.db, row.instance_id)

    def _release(self, row) -> None:
        """Give an export's lease back, with its record (what it made is removed)."""
        with self._store() as store, store.transaction(None) as tx:
            current = sql.read(tx.db, row.instance_id)
            if current is not None and current.lease_owner == self.owner:
                sql.compare_and_set(tx, current, lease_owner=None, lease_expires=None, parts=row.parts)

    # -- import ---------------------------------------------------------------------------------------------

    def import_snapshot(self, owner: str, instance_id: str, snapshot: str, guest_location: str | None = None,
                        provisioner: str | None = None, check_mode: bool = False) -> dict:
        check_id(owner, "owner")
        check_id(instance_id, "instance_id")
        if not isinstance(snapshot, str) or not snapshot:
            raise InputError("the snapshot to import is required", key="snapshot", hint="the path of an export")
        config = self._config_of()
        snapshot = os.path.abspath(os.path.expanduser(snapshot))
        staging = _staging_folder([config.snapshots.directory, os.path.dirname(snapshot), None])
        try:
            return self._import_staged(config, owner, instance_id, snapshot, guest_location, provisioner,
                                       check_mode, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _import_staged(self, config, owner, instance_id, snapshot, guest_location, provisioner, check_mode,
                       staging) -> dict:
        limits = Limits.of(config.snapshots.limits)
        manifest, files = stage_snapshot(snapshot, staging, limits)
        chosen = config.provisioner(provisioner or manifest["provisioner"])
        context = self._context()
        subs = self._subs(config, chosen.name, context)
        staged = self._check_parts(manifest, files, subs, snapshot)
        guest_location = guest_location if guest_location is not None else manifest.get("guest_location")
        request = Request(owner, instance_id, chosen.name, guest_location,
                          choose_offerings(chosen, manifest.get("offerings") or {}))
        for sub in subs.values():
            sub.check(request)
        if not check_mode:
            sweep_one(self, instance_id)
        row = self._read(instance_id)
        _check_owner(row, owner)
        if row is not None and row.state == states.PROVISIONED:
            if (row.parts.get("import") or {}).get("snapshot_id") == manifest["id"]:
                return dict(plan_or_same(row, request, subs, states.IMPORT, False), manifest=manifest)
            raise InputError("instance %r is provisioned already: deprovision it before importing into it"
                             % instance_id, key="instance_id")
        if check_mode:
            return dict(plan_or_same(row, request, subs, states.IMPORT, True), manifest=manifest)
        new = {"instance_id": instance_id, "owner": owner, "provisioner": chosen.name, "config_path": config.path,
               "guest_location": guest_location, "offerings": request.offerings, "operation": states.IMPORT}
        row = self._take(instance_id, states.IMPORT, new)
        extra = {"import": {"snapshot_id": manifest["id"], "snapshot": snapshot}}
        result = self._make(row, request, subs, context, states.IMPORT, chosen.resource_uri, staged, extra)
        return dict(result, manifest=manifest)

    @staticmethod
    def _check_parts(manifest: dict, files: dict, subs: dict, snapshot: str) -> dict:
        """Every part of the snapshot has a sub-provisioner that reads it; the dumps are checked,
        still in the staging folder."""
        staged = {}
        for role, path in files.items():
            sub = subs.get(role)
            if sub is None or sub.dump_file != manifest["parts"][role]["file"]:
                raise SnapshotRefused("%s: its %s part (%s) does not fit the provisioner's %s" % (
                    snapshot, role, manifest["parts"][role]["file"], sub.name if sub else "(none)"))
            if role != "storage":           # the tree was extracted (safely) while it was read
                sub.verify(path)
            staged[role] = path
        return staged

    # -- looking --------------------------------------------------------------------------------------------

    def status(self, instance_id: str | None = None) -> dict:
        with self._store() as store:
            rows = sql.select(store.db, instance_id=instance_id)
            shots = sql.snapshots(store.db, instance_id)
        return {"changed": False, "provisions": [row_view(r) for r in rows],
                "snapshots": [{"id": s.id, "instance_id": s.instance_id, "path": s.path, "size": s.size,
                               "sha256": s.sha256, "created_at": s.created_at, "expires_at": s.expires_at}
                              for s in shots]}


# -- helpers ----------------------------------------------------------------------------------------------


def _staging_folder(candidates: list) -> str:
    """A new private folder in the first candidate that takes one (None: the system's temporary
    folder): on disk, never in memory, and on the snapshots' file system when it can be."""
    for folder in candidates:
        if folder is None or os.path.isdir(folder):
            try:
                return tempfile.mkdtemp(prefix=".import-", dir=folder)
            except OSError:
                continue
    raise PermanentError("no folder to stage the snapshot in")


def tx_id(row, new) -> str:
    return row.instance_id if row is not None else (new or {}).get("instance_id")


def _check_owner(row, owner: str) -> None:
    if row is not None and row.owner != owner and row.state not in (states.DEPROVISIONED,):
        raise InputError("instance %r belongs to the owner %r" % (row.instance_id, row.owner), key="owner",
                         hint="instance ids are unique in the store: use another one")
