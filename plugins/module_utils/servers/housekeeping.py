# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Periodic care of the server rows (what ``reconcile`` does for servers; DESIGN.md "Servers").

In this order:

1. **advance**: one step of every pending verification (``ServerService.verify_pending``): a row
   still ``starting``/``rebooting`` whose provider now says it runs becomes ``running``, a
   ``stopping`` one that stopped goes on to ``stopped``, ``deleting``, ``deleted``; a running row
   with a reboot requested is rebooted. Pools and application servers alike.
2. **hanging**: a row left in a transitive status for ``hanging_after`` seconds or more becomes
   ``hanging`` (its event carries the status it was in).
3. **prune**: ``deleted`` rows whose status changed more than ``prune_after`` seconds ago (strictly
   older) are removed. Their events stay: the outbox is append-only.

In check mode nothing is written and no provider is asked: the rows that would be marked hanging
and pruned are listed, and the pending ones counted.
"""

from __future__ import annotations

from ..errors import InputError
from ..model.statuses import HANGING
from ..store import servers as rows_sql
from ..store.store import Store
from .flows import HANGING_AFTER, ServerService

PRUNE_AFTER = 7 * 86400.0


def check_ages(hanging_after, prune_after) -> None:
    for key, value in (("hanging_after", hanging_after), ("prune_after", prune_after)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InputError("must be a number of seconds >= 0, got %r" % (value,), key=key)


def servers_housekeeping(store_dsn: str | None, now: float, provider_factory, hanging_after: float = HANGING_AFTER,
                         prune_after: float = PRUNE_AFTER, check_mode: bool = False) -> dict:
    """One pass: ``{advanced, hanging, pruned, pending}``; ``advanced`` and ``hanging`` list
    ``{name, status}`` (the status reached), ``pruned`` names, ``pending`` how many rows awaited a
    verification before the pass."""
    check_ages(hanging_after, prune_after)
    with Store(store_dsn, clock=lambda: now) as store:
        pending = rows_sql.count_pending(store.db)
        if check_mode:
            hanging = [{"name": r.name, "status": HANGING} for r in rows_sql.stale(store.db, now - hanging_after)]
            return {"advanced": [], "hanging": hanging, "pruned": rows_sql.deleted_before(store.db, now - prune_after),
                    "pending": pending}
    service = ServerService(store_dsn, provider_factory=provider_factory, clock=lambda: now,
                            hanging_after=hanging_after)
    advanced = [{"name": r.name, "status": r.status} for r in service.verify_pending(now)]
    hanging = [{"name": r.name, "status": r.status} for r in service.mark_hanging(hanging_after, now)]
    with Store(store_dsn, clock=lambda: now) as store:
        with store.transaction(None) as tx:
            pruned = rows_sql.prune(tx, now - prune_after)
    return {"advanced": advanced, "hanging": hanging, "pruned": pruned, "pending": pending}
