# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ``reconcile`` module (and ``playbooks/reconcile.yml``, an AWX schedule, cron) does.

1. the servers' rows (``servers.housekeeping``): pending verifications advanced, rows left in a
   transitive status marked ``hanging``, old ``deleted`` rows pruned;
2. the reserves (unless ``reserves=False``, ``reserves.housekeeping``): for each reserve (each of
   ``reserve_names`` when given), claimed clones migrated to their permanent name, clones left
   half-built or half-deleted by a run that died finished, and, inside the refill window, stale
   clones expired and the reserve refilled to ``full_size`` (outside it, to ``minimum_size``);
3. the applications (unless ``applications=False``): for each application in the store (each of
   ``application_names`` when given), the servers' heartbeats are read (a silent root becomes
   ``problem``, a heard one heals), then the work that waits is carried on: instances whose desired
   state was not reached (waiting for an ancestor or an import that is there now, or left half-done
   by a run that died) get their operations. This is what makes desired states survive the process
   that asked for them.
   Applications bound to others come after those they import from (chain reactions across
   applications settle in one pass).

In check mode nothing is written and no provider is asked.
"""

from __future__ import annotations

import time

from ..errors import InputError
from ..providers.registry import get_provider
from ..reserves.service import ReserveService
from ..runtime.bound import order_by_bindings
from ..runtime.converge import Converger
from ..runtime.heartbeats import check_heartbeats
from ..servers.flows import HANGING_AFTER
from ..servers.housekeeping import PRUNE_AFTER, check_ages, servers_housekeeping
from ..store.store import Store
from ..runtime.stored import stored_application


def reconcile(store_dsn: str | None = None, now: float | None = None, hanging_after: float = HANGING_AFTER,
              prune_after: float = PRUNE_AFTER, provider_factory=get_provider, provider_options: dict | None = None,
              check_mode: bool = False, clock=time.time, applications: bool = True,
              parallelism: int = 10, reserves: bool = True, application_names: list | None = None,
              reserve_names: list | None = None, provisions: bool = True) -> dict:
    """One housekeeping pass; returns ``{advanced, hanging, pruned, pending, reserves, applications,
    unknown, summary, changed}`` (see ``servers_housekeeping`` for the first four). ``provider_options``
    maps a provider name to options merged into every row's stored options (the credentials that rows
    never keep). ``provisions``: also roll back or finish the provisions whose run died and prune
    expired snapshots (``provisions`` in the result). ``application_names`` and ``reserve_names`` (when given) limit the passes over the
    applications and the reserves to those; the names the store does not have are in ``unknown``."""
    check_ages(hanging_after, prune_after)
    if isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 1:
        raise InputError("must be an integer >= 1, got %r" % (parallelism,), key="parallelism")
    application_names = _names(application_names, "application_names")
    reserve_names = _names(reserve_names, "reserve_names")
    now = clock() if now is None else now
    extra = {name: dict(options or {}) for name, options in (provider_options or {}).items()}

    def factory(name, options):
        return provider_factory(name, dict(options, **extra.get(name, {})))

    servers = servers_housekeeping(store_dsn, now, factory, hanging_after, prune_after, check_mode)
    passes = []
    if reserves:
        # The reserves' clock starts at ``now`` and runs on: a clone's build waits on real servers.
        started = time.monotonic()
        service = ReserveService(store_dsn, provider_factory=factory, clock=lambda: now + time.monotonic() - started)
        passes = service.housekeep_all(check_mode=check_mode, only=reserve_names)
    apps, unknown = [], []
    if applications:
        with Store(store_dsn, clock=lambda: now) as store:
            names = store.application_names()
            if application_names is not None:
                unknown = ["application %s" % n for n in sorted(application_names - set(names))]
                names = [n for n in names if n in application_names]
            apps = _applications(store, names, None if check_mode else now, factory, check_mode, parallelism)
    if reserves and reserve_names is not None:
        unknown += ["reserve %s" % n for n in sorted(reserve_names - {p["reserve"] for p in passes})]
    result = _summary(servers["advanced"], servers["hanging"], servers["pruned"], servers["pending"], apps, passes)
    result["unknown"] = unknown
    if provisions:
        # Provisions whose run died are rolled back (or, a deprovision, finished); expired snapshots go.
        from .provisioning import reconcile_provisions  # pylint: disable=import-outside-toplevel
        result["provisions"] = reconcile_provisions(store_dsn, lambda: now, check_mode)
        result["changed"] = result["changed"] or result["provisions"]["changed"]
    return result


def _names(names, key: str) -> set | None:
    if names is None:
        return None
    if not isinstance(names, (list, tuple, set)) or not all(isinstance(n, str) and n for n in names):
        raise InputError("must be a list of names, got %r" % (names,), key=key,
                         hint="leave it out to look after every one")
    return set(names)


def _applications(store: Store, names: list, now, provider_factory, check_mode: bool, parallelism: int) -> list:
    """Heartbeats, then the waiting work of every application of ``names``; one entry per application
    that had something to do: ``{application, problems, healed, operations, failed}``."""
    out = []
    # exporters before their importers: an importer's run then sees what they publish after theirs
    for name in order_by_bindings(names, store.all_bindings()):
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


def _summary(advanced: list, hanging: list, pruned: list, pending: int, applications: list, reserves: list) -> dict:
    return {"advanced": advanced, "hanging": hanging, "pruned": pruned, "pending": pending,
            "applications": applications, "reserves": reserves,
            "summary": {"advanced": len(advanced), "hanging": len(hanging), "pruned": len(pruned),
                        "operations": sum(len(a["operations"]) for a in applications)},
            "changed": bool(advanced or hanging or pruned or any(a["operations"] or a["problems"] or a["healed"]
                                                                 for a in applications)
                            or any(r["changed"] for r in reserves))}
