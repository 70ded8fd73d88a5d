# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Claim a clone under a permanent name, and release it.

**The claim is one transaction** (``store.reserves.claim_transaction``): on SQLite serialised with
every other reserve transaction (the write lock); on PostgreSQL serialised with every transaction
about the same name (an advisory lock), while claims of other names run side by side. In it: a
clone already claimed under that name is the answer (idempotent: a retried claim gets the same
clone); else the oldest ``ready`` clone of the current template becomes ``claimed`` with the name as
its alias, in one compare-and-set statement (``take_ready``; ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL). Two claims never get the same clone (Aegir read, then saved, with no lock); the alias
is unique in the store besides. The hit is the clone row's own ``claimed_at``: no counter row that
every claim would queue on.

When the reserve has no ready clone, the miss is counted and, with ``fallback``, a clone is made
at once under the permanent name itself (a cold create, the full build: ``fallback_used``); without
it, ``ReserveEmpty``. A clone of a ``stopped`` reserve is started after the transaction, holding
the clone's lease (so nothing migrates it meanwhile).

**Release** hands the clone back to the reserve when the reserve reuses released clones (its
template is still current, it was not a fallback create, the reserve is not full): ``returning``
then ``ready``; otherwise it is deleted (``deleting``).
"""

from __future__ import annotations

import re
import time

from ..errors import InputError, TransientError
from ..model.statuses import DELETED
from ..store import reserves as sql
from ..store.leases import lease_is_live
from .clones import build, clone_data, delete, give_back, move, needs_start, start, write_clone, write_low
from .schema import NAME_PATTERN
from .settings import HINTS, Settings
from .states import (BUILDING, CLAIMED, CLONE_CLAIMED, CLONE_RELEASED, DELETING, FALLBACK_USED, HANDED_OUT, READY,
                     RELEASED, RETURNING)

_NAME = re.compile(NAME_PATTERN)
CLAIMED_NOW, EXISTING, FALLBACK, RESUME, EMPTY = "claimed", "existing", "fallback", "resume", "empty"


class ReserveEmpty(TransientError):
    """The reserve had no ready clone and the claim was not to fall back on a cold create."""


def check_name(value, key: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InputError("%r is not a valid name" % (value,), key=key, hint=HINTS["name"])
    return value


# -- claim ----------------------------------------------------------------------------------------------

def claim(svc, reserve_name: str, name: str, fallback: bool = True, store=None) -> dict:
    """Claim a clone of ``reserve_name`` under ``name`` (see the module's docstring). ``store``: an
    open store to use (a module's), else one is opened: a claim is then one connection, one
    transaction and one read of the clone's exports."""
    check_name(reserve_name, "reserve")
    check_name(name, "name")
    if store is None:
        with svc.store() as opened:
            return claim(svc, reserve_name, name, fallback, opened)
    started = time.perf_counter()
    with sql.claim_transaction(store, name) as tx:
        kind, clone, reserve = _take(svc, tx, reserve_name, name, fallback)
    seconds = time.perf_counter() - started
    if kind == EMPTY:
        raise ReserveEmpty("reserve %r has no ready clone, and fallback is false: %r was not made" % (
            reserve_name, name), retry_after=None)
    started_now = clone.lease_owner == svc.owner
    if kind in (FALLBACK, RESUME):
        clone = build(svc, reserve, clone, started=True)
    elif started_now:
        start(svc, clone)
        clone = sql.clone_named(store.db, clone.name)
    return claim_result(store, clone, kind, seconds, changed=kind != EXISTING or started_now)


def _take(svc, tx, reserve_name: str, name: str, fallback: bool) -> tuple:
    """``(kind, clone, reserve)``: what the claim transaction did."""
    existing, application, server = sql.name_in_use(tx.db, name)
    if existing is not None:
        return _existing(svc, tx, reserve_name, existing)
    reserve = sql.reserve(tx.db, reserve_name)
    if reserve is None:
        raise InputError("no reserve named %r in the store %s" % (reserve_name, tx.store.identity), key="reserve",
                         hint="create it first with appgraph.lifecycle.reserve")
    _check_free(name, application, server)
    settings = Settings.from_dict(reserve.settings)
    lease = (svc.owner, tx.now + svc.lease_seconds) if settings.pool_state == "stopped" else (None, None)
    clone = sql.take_ready(tx, reserve_name, reserve.template_digest, READY, CLAIMED, name, *lease)
    if clone is not None:
        tx.append_events([(clone.name, CLONE_CLAIMED, clone_data(clone))])
        _low(tx, reserve, settings)
        return CLAIMED_NOW, clone, reserve
    sql.count_miss(tx, reserve_name)
    _low(tx, reserve, settings)
    if not fallback:
        return EMPTY, None, reserve
    tx.append_events([(name, FALLBACK_USED, {"reserve": reserve_name, "alias": name, "reason": "no ready clone"})])
    return FALLBACK, write_clone(tx, svc, reserve, name, None, alias=name), reserve


def _existing(svc, tx, reserve_name: str, clone) -> tuple:
    """A clone claimed under the name already: the same one (idempotent), started if need be."""
    if clone.reserve != reserve_name:
        raise InputError("%r is claimed from the reserve %r, not %r" % (clone.alias, clone.reserve, reserve_name),
                         key="name", hint="names are unique in the store: use another name, or that reserve")
    if clone.state in (RETURNING, DELETING):
        raise TransientError("%r is being released (clone %s is %s): claim it again once that is done"
                             % (clone.alias, clone.name, clone.state), retry_after=1.0)
    busy = lease_is_live(clone.lease_owner, clone.lease_expires, tx.now)
    if clone.state == BUILDING:
        if busy:
            raise TransientError("%r is being made by another run (clone %s)" % (clone.alias, clone.name),
                                 retry_after=1.0)
        reserve = sql.reserve(tx.db, reserve_name)
        if reserve is None:
            raise InputError("no reserve named %r in the store %s" % (reserve_name, tx.store.identity),
                             key="reserve", hint="release the name, or create the reserve again")
        if not sql.lease(tx, clone, svc.owner, tx.now + svc.lease_seconds):
            raise TransientError("%r is being made by another run (clone %s)" % (clone.alias, clone.name),
                                 retry_after=1.0)
        return RESUME, sql.clone_named(tx.db, clone.name), reserve
    if not busy and needs_start(tx.store, clone):
        # (on PostgreSQL a pass may migrate it meanwhile: then the lease is not taken, nothing starts)
        sql.lease(tx, clone, svc.owner, tx.now + svc.lease_seconds)
    return EXISTING, sql.clone_named(tx.db, clone.name), None


def _check_free(name: str, application: bool, status: str | None) -> None:
    if application:
        raise InputError("an application named %r exists already" % name, key="name",
                         hint="a claimed clone's application takes the name: choose a name no application has")
    if status is not None and status != DELETED:
        raise InputError("a server named %r exists already (%s)" % (name, status), key="name",
                         hint="choose a name no server has")


def _low(tx, reserve, settings: Settings) -> None:
    available = sql.count_ready(tx.db, reserve.name, reserve.template_digest, READY, limit=settings.minimum_size)
    if available < settings.minimum_size:
        write_low(tx, reserve, available, settings.minimum_size)


def claim_result(store, clone, kind: str, seconds: float, changed: bool) -> dict:
    """What ``reserve_claim`` returns: the server (name, alias, address, clone id, ...)."""
    exports = {}
    if clone.application and store.application(clone.application) is not None:
        exports = {path: row.exports for path, row in sorted(store.instance_rows(clone.application).items())
                   if row.exports}
    return {"changed": changed, "reserve": clone.reserve,
            "claim": kind, "claim_seconds": round(seconds, 6),
            "server": {"name": clone.name, "alias": clone.alias, "address": clone.address,
                       "clone_id": clone.clone_id, "fallback_used": clone.fallback, "state": clone.state,
                       "application": clone.application, "exports": exports}}


def plan_claim(svc, reserve_name: str, name: str, fallback: bool = True) -> dict:
    """What ``claim`` would do (check mode): reads, writes nothing."""
    check_name(reserve_name, "reserve")
    check_name(name, "name")
    with svc.store() as store:
        existing = sql.clone_by_alias(store.db, name)
        if existing is not None:
            if existing.reserve != reserve_name:
                raise InputError("%r is claimed from the reserve %r, not %r" % (name, existing.reserve, reserve_name),
                                 key="name")
            return dict(claim_result(store, existing, EXISTING, 0.0, needs_start(store, existing)), check_mode=True)
        reserve = sql.reserve(store.db, reserve_name)
        if reserve is None:
            raise InputError("no reserve named %r in the store %s" % (reserve_name, store.identity), key="reserve",
                             hint="create it first with appgraph.lifecycle.reserve")
        clone = sql.oldest_ready(store.db, reserve_name, reserve.template_digest, READY)
    if clone is None and not fallback:
        raise ReserveEmpty("reserve %r has no ready clone, and fallback is false" % reserve_name)
    server = {"name": clone.name if clone else name, "alias": name, "address": clone.address if clone else None,
              "clone_id": clone.clone_id if clone else None, "fallback_used": clone is None, "state": CLAIMED,
              "application": clone.application if clone else name, "exports": {}}
    return {"changed": True, "reserve": reserve_name, "claim": CLAIMED_NOW if clone else FALLBACK,
            "claim_seconds": 0.0, "server": server, "check_mode": True}


# -- release --------------------------------------------------------------------------------------------

def release(svc, reserve_name: str, name: str) -> dict:
    """Release the clone claimed under ``name``: back to the reserve, or deleted."""
    check_name(reserve_name, "reserve")
    check_name(name, "name")
    with svc.store() as store:
        with sql.reserve_transaction(store, reserve_name, name) as tx:
            clone = sql.clone_by_alias(tx.db, name)
            if clone is None or clone.reserve != reserve_name:
                return {"changed": False, "reserve": reserve_name, "released": None}
            reserve = sql.reserve(tx.db, reserve_name)
            if clone.state in (RETURNING, DELETING):        # a release that did not finish
                if lease_is_live(clone.lease_owner, clone.lease_expires, tx.now):
                    return {"changed": False, "reserve": reserve_name, "released": _released(clone)}
                sql.lease(tx, clone, svc.owner, tx.now + svc.lease_seconds)
            else:
                reuse = _reusable(tx.db, reserve, clone)
                move(tx, clone, RETURNING if reuse else DELETING, CLONE_RELEASED, {"reused": reuse},
                     reason=None if reuse else RELEASED, lease_owner=svc.owner,
                     lease_expires=tx.now + svc.lease_seconds)
            clone = sql.clone_named(tx.db, clone.name)
    if clone.state == RETURNING:
        stopped = reserve is not None and Settings.from_dict(reserve.settings).pool_state == "stopped"
        give_back(svc, reserve, clone, stopped)
    else:
        delete(svc, clone)
    return {"changed": True, "reserve": reserve_name, "released": _released(clone)}


def _released(clone) -> dict:
    return {"name": clone.name, "alias": clone.alias, "clone_id": clone.clone_id,
            "reused": clone.state == RETURNING, "state": clone.state}


def _reusable(db, reserve, clone) -> bool:
    """A released clone goes back when the reserve reuses released clones, it was built from the
    current template, it was no fallback create, and the reserve is not full."""
    if reserve is None or clone.fallback or clone.state not in HANDED_OUT \
            or clone.template_digest != reserve.template_digest:
        return False
    settings = Settings.from_dict(reserve.settings)
    counted = sum(sql.count_ready(db, reserve.name, reserve.template_digest, s) for s in (READY, BUILDING))
    return settings.reuse_on_release and counted < settings.full_size


def plan_release(svc, reserve_name: str, name: str) -> dict:
    """What ``release`` would do (check mode)."""
    check_name(reserve_name, "reserve")
    check_name(name, "name")
    with svc.store() as store:
        clone = sql.clone_by_alias(store.db, name)
        if clone is None or clone.reserve != reserve_name:
            return {"changed": False, "reserve": reserve_name, "released": None, "check_mode": True}
        reuse = _reusable(store.db, sql.reserve(store.db, reserve_name), clone)
    released = dict(_released(clone), reused=reuse)
    return {"changed": clone.state not in (RETURNING, DELETING), "reserve": reserve_name, "released": released,
            "check_mode": True}
