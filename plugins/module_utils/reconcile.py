# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Periodic housekeeping of the server rows (an AWX schedule or cron runs it; DESIGN.md "Servers").

``reconcile`` does, in this order:

1. **advance**: one step of every pending verification (``ServerService.verify_pending``): a row
   still ``starting``/``rebooting`` whose provider now says it runs becomes ``running``, a
   ``stopping`` one that stopped goes on to ``stopped``, ``deleting``, ``deleted``; a running row
   with a reboot requested is rebooted. Pools and application servers alike.
2. **hanging**: a row left in a transitive status for ``hanging_after`` seconds or more becomes
   ``hanging`` (its event carries the status it was in).
3. **prune**: ``deleted`` rows whose status changed more than ``prune_after`` seconds ago (strictly
   older) are removed. Their events stay: the outbox is append-only.
4. **applications** (unless ``applications=False``): for each application in the store, the
   servers' heartbeats are read (a silent root becomes ``problem``, a heard one heals), then the
   work that waits is carried on: instances whose desired state was not reached (waiting for an
   ancestor or an import that is there now, or left half-done by a run that died) get their
   operations. This is what makes desired states survive the process that asked for them.

In check mode nothing is written and no provider is asked: the rows that would be marked hanging
and pruned are listed, and the pending ones counted.
"""

from __future__ import annotations

import time

from .converge import Converger
from .engine import stored_application
from .errors import InputError
from .heartbeats import check_heartbeats
from .providers.registry import get_provider
from .servers import DELETED, RUNNING, TRANSITIVE, ServerService
from .store import Store

HANGING_AFTER = 600.0
PRUNE_AFTER = 7 * 86400.0


def reconcile(store_dsn: str | None = None, now: float | None = None, hanging_after: float = HANGING_AFTER,
              prune_after: float = PRUNE_AFTER, provider_factory=get_provider, provider_options: dict | None = None,
              check_mode: bool = False, clock=time.time, applications: bool = True,
              parallelism: int = 10) -> dict:
    """One housekeeping pass; returns ``{advanced, hanging, pruned, pending, summary, changed}``.

    ``advanced``, ``hanging``: lists of ``{name, status}`` (the status reached); ``pruned``: names;
    ``pending``: how many rows awaited a verification before the pass; ``summary``: the three
    counts. ``provider_options`` maps a provider name to options merged into every row's stored
    options (the credentials that rows never keep).
    """
    for key, value in (("hanging_after", hanging_after), ("prune_after", prune_after)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InputError("must be a number of seconds >= 0, got %r" % (value,), key=key)
    now = clock() if now is None else now
    extra = {name: dict(options or {}) for name, options in (provider_options or {}).items()}

    def factory(name, options):
        return provider_factory(name, dict(options, **extra.get(name, {})))

    with Store(store_dsn, clock=lambda: now) as store:
        pending = store.db.query("SELECT COUNT(*) FROM servers WHERE status IN (%s) OR (status = ? AND "
                                 "reboot_requested = 1)" % ", ".join("?" * len(TRANSITIVE)),
                                 sorted(TRANSITIVE) + [RUNNING])[0][0]
        if check_mode:
            hanging = [{"name": n, "status": "hanging"} for (n,) in store.db.query(
                "SELECT name FROM servers WHERE status IN (%s) AND status_changed_at <= ? ORDER BY id"
                % ", ".join("?" * len(TRANSITIVE)), sorted(TRANSITIVE) + [now - hanging_after])]
            pruned = sorted(n for (n,) in store.db.query(
                "SELECT name FROM servers WHERE status = ? AND status_changed_at < ?", (DELETED, now - prune_after)))
            apps = _applications(store, None, factory, True, parallelism) if applications else []
            return _summary([], hanging, pruned, pending, apps)

    service = ServerService(store_dsn, provider_factory=factory, clock=lambda: now, hanging_after=hanging_after)
    advanced = [{"name": r.name, "status": r.status} for r in service.verify_pending(now)]
    hanging = [{"name": r.name, "status": r.status} for r in service.mark_hanging(hanging_after, now)]
    with Store(store_dsn, clock=lambda: now) as store:
        with store.transaction(None) as tx:
            pruned = sorted(n for (n,) in tx.db.query(
                "DELETE FROM servers WHERE status = ? AND status_changed_at < ? RETURNING name",
                (DELETED, now - prune_after)))
        apps = _applications(store, now, factory, False, parallelism) if applications else []
    return _summary(advanced, hanging, pruned, pending, apps)


def _applications(store: Store, now, provider_factory, check_mode: bool, parallelism: int) -> list:
    """Heartbeats, then the waiting work of every application; one entry per application that
    had something to do: ``{application, problems, healed, operations, failed}``."""
    out = []
    for name in store.application_names():
        app = stored_application(store, name)
        beats = {} if check_mode else check_heartbeats(store, app, now=now, provider_factory=provider_factory)
        converger = Converger(store, app, parallelism=parallelism)
        if check_mode:
            operations = [{"operation": op.kind, "path": op.path, "planned": True}
                          for op in converger.plan(None).operations]
        else:
            operations = [op.as_dict() for op in converger.run(None).operations]
        if beats or operations:
            out.append({"application": name, "operations": operations,
                        "problems": sorted(p for p, s in beats.items() if s == "problem"),
                        "healed": sorted(p for p, s in beats.items() if s != "problem"),
                        "failed": [op for op in operations if op.get("ok") is False]})
    return out


def _summary(advanced: list, hanging: list, pruned: list, pending: int, applications: list) -> dict:
    return {"advanced": advanced, "hanging": hanging, "pruned": pruned, "pending": pending,
            "applications": applications,
            "summary": {"advanced": len(advanced), "hanging": len(hanging), "pruned": len(pruned),
                        "operations": sum(len(a["operations"]) for a in applications)},
            "changed": bool(advanced or hanging or pruned or any(a["operations"] or a["problems"] or a["healed"]
                                                                 for a in applications))}
