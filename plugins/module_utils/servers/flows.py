# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server rows and the flows that move them (DESIGN.md "Servers": Spatie's dynamic servers).

Flows::

    start            new -> starting -> (poll has_started) -> running
    stop_and_delete  stopping -> (poll has_stopped) -> stopped -> deleting -> (poll has_been_deleted) -> deleted
    reboot           rebooting -> (poll has_started) -> running

Every status is written, with its event, in one store transaction *before* the provider call it
announces: the row exists (``new``, with its client token) before ``create_server`` is called, so a
crash at any point leaves a row that the next flow adopts. The client token is derived from the
server's name and the row's ``generation`` (bumped when a deleted row is made again), and providers
return the server they already made for a token, so a resumed start never makes a second server.

A provider exception makes the row ``errored`` (``"ClassName: message"``) and reaches the caller as
``InstallerError``; ``TransientError`` is retried with the polling backoff until the deadline. A row
left in a transitive status longer than ``hanging_after`` becomes ``hanging``. The next flow on an
``errored`` or ``hanging`` row re-enters the status it was in (``previous_status``): every provider
call it repeats is idempotent.

Polling backs off from 1 s, doubling, to 20 s, and never sleeps past the deadline. Transitions are
compare-and-set (``WHERE status = <what was read>``): when two processes drive one row, each step is
won by one of them and the other re-reads the row and carries on from there.

``ServerService`` opens a store connection per call, in the calling thread (an installer's worker
thread), so one service object may be shared by threads.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace

from ..errors import InstallerError, TransientError, describe
from ..providers.base import FLEET_TAG, ServerSpec
from ..providers.registry import get_provider
from ..model.statuses import (DELETED, DELETING, ERRORED, EVENT_KINDS, HANGING, JUDGEMENTS, NEW, REBOOTING, RUNNING,
                              STARTING, STOPPED, STOPPING, TEARDOWN, TRANSITIVE)
from ..store import servers as rows_sql
from ..store.servers import NewServer, ServerRow
from ..store.store import Store

HANGING_AFTER = 600.0
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 20.0


def client_token(fleet: str | None, name: str, generation: int) -> str:
    """The idempotency token of the ``generation``-th server called ``name`` in ``fleet`` (at most 64
    characters): the same name in two stores never gives the same token."""
    text = "%s\0%d" % (name, generation) if fleet is None else "%s\0%s\0%d" % (fleet, name, generation)
    return "appgraph-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def fleet_provider(factory, name: str, options: dict, fleet: str | None):
    """The provider ``factory`` builds, keeping to ``fleet``'s servers."""
    return bind_fleet(factory(name, options), fleet)


def bind_fleet(provider, fleet: str | None):
    """``provider`` keeping to ``fleet``'s servers (``Provider.use_fleet``; a provider that knows no
    fleets, such as the tests' fakes, is used as it is)."""
    use = getattr(provider, "use_fleet", None)
    return use(fleet) if use is not None else provider


class _Backoff:
    """1, 2, 4, ... up to ``maximum``; ``reset`` when the status changes."""

    def __init__(self, initial: float, maximum: float):
        self.initial, self.maximum = initial, maximum
        self.current = initial

    def reset(self) -> None:
        self.current = self.initial

    def next(self) -> float:
        value = self.current
        self.current = min(self.current * 2, self.maximum)
        return value


class _Retry(Exception):
    """A provider said "later" (TransientError): wait, then try the same step again."""

    def __init__(self, cause: TransientError):
        super().__init__(str(cause))
        self.retry_after = cause.retry_after or 0.0


# What a step of a flow did: reached the goal, moved the row on (go on at once), or must wait.
_DONE, _MOVED, _WAIT = "done", "moved", "wait"
# Teardown statuses that wait on the provider: the call made once, its verification, the next status.
TEARDOWN_CALLS = {STOPPING: ("stop_server", "has_stopped", STOPPED),
                  DELETING: ("delete_server", "has_been_deleted", DELETED)}


class ServerService:
    """Server rows in the store at ``store_dsn`` and the flows that move them."""

    def __init__(self, store_dsn: str | None = None, provider_factory=get_provider, clock=time.time,
                 sleep=time.sleep, backoff_initial: float = BACKOFF_INITIAL, backoff_max: float = BACKOFF_MAX,
                 hanging_after: float = HANGING_AFTER):
        """``clock`` (epoch seconds) dates rows and events and measures deadlines; ``sleep`` waits
        between polls. Both are injected so tests run without waiting."""
        self.store_dsn = store_dsn
        self.provider_factory = provider_factory
        self.clock, self.sleep = clock, sleep
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.hanging_after = hanging_after

    def _store(self, now: float | None = None) -> Store:
        return Store(self.store_dsn, clock=self.clock if now is None else (lambda: now))

    # -- reading ----------------------------------------------------------------------------------

    def get(self, name: str) -> ServerRow | None:
        with self._store() as store:
            return rows_sql.read(store.db, name)

    def resume(self, name: str, deadline: float | None = None) -> ServerRow:
        """Drive the existing row ``name`` to running (what ``start`` does once its row exists),
        for callers that wrote the row themselves in a transaction of their own (pools)."""
        with self._store() as store:
            return _Flow(self, store).drive(name, RUNNING, deadline)

    def rows(self, server_type: str | None = None, statuses=None, application: str | None = None) -> list:
        """Rows, oldest first, optionally of one pool, in some statuses, of one application."""
        with self._store() as store:
            return rows_sql.select(store.db, server_type, statuses, application)

    # -- flows ------------------------------------------------------------------------------------

    def start(self, name: str, server_type: str, provider: str, provider_options: dict | None = None,
              tags: dict | None = None, application: str | None = None, instance_path: str | None = None,
              deadline: float | None = None) -> ServerRow:
        """Make the server ``name`` run (or adopt the one a previous attempt made); return its row.

        ``deadline`` is a time of ``clock``; None: give up when the row would be hanging.
        """
        params = {"server_type": server_type, "provider": provider, "provider_options": dict(provider_options or {}),
                  "tags": {str(k): str(v) for k, v in (tags or {}).items()}, "application": application,
                  "instance_path": instance_path}
        with self._store() as store:
            run = _Flow(self, store)
            params["provider_identity"] = run.identity(name, provider, params["provider_options"])
            run.ensure_row(name, params)
            return run.drive(name, RUNNING, deadline, params)

    def stop_and_delete(self, name: str, deadline: float | None = None) -> ServerRow | None:
        """Stop and delete the server ``name``; its row ends ``deleted`` (None: there was no row)."""
        with self._store() as store:
            if rows_sql.read(store.db, name) is None:
                return None
            return _Flow(self, store).drive(name, DELETED, deadline)

    def reboot(self, name: str, deadline: float | None = None) -> ServerRow:
        """Reboot the server ``name`` and wait until it answers again.

        A server still being made is flagged (``reboot_requested``) and rebooted once it runs.
        """
        with self._store() as store:
            run = _Flow(self, store)
            row = rows_sql.read(store.db, name)
            if row is None:
                raise InstallerError("no server named %r in the store %s" % (name, store.identity))
            if row.status in (NEW, STARTING):
                run.flag_reboot(row)
                row = run.drive(name, RUNNING, deadline)
            elif row.status not in (RUNNING, REBOOTING):
                raise InstallerError("cannot reboot server %r: it is %s" % (name, row.status),
                                     row.error or "")
            if row.status == RUNNING:
                run.begin_reboot(row)
            return run.drive(name, RUNNING, deadline)

    def verify_pending(self, now: float | None = None) -> list:
        """One step for every row in a transitive status (and every running row with a reboot
        requested): what a later reconcile calls. Returns the rows that changed."""
        changed = []
        with self._store(now) as store:
            run = _Flow(self, store)
            for row in rows_sql.pending(store.db):
                try:
                    if row.status == RUNNING:
                        run.begin_reboot(row)
                    else:
                        run.step(row, DELETED if row.status in TEARDOWN else RUNNING, issued=set())
                except (InstallerError, _Retry):
                    pass                    # errored rows are written already; transient ones wait
                after = rows_sql.read(store.db, row.name)
                if after is not None and (after.status, after.generation) != (row.status, row.generation):
                    changed.append(after)
        return changed

    def mark_hanging(self, hanging_after: float | None = None, now: float | None = None) -> list:
        """Rows in a transitive status for ``hanging_after`` seconds or more become ``hanging``."""
        limit = self.hanging_after if hanging_after is None else hanging_after
        now = self.clock() if now is None else now
        marked = []
        with self._store(now) as store:
            run = _Flow(self, store)
            for row in rows_sql.stale(store.db, now - limit):
                error = "still %s after %g s" % (row.status, now - row.status_changed_at)
                after = run.transition(row, HANGING, error=error)
                if after is not None:
                    marked.append(after)
        return marked


class _Flow:
    """One call of the service: its store connection and the providers it built."""

    def __init__(self, service: ServerService, store: Store):
        self.service, self.store = service, store
        self.providers: dict = {}

    def provider(self, name: str, options: dict, fleet: str | None):
        key = (name, json.dumps(options, sort_keys=True, default=str), fleet)
        if key not in self.providers:
            self.providers[key] = fleet_provider(self.service.provider_factory, name, options, fleet)
        return self.providers[key]

    def identity(self, server: str, provider: str, options: dict) -> str:
        """Build the provider before anything is written: a bad name or option makes nothing."""
        try:
            return self.provider(provider, options, self.store.fleet).identity()
        except Exception as exc:
            raise InstallerError("server %r: cannot use provider %r: %s" % (server, provider, exc)) from exc

    # -- writing ----------------------------------------------------------------------------------

    def ensure_row(self, name: str, params: dict) -> ServerRow:
        """The row of ``name``: written now (status new) if there is none."""
        with self.store.transaction(params["application"]) as tx:
            fleet = self.store.fleet
            written = rows_sql.insert(tx, NewServer(name=name, client_token=client_token(fleet, name, 0), fleet=fleet,
                                                    **params))
            row = rows_sql.read(tx.db, name)
            if written:
                tx.append_events([(name, EVENT_KINDS[NEW], event_data(row))])
                return row
        if row.status != DELETED:
            if (row.provider, row.provider_identity) != (params["provider"], params["provider_identity"]):
                raise InstallerError(
                    "server %r exists at provider %s (%s), not at %s (%s): delete it (undeploy) before "
                    "moving it" % (name, row.provider, row.provider_identity, params["provider"],
                                   params["provider_identity"]))
            if row.provider_options != params["provider_options"]:
                row = self.update(row, provider_options=params["provider_options"])
        return row

    def update(self, row: ServerRow, **columns) -> ServerRow:
        """Change columns of ``row`` without a status change (no event)."""
        with self.store.transaction(row.application) as tx:
            rows_sql.update(tx, row.id, **columns)
        return replace(row, updated_at=tx.now, **columns)

    def transition(self, row: ServerRow, status: str, **columns) -> ServerRow | None:
        """Write ``status`` (and ``columns``) and its event, if the row is still as read; else None."""
        with self.store.transaction(row.application) as tx:
            previous = row.previous_status if row.status in JUDGEMENTS and status in JUDGEMENTS else row.status
            values = {"error": None, **columns, "status": status, "previous_status": previous,
                      "updated_at": tx.now, "status_changed_at": tx.now}
            if not rows_sql.compare_and_set(tx, row, **values):
                return None                 # another process moved it: the caller re-reads
            new = replace(row, **values)
            tx.append_events([(row.name, EVENT_KINDS[status], event_data(new))])
        return new

    def fail(self, row: ServerRow, action: str, exc: BaseException):
        """The provider failed: the row becomes errored; raise InstallerError to the caller."""
        error = describe(exc)
        self.transition(row, ERRORED, error=error)
        raise InstallerError("server %r: %s failed at provider %s: %s" % (row.name, action, row.provider, error),
                             "the server is now errored; the next start or stop of it tries again") from exc

    def call(self, row: ServerRow, action: str, *args):
        """``provider.<action>(*args)``: TransientError -> _Retry, any other exception -> errored."""
        try:
            return getattr(self.provider(row.provider, row.provider_options, row.fleet), action)(*args)
        except TransientError as exc:
            raise _Retry(exc) from exc
        except Exception as exc:        # any provider failure is recorded with its class (DESIGN.md)
            self.fail(row, action, exc)

    def spec(self, row: ServerRow) -> ServerSpec:
        tags = dict(row.tags, **({FLEET_TAG: row.fleet} if row.fleet else {}))
        return ServerSpec(name=row.name, server_type=row.server_type, client_token=row.client_token, tags=tags)

    def flag_reboot(self, row: ServerRow) -> None:
        self.update(row, reboot_requested=True)

    def begin_reboot(self, row: ServerRow) -> None:
        """running -> rebooting, then ask the provider (the row says rebooting before it is asked).

        If the provider says "later", the row goes back to running with the reboot still requested
        (``verify_pending`` tries again) and InstallerError says so.
        """
        new = self.transition(row, REBOOTING, reboot_requested=False)
        if new is None:
            return
        try:
            self.call(new, "reboot_server", new.provider_id)
        except _Retry as retry:
            self.transition(new, RUNNING, reboot_requested=True)
            raise InstallerError("server %r: the provider cannot reboot it now: %s" % (row.name, retry),
                                 "the reboot stays requested; verify_pending tries again") from None

    # -- driving ----------------------------------------------------------------------------------

    def drive(self, name: str, goal: str, deadline: float | None, params: dict | None = None) -> ServerRow | None:
        """Step the row ``name`` towards ``goal`` (running or deleted) until it is there."""
        service = self.service
        if deadline is None:        # never forever: as long as a row may take before it is hanging
            deadline = service.clock() + service.hanging_after
        backoff = _Backoff(service.backoff_initial, service.backoff_max)
        issued: set = set()     # teardown calls this flow made already (re-made once on resume)
        seen = None
        row = rows_sql.read(self.store.db, name)
        while True:
            if row is None:
                if goal == DELETED:
                    return None
                raise InstallerError("server %r: its row disappeared from the store %s" % (name, self.store.identity))
            if (row.status, row.generation) != seen:
                seen = (row.status, row.generation)
                backoff.reset()
            retry_after, why = 0.0, None
            try:
                outcome = self.step(row, goal, issued, params)
            except _Retry as retry:
                outcome, retry_after, why = _WAIT, retry.retry_after, str(retry)
            if outcome == _DONE:
                return rows_sql.read(self.store.db, name)
            if outcome == _WAIT:
                self.wait(row, goal, backoff, deadline, retry_after, why)
                # "Not yet": the row as read is still good. Whatever another process changes
                # meanwhile shows at this flow's next transition, which compares and sets.
                continue
            row = rows_sql.read(self.store.db, name)

    def step(self, row: ServerRow, goal: str, issued: set, params: dict | None = None) -> str:
        """One move of ``row`` towards ``goal``; raises InstallerError (errored) or _Retry."""
        status = row.status
        effective = row.previous_status if status in JUDGEMENTS else status
        if goal == RUNNING:
            if status == RUNNING:
                return _DONE
            if status == DELETED:
                return self._remake(row, params)
            if status in (STARTING, REBOOTING):
                return self._poll_started(row)
            if status == NEW or (status in JUDGEMENTS and effective not in TEARDOWN):
                return self._create(row)    # a resumed create adopts what the provider made (client token)
            # stopping, stopped, deleting, or a verdict on one of them: finish the teardown first
        return self._teardown_step(row, effective, issued)

    def _create(self, row: ServerRow) -> str:
        server = self.call(row, "create_server", self.spec(row))
        provider = self.provider(row.provider, row.provider_options, row.fleet)
        self.transition(row, STARTING, provider_id=server.provider_id, address=server.address,
                        provider_identity=provider.identity())
        return _MOVED

    def _poll_started(self, row: ServerRow) -> str:
        if not self.call(row, "has_started", row.provider_id):
            return _WAIT
        address = row.address
        if not address:     # some clouds give the address only once the server runs: ask again (idempotent)
            address = self.call(row, "create_server", self.spec(row)).address
        self.transition(row, RUNNING, address=address)
        return _MOVED

    def _remake(self, row: ServerRow, params: dict | None) -> str:
        """A deleted row made again: next generation, so a new client token (a new server)."""
        generation = row.generation + 1
        self.transition(row, NEW, generation=generation, client_token=client_token(row.fleet, row.name, generation),
                        provider_id=None, address=None, reboot_requested=False, **(params or {}))
        return _MOVED

    def _teardown_step(self, row: ServerRow, effective: str | None, issued: set) -> str:
        status = row.status
        if status == DELETED:
            return _DONE
        if row.provider_id is None:
            return self._forget_or_find(row)
        if status in TEARDOWN_CALLS:
            action, verify, reached = TEARDOWN_CALLS[status]
            if status not in issued:        # also after a crash between writing the status and asking
                issued.add(status)
                self.call(row, action, row.provider_id)
            if not self.call(row, verify, row.provider_id):
                return _WAIT
            self.transition(row, reached)
            return _MOVED
        if status == STOPPED:
            self.transition(row, DELETING)
            return _MOVED
        # running, starting, rebooting, new (with an id), or a verdict: announce, then ask
        target = DELETING if status in JUDGEMENTS and effective in (STOPPED, DELETING) else STOPPING
        self.transition(row, target)
        return _MOVED

    def _forget_or_find(self, row: ServerRow) -> str:
        """A row without a provider id: the provider may have made the server before a crash."""
        servers = self.call(row, "list_servers", None)
        found = [s for s in servers if s.client_token == row.client_token]
        if found:
            self.update(row, provider_id=found[0].provider_id, address=found[0].address)
            return _MOVED
        self.transition(row, DELETED)
        return _MOVED

    def wait(self, row: ServerRow, goal: str, backoff: _Backoff, deadline: float | None, retry_after: float,
             why: str | None) -> None:
        service = self.service
        now = service.clock()
        if row.status in TRANSITIVE and now - row.status_changed_at >= service.hanging_after:
            self.transition(row, HANGING, error="still %s after %g s" % (row.status, now - row.status_changed_at))
            raise InstallerError("server %r is hanging: still %s after %g s at provider %s"
                                 % (row.name, row.status, now - row.status_changed_at, row.provider), why or "")
        if deadline is not None and now >= deadline:
            raise InstallerError("server %r is still %s: it did not get %s in time" % (row.name, row.status, goal),
                                 ("last provider answer: %s; " % why if why else "")
                                 + "the next start or stop of it carries on from here")
        delay = max(backoff.next(), retry_after)
        if deadline is not None:
            delay = min(delay, deadline - now)
        service.sleep(delay)


def event_data(row: ServerRow) -> dict:
    data = {"server": row.name, "status": row.status, "previous": row.previous_status, "provider": row.provider,
            "provider_id": row.provider_id, "address": row.address, "server_type": row.server_type,
            "instance_path": row.instance_path, "generation": row.generation}
    if row.error:
        data["error"] = row.error
    return data
