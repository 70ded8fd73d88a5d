# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One housekeeping pass over a reserve (what ``reserve`` and ``reconcile`` run).

Two steps, as pools do:

1. **Decide** in ONE transaction serialised with the reserve's claims (``reserve_transaction``):
   read the clones and which of them a live process works on, apply ``decision.decide``, and write
   what follows: claimed clones migrated (each a rename in this same transaction), expired clones
   ``deleting``, the leases of the clones taken up, and the new clones (their server rows, names
   from the reserve's counter skipping every name the store or the provider has). Two passes racing
   never both refill: the second reads what the first wrote.
2. **Act** on the executor, at most ``refill_concurrency`` clones at once: build the new and the
   resumed clones, delete the expired ones, give back the returning ones. A clone that fails is
   reported in ``failed`` and never stops the others.

The provider's server names (for ``next_clone_id``'s "skip names that exist at the provider") are
listed before the transaction, and only when the pass may make clones: no provider call holds the
lock. In check mode nothing is written and no provider is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import AppGraphError, InstallerError, TransientError, describe
from ..executor import Executor, Task
from ..store import reserves as sql
from ..store.leases import lease_is_live
from .clones import build, delete, give_back, migrate, move, write_clone, write_low
from .decision import Plan, decide, decide_absent
from .settings import Settings
from .states import CLAIMED, CLONE_EXPIRED, DELETING

ABSENT_CONCURRENCY = 10


@dataclass
class Work:
    """What the decision transaction handed to the executor."""

    build: list = field(default_factory=list)
    resumed: list = field(default_factory=list)
    delete: list = field(default_factory=list)
    give_back: list = field(default_factory=list)
    migrated: list = field(default_factory=list)
    expired: list = field(default_factory=list)


def housekeep(svc, name: str, check_mode: bool = False, absent: bool = False, reserve=None) -> dict:
    """One pass over the reserve ``name`` (``absent``: it is being removed); its report. In check
    mode, ``reserve`` (a row not written yet) is planned against instead of the stored one."""
    now = svc.clock()
    with svc.store() as store:
        reserve = reserve if check_mode and reserve is not None else sql.reserve(store.db, name)
        settings = Settings.from_dict(reserve.settings) if reserve is not None else None
        absent = absent or reserve is None
        first = _plan(store.db, name, reserve, settings, now, absent)
        if check_mode:
            return _planned(store.db, name, reserve, settings, first)
        taken = _provider_names(svc, reserve, store.fleet) if first.build else set()
        with sql.reserve_transaction(store, name) as tx:
            reserve = sql.reserve(tx.db, name)         # again, under the lock: what the pass acts on
            settings = Settings.from_dict(reserve.settings) if reserve is not None else None
            absent = absent or reserve is None
            plan = _plan(tx.db, name, reserve, settings, now, absent)
            work = _write(svc, tx, reserve, settings, plan, taken)
        report = _report(name, plan, work)
    concurrency = settings.refill_concurrency if settings is not None else ABSENT_CONCURRENCY
    _act(svc, reserve, settings, work, concurrency, report)
    return report


def _plan(db, name: str, reserve, settings, now: float, absent: bool) -> Plan:
    rows = sql.clones(db, name)
    busy = _busy(db, rows, now)
    if absent:
        return decide_absent(rows, busy)
    return decide(settings, rows, reserve.template_digest, now, settings.window_open(now), busy)


def _busy(db, rows: list, now: float) -> set:
    """Clones a live process works on: a live lease on the clone, or, for a claimed one, on any of
    its instances (an operation of its application in flight: no migration under its feet)."""
    busy = {c.id for c in rows if lease_is_live(c.lease_owner, c.lease_expires, now)}
    for clone in rows:
        if clone.state == CLAIMED and clone.id not in busy and any(
                lease_is_live(owner, expires, now) for owner, expires in sql.instance_leases(db, clone.application)):
            busy.add(clone.id)
    return busy


def _provider_names(svc, reserve, fleet: str) -> set:
    """The names of the servers the reserve's provider has for this store's fleet (made by anyone,
    by hand too: a clone never takes such a name)."""
    from ..servers.flows import fleet_provider  # pylint: disable=import-outside-toplevel
    try:
        provider = fleet_provider(svc.provider_factory, reserve.provider, reserve.provider_options, fleet)
        return {s.name for s in provider.list_servers()}
    except AppGraphError:
        raise
    except Exception as exc:        # a provider's own failure: say which
        raise InstallerError("reserve %s: cannot list the servers at provider %s: %s"
                             % (reserve.name, reserve.provider, describe(exc))) from exc


def _write(svc, tx, reserve, settings, plan: Plan, provider_names: set) -> Work:
    work = Work()
    expires = tx.now + svc.lease_seconds
    for clone in plan.migrate:
        if migrate(tx, clone):
            work.migrated.append(clone)
    for clone, reason in plan.expire:
        if not move(tx, clone, DELETING, CLONE_EXPIRED, {"reason": reason}, reason=reason, lease_owner=svc.owner,
                    lease_expires=expires):
            continue        # claimed meanwhile (on PostgreSQL claims do not wait for this transaction)
        work.expired.append((clone, reason))
        work.delete.append(sql.clone_named(tx.db, clone.name))
    leased = {c.id for c in plan.resume + plan.teardown + plan.give_back if sql.lease(tx, c, svc.owner, expires)}
    work.resumed = [c for c in plan.resume if c.id in leased]           # (others: a claim took them meanwhile)
    work.delete += [c for c in plan.teardown if c.id in leased]
    work.give_back = [c for c in plan.give_back if c.id in leased]
    for clone_id, name in _new_names(tx, reserve, settings, plan.build, provider_names):
        work.build.append(write_clone(tx, svc, reserve, name, clone_id))
    if plan.low:
        write_low(tx, reserve, plan.available, plan.minimum)
    return work


def _new_names(tx, reserve, settings, count: int, provider_names: set) -> list:
    """``count`` ``(clone id, name)`` from the reserve's counter, skipping names that exist."""
    names: list = []
    while len(names) < count:
        need = count - len(names)
        first = sql.take_clone_ids(tx, reserve.name, need)
        candidates = [(i, "%s%d" % (settings.clone_prefix, i)) for i in range(first, first + need)]
        taken = sql.names_taken(tx.db, [n for _i, n in candidates]) | provider_names
        names += [(i, n) for i, n in candidates if n not in taken]
    return names


def _act(svc, reserve, settings, work: Work, concurrency: int, report: dict) -> None:
    started = settings is not None and settings.pool_state == "running"
    stopped = settings is not None and settings.pool_state == "stopped"

    def run(task, _deadline):
        kind, clone = task.payload
        if kind == "build":
            return build(svc, reserve, clone, started)
        if kind == "delete":
            return delete(svc, clone)
        return give_back(svc, reserve, clone, stopped)

    tasks = ([Task(c.name, ("build", c)) for c in work.build + work.resumed]
             + [Task(c.name, ("delete", c)) for c in work.delete]
             + [Task(c.name, ("give_back", c)) for c in work.give_back])
    if not tasks:
        return
    outcome = Executor(run, parallelism=concurrency).run(tasks, lambda batch: None)
    for result in outcome.results:
        if result.ok:
            continue
        entry = {"name": result.key, "error": result.error_text}
        if isinstance(result.error, TransientError):
            report["pending"].append(entry)
        else:
            report["failed"].append(entry)


def _report(name: str, plan: Plan, work: Work) -> dict:
    return {"reserve": name, "window_open": plan.window_open, "low": plan.low, "available": plan.available,
            "target": plan.target, "built": [c.name for c in work.build], "resumed": [c.name for c in work.resumed],
            "expired": [{"name": c.name, "reason": reason} for c, reason in work.expired],
            "deleted": [c.name for c in work.delete], "returned": [c.name for c in work.give_back],
            "migrated": [{"name": c.name, "alias": c.alias} for c in work.migrated], "failed": [], "pending": [],
            "changed": bool(work.build or work.resumed or work.delete or work.give_back or work.migrated)}


def _planned(db, name: str, reserve, settings, plan: Plan) -> dict:
    """The report of a pass that would run now (check mode): nothing written, no provider called."""
    work = Work(resumed=list(plan.resume), delete=[c for c, _r in plan.expire] + list(plan.teardown),
                give_back=list(plan.give_back), migrated=list(plan.migrate), expired=list(plan.expire))
    report = _report(name, plan, work)
    if plan.build:
        first = reserve.next_clone_id
        names, number = [], first
        while len(names) < plan.build:
            candidates = ["%s%d" % (settings.clone_prefix, n) for n in range(number, number + plan.build)]
            taken = sql.names_taken(db, candidates)
            names += [n for n in candidates if n not in taken][:plan.build - len(names)]
            number += plan.build
        report["built"] = names
    report["changed"] = plan.acts
    report["check_mode"] = True
    return report
