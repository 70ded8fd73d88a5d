# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What happens to one clone: written, built, migrated, given back, deleted (the I/O around the
clone life cycle of ``states``).

Every step follows the store's rule: the state is written (with its event, and a lease naming who
works on the clone) before the slow work it announces, and each piece of slow work is idempotent, so
that a process that dies leaves a clone whose state says what to finish, and whose dead lease lets
the next pass finish it:

- **build** (``building``): the server row was written with the clone's (status ``new``, its
  client token), so the server flow, resumed, adopts what a dead process made; the clone's
  application is added if it is not there yet (with its root bound to the clone's server), then
  converged (started, or only deployed for a ``stopped`` reserve): a converge carries on what a
  dead one left. Then ``ready`` (``migrated`` for a fallback create, which is made under its
  permanent name). A failure makes it ``deleting`` (reason ``failed``) and it is deleted at once.
- **migrate** (``claimed`` -> ``migrated``): one transaction renames the clone's application (its
  instances and server rows) to the permanent name; it is taken only when no lease is live on the
  clone or on any of its instances (no claim, no operation running on it).
- **give back** (``returning`` -> ``ready``): a released clone of a reserve with
  ``reuse_on_release``: stopped again when the reserve keeps its clones stopped, renamed back to its
  clone name, alias cleared, in the reserve again.
- **delete** (``deleting``): the application undeployed (its undeploy recipes run), the server
  stopped and deleted whatever the undeploy said (the server is what costs), the application and
  then the clone row removed.
"""

from __future__ import annotations

from ..errors import AppGraphError, InstallerError, TransientError, describe
from ..runtime.settle import DEPLOY, START, STOP, UNDEPLOY, settle
from ..runtime.stored import stored_application
from ..model.statuses import EVENT_KINDS, NEW
from ..store import reserves as sql
from ..store import servers as rows_sql
from ..store.reserves import CloneRow, NewClone, ReserveRow
from ..store.servers import NewServer
from .states import (BUILDING, CLONE_CREATED, CLONE_DELETED, CLONE_FAILED, CLONE_MIGRATED, CLONE_READY,
                     CLONE_RETURNED, DELETING, FAILED, MIGRATED, READY, RESERVE_LOW, check_move)
from .template import add_on_server, renamed

# The converge machinery (lifecycle, executor, installers) and the server flows (which bring the
# providers, http.client, ssl) are imported by the steps that use them: a claim needs none of them,
# and under Ansible every module imported is compiled anew on every run (a claim task paid 0.2 s).


def clone_data(clone: CloneRow, **more) -> dict:
    """What every event about ``clone`` says."""
    data = {"reserve": clone.reserve, "clone": clone.name, "clone_id": clone.clone_id, "alias": clone.alias,
            "state": clone.state, "application": clone.application}
    data.update(more)
    return data


# -- written (in the caller's reserve transaction) --------------------------------------------------------

def write_low(tx, reserve: ReserveRow, available: int, minimum: int) -> None:
    """The ``reserve_low`` event: ``available`` ready clones of the current template, fewer than
    ``minimum``. ``refilling`` counts the clones of the current template being built once this
    transaction commits, so that a consumer (the refill rulebook) acts only when nobody refills."""
    refilling = sql.count_ready(tx.db, reserve.name, reserve.template_digest, BUILDING)
    tx.append_events([(reserve.name, RESERVE_LOW, {"reserve": reserve.name, "available": available,
                                                   "minimum_size": minimum, "refilling": refilling})])


def write_clone(tx, svc, reserve: ReserveRow, name: str, clone_id: int | None, alias: str | None = None) -> CloneRow:
    """The rows of a new clone ``name``: its server (status ``new``, with its client token and
    ``creating`` event) and the clone (``building``, our lease). The caller made sure the name is free."""
    from ..servers.flows import client_token, event_data  # pylint: disable=import-outside-toplevel
    instance_path = reserve.template["root"] if reserve.template else None
    tags = {"appgraph_reserve": reserve.name, "appgraph_clone": name, "appgraph_application": name}
    if instance_path:
        tags["appgraph_instance"] = instance_path
    fleet = tx.store.fleet
    server = NewServer(name=name, server_type=reserve.name, provider=reserve.provider,
                       provider_options=reserve.provider_options, provider_identity=reserve.provider_identity,
                       client_token=client_token(fleet, name, 0), tags=tags, application=name,
                       instance_path=instance_path, fleet=fleet)
    if rows_sql.insert(tx, server):
        tx.append_events([(name, EVENT_KINDS[NEW], event_data(rows_sql.read(tx.db, name)))])
    clone = sql.insert_clone(tx, NewClone(reserve=reserve.name, name=name, clone_id=clone_id, state=BUILDING,
                                          template_digest=reserve.template_digest, application=name, alias=alias,
                                          fallback=alias is not None, lease_owner=svc.owner,
                                          lease_expires=tx.now + svc.lease_seconds))
    tx.append_events([(name, CLONE_CREATED, clone_data(clone, template_digest=reserve.template_digest,
                                                       fallback=clone.fallback))])
    return clone


def move(tx, clone: CloneRow, state: str, event: str | None = None, data: dict | None = None, **columns) -> bool:
    """``clone`` to ``state`` (compare and set), with its event."""
    check_move(clone.state, state)
    if not sql.move(tx, clone, state, **columns):
        return False
    if event:
        tx.append_events([(clone.name, event, clone_data(clone, **dict(data or {}, state=state)))])
    return True


def migrate(tx, clone: CloneRow) -> bool:
    """``claimed`` -> ``migrated``: the clone's application (or, for a bare server, its server row)
    takes the permanent name, in the caller's transaction; False (nothing done) when its lease
    changed since it was read (a claim took it to start it: on PostgreSQL claims do not wait for
    the pass)."""
    if not sql.lease(tx, clone, clone.lease_owner, clone.lease_expires):
        return False
    record = tx.store.application(clone.application)
    if record is not None:
        document, digest = renamed(record.document, clone.alias)
        sql.rename_application(tx, clone.application, clone.alias, document, digest)
    else:
        sql.rename_servers(tx, clone.application, clone.alias)
    if not move(tx, clone, MIGRATED, CLONE_MIGRATED, {"application": clone.alias,
                                                      "previous_application": clone.application},
                application=clone.alias, migrated_at=tx.now):
        raise TransientError("clone %s changed while it was migrated" % clone.name)     # rolls the rename back
    return True


# -- built -----------------------------------------------------------------------------------------------

def build(svc, reserve: ReserveRow, clone: CloneRow, started: bool) -> CloneRow:
    """Build ``clone`` (it holds our lease) and put it in the reserve (``ready``), or, for a
    fallback create, hand it over (``migrated``). ``started``: converge to started (else deployed
    only). A failure deletes what was made and raises InstallerError; TransientError (another
    process converges the same application) leaves it ``building`` for a later pass."""
    with svc.store() as store:
        try:
            if reserve.template is not None:
                app = _clone_application(store, reserve, clone)
                _converge(svc, store, app, START if started else DEPLOY)
            else:
                svc.servers().resume(clone.name, svc.deadline())
        except TransientError:
            _give_lease_back(store, clone)
            raise
        except AppGraphError as exc:
            failed = _failed(store, clone, exc)
            delete(svc, failed)
            raise InstallerError("clone %s of reserve %s could not be built: %s" % (clone.name, clone.reserve, exc),
                                 "what was made of it is deleted again; the next pass makes another") from exc
        state = MIGRATED if clone.fallback else READY
        with sql.reserve_transaction(store, clone.reserve) as tx:
            now = tx.now
            columns = {"ready_at": now, "lease_owner": None, "lease_expires": None}
            if clone.fallback:
                columns.update(migrated_at=now, claimed_at=clone.claimed_at or now)
            ready = {"address": sql.clone_named(tx.db, clone.name).address, "seconds": round(now - clone.created_at, 3)}
            if not move(tx, clone, state, CLONE_READY, ready, **columns):
                raise TransientError("clone %s changed while it was built" % clone.name)
        return sql.clone_named(store.db, clone.name)


def _clone_application(store, reserve: ReserveRow, clone: CloneRow):
    """The clone's application, its root instance bound to the clone's server."""
    return add_on_server(store, reserve.template, reserve.source, clone.application, reserve.provider,
                         reserve.provider_options, reserve.name, clone.name,
                         {"reserve": reserve.name, "clone": clone.name})


def _converge(svc, store, app, action: str) -> None:
    settle(store, app, action, svc.installers(), timeout=svc.build_timeout)


def _failed(store, clone: CloneRow, exc: Exception) -> CloneRow:
    error = describe(exc)
    with sql.reserve_transaction(store, clone.reserve) as tx:
        current = sql.clone_named(tx.db, clone.name)
        if current is not None and current.state != DELETING:
            move(tx, current, DELETING, CLONE_FAILED, {"error": error}, reason=FAILED, error=error)
    return sql.clone_named(store.db, clone.name)


def _give_lease_back(store, clone: CloneRow) -> None:
    with sql.reserve_transaction(store, clone.reserve) as tx:
        current = sql.clone_named(tx.db, clone.name)
        if current is not None:
            sql.lease(tx, current, None, None)


# -- started on claim, given back -------------------------------------------------------------------------

def start(svc, clone: CloneRow) -> None:
    """Start the claimed clone's application (a ``stopped`` reserve's clone, or one whose start
    did not finish), then give its lease back; InstallerError when it does not start."""
    with svc.store() as store:
        try:
            if store.application(clone.application) is not None:
                _converge(svc, store, stored_application(store, clone.application), START)
        finally:
            _give_lease_back(store, clone)


def needs_start(store, clone: CloneRow) -> bool:
    """Whether the clone's application is not (all) started: from the instance states alone."""
    rows = store.instance_states(clone.application) if clone.application else None
    if not rows:
        return False
    from ..lifecycle import at_rest  # pylint: disable=import-outside-toplevel
    return not at_rest(START, [(parent is None, state) for _p, parent, _c, state, _o, _e in rows])


def give_back(svc, reserve: ReserveRow | None, clone: CloneRow, stopped: bool) -> CloneRow:
    """``returning`` -> ``ready``: stopped again if the reserve keeps its clones stopped, then
    renamed back to the clone's name, in the reserve again (its lifetime counts from now)."""
    with svc.store() as store:
        if stopped and store.application(clone.application) is not None:
            _converge(svc, store, stored_application(store, clone.application), STOP)
        with sql.reserve_transaction(store, clone.reserve) as tx:
            record = tx.store.application(clone.application)
            if record is not None and clone.application != clone.name:
                document, digest = renamed(record.document, clone.name)
                sql.rename_application(tx, clone.application, clone.name, document, digest)
            elif clone.application != clone.name:
                sql.rename_servers(tx, clone.application, clone.name)
            sql.fold_hit(tx, clone)
            move(tx, clone, READY, CLONE_RETURNED, {"alias": None}, alias=None, application=clone.name,
                 ready_at=tx.now, claimed_at=None, migrated_at=None, lease_owner=None, lease_expires=None)
        return sql.clone_named(store.db, clone.name)


# -- deleted ---------------------------------------------------------------------------------------------

def delete(svc, clone: CloneRow) -> None:
    """Delete a ``deleting`` clone (it holds our lease): see the module's docstring. InstallerError
    when its server cannot be deleted (the clone stays ``deleting``, with the error, for the next pass)."""
    with svc.store() as store:
        undeploy_error = None
        if store.application(clone.application) is not None:
            try:
                _converge(svc, store, stored_application(store, clone.application), UNDEPLOY)
            except AppGraphError as exc:        # its undeploy recipes failed: the server goes anyway
                undeploy_error = describe(exc)
        try:
            svc.servers().stop_and_delete(clone.name, deadline=svc.deadline())
        except AppGraphError as exc:
            _error(store, clone, describe(exc))
            raise InstallerError("clone %s of reserve %s: its server could not be deleted: %s"
                                 % (clone.name, clone.reserve, exc), "the next pass tries again") from exc
        if store.application(clone.application) is not None:
            with store.transaction(clone.application) as tx:
                tx.delete_application(clone.application)
                tx.append_events([(None, "application_removed", {"reserve": clone.reserve, "clone": clone.name})])
        with sql.reserve_transaction(store, clone.reserve) as tx:
            current = sql.clone_named(tx.db, clone.name)
            if current is not None:
                sql.fold_hit(tx, current)
            sql.delete_clone(tx, clone.id)
            tx.append_events([(clone.name, CLONE_DELETED, clone_data(clone, reason=clone.reason,
                                                                     undeploy_error=undeploy_error))])


def _error(store, clone: CloneRow, error: str) -> None:
    with sql.reserve_transaction(store, clone.reserve) as tx:
        current = sql.clone_named(tx.db, clone.name)
        if current is not None:
            sql.move(tx, current, current.state, error=error, lease_owner=None, lease_expires=None)
