# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server pools (DESIGN.md "Servers": Spatie's ``ensure``/``increase``/``decrease``/``reboot``).

A pool is a named server type: a provider and its options. Its servers are the server rows with
that ``server_type`` and no application, named ``<type>-<n>`` from a counter kept in the store
(``server_types``, migration 3) that never hands a number out twice.

Every operation is two steps:

1. **Decide** in ONE serialised store transaction (SQLite's write lock; on PostgreSQL the
   store-wide writer lock of ``transaction(None)`` plus an advisory lock per provider account):
   read the pool's rows, decide which servers to start, retry, stop or reboot, count the live rows of
   the provider account against ``max_servers``, and write the new rows (status ``new``, with
   their ``creating`` events). Rows beyond the limit are not written: a ``limit_hit`` event says so
   (``limit``, ``live``, ``asked``). Two runs racing for the last slot: exactly one gets it.
2. **Act**: run the ``ServerService`` flows of the rows decided on, in parallel (at most
   ``concurrency`` at once), each with the deadline. A provider exception makes that server
   ``errored`` (class and message) and is reported in ``failed``; it never stops the other flows.
   The flows share the operation's store connection (SQLite), or a few (PostgreSQL), instead of
   opening one each: see ``store.shared``.

What counts: ``ensure(n)`` counts the pool's *provisioned* rows: ``starting``, ``running``,
``rebooting``, and ``new`` (announced by a run that is creating them: counting them keeps two
concurrent runs from both creating). Rows that an earlier flow left ``errored`` or ``hanging`` are
resumed first when servers are missing (creation resumed with the same client token) and torn down
otherwise. ``decrease(k)`` stops the oldest ``running`` rows only. The account limit counts every
row of the provider account that is not ``deleted``, whatever its pool (a stopping server still
exists at the provider).

``ensure(n)`` when the pool already has exactly ``n`` provisioned rows, none errored or hanging, and
(with ``wait``) all running, makes one store query and no provider call.

Provider options that are secrets (credentials) are never written to the store: they are kept in
memory for this call and given to the provider when it is built; rows hold the other options, and
later calls get the secrets from their own parameters or the provider's default chain (ec2:
environment, profile).
"""

from __future__ import annotations

import re
import time

from ..errors import AppGraphError, InputError, InstallerError, describe
from ..executor import Executor, Task
from ..model.statuses import EVENT_KINDS, NEW, RUNNING
from ..providers.guarded import account_of, build_provider
from ..providers.registry import get_provider
from ..store import servers as rows_sql
from ..store.servers import NewServer
from ..store.shared import SharedStores
from ..store.store import Store
from .flows import BACKOFF_INITIAL, BACKOFF_MAX, HANGING_AFTER, ServerService, client_token, event_data
from .pool_decision import ABSENT, DECREASE, ENSURE, INCREASE, JUDGED, OPERATIONS, REBOOT, decide, predicted_counts, satisfied
from .pool_result import PoolResult, acted, counts_of, limit_report, server_entry
from .secrets import split_options

POOL_TAG = "appgraph_pool"
LIMIT_HIT = "limit_hit"
TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TYPE_HINT = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
DEFAULT_CONCURRENCY = 20
POSTGRESQL_CONNECTIONS = 8      # store connections the flows of one operation share on PostgreSQL


# -- the service -----------------------------------------------------------------------------------

class PoolService:
    """Pools of servers in the store at ``store_dsn``.

    ``clock`` (epoch seconds) dates rows and measures deadlines, ``sleep`` waits between polls
    (both go to ``ServerService``); ``concurrency`` bounds the flows run at once.
    """

    def __init__(self, store_dsn: str | None = None, provider_factory=get_provider, clock=time.time,
                 sleep=time.sleep, concurrency: int = DEFAULT_CONCURRENCY, backoff_initial: float = BACKOFF_INITIAL,
                 backoff_max: float = BACKOFF_MAX, hanging_after: float = HANGING_AFTER):
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InputError("must be an integer >= 1, got %r" % (concurrency,), key="concurrency")
        self.store_dsn = store_dsn
        self.provider_factory = provider_factory
        self.clock, self.sleep = clock, sleep
        self.concurrency = concurrency
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.hanging_after = hanging_after

    # -- operations -------------------------------------------------------------------------------

    def ensure(self, server_type: str, count: int, provider: str = "local", provider_options: dict | None = None,
               tags: dict | None = None, max_servers: int | None = None, wait: bool = True,
               timeout: float | None = None) -> PoolResult:
        """Start or stop servers until the pool has ``count`` provisioned ones."""
        _check_amount(count, "count")
        _check_type(server_type)
        with self._store() as store:
            rows = rows_sql.pool(store.db, server_type)      # the one query of the fast path
            if satisfied(rows, count, provider, wait):
                return PoolResult(server_type, ENSURE, counts_before=counts_of(rows), counts=counts_of(rows),
                                  servers=[server_entry(r) for r in rows])
            return self._change(ENSURE, server_type, count, provider, provider_options, tags, max_servers, wait,
                                timeout, store)

    def increase(self, server_type: str, by: int = 1, provider: str = "local", provider_options: dict | None = None,
                 tags: dict | None = None, max_servers: int | None = None, wait: bool = True,
                 timeout: float | None = None) -> PoolResult:
        """``by`` more servers than the pool provisions now."""
        _check_amount(by, "increase")
        return self._change(INCREASE, server_type, by, provider, provider_options, tags, max_servers, wait, timeout)

    def decrease(self, server_type: str, by: int = 1, provider: str | None = None,
                 provider_options: dict | None = None, wait: bool = True, timeout: float | None = None) -> PoolResult:
        """Stop and delete the ``by`` oldest running servers (fewer if there are fewer: not an error)."""
        _check_amount(by, "decrease")
        return self._change(DECREASE, server_type, by, provider, provider_options, None, None, wait, timeout)

    def reboot(self, server_type: str, provider: str | None = None, provider_options: dict | None = None,
               wait: bool = True, timeout: float | None = None) -> PoolResult:
        """Reboot the running servers; servers still starting or rebooting are rebooted once up."""
        return self._change(REBOOT, server_type, None, provider, provider_options, None, None, wait, timeout)

    def absent(self, server_type: str, provider: str | None = None, provider_options: dict | None = None,
               wait: bool = True, timeout: float | None = None) -> PoolResult:
        """Stop and delete every server of the pool (errored and hanging ones too)."""
        return self._change(ABSENT, server_type, None, provider, provider_options, None, None, wait, timeout)

    def plan(self, operation: str, server_type: str, amount: int | None = None, provider: str = "local",
             provider_options: dict | None = None, max_servers: int | None = None,
             wait: bool = True) -> PoolResult:
        """What ``operation`` would do (check mode): reads the store, writes nothing, calls no provider.

        The limit is checked against the account the pool's rows are at (or the one it was first
        used with); a pool never used has no known account yet, so its limit is checked against the
        rows of the same provider name.
        """
        _check_operation(operation, amount)
        _check_type(server_type)
        if operation in (ENSURE, INCREASE):
            provider = provider or "local"
            self._build(provider, dict(provider_options or {}))   # bad options fail here too: building calls nothing
        with self._store() as store:
            rows = rows_sql.pool(store.db, server_type)
            if operation in (ENSURE, INCREASE):
                _check_provider(server_type, rows, provider)
            decision = decide(operation, rows, amount, wait)
            names, limit = [], None
            if decision.new:
                known = rows_sql.server_type(store.db, server_type)
                number, identity = (known[0], known[2]) if known else (1, None)
                identity = next((r.provider_identity for r in rows if r.provider_identity), identity)
                allowed, limit = decision.new, None
                if max_servers is not None:
                    live = rows_sql.account_count(store.db, identity, provider)
                    allowed = max(0, min(decision.new, max_servers - live))
                    if allowed < decision.new:
                        limit = limit_report(max_servers, live, decision.new, allowed, identity)
                names = ["%s-%d" % (server_type, number + i) for i in range(allowed)]
        result = PoolResult(server_type, operation, check_mode=True, limit_hit=limit,
                            started=names, resumed=[r.name for r in decision.resume],
                            waited=[r.name for r in decision.drive], stopped=[r.name for r in decision.stop],
                            rebooted=[r.name for r in decision.reboot + decision.flag],
                            counts_before=counts_of(rows), servers=[server_entry(r) for r in rows])
        result.counts = predicted_counts(rows, decision, names, wait)
        result.changed = acted(result)
        return result

    def status(self, server_type: str | None = None) -> dict:
        """``{servers, counts, pools: {type: {provider, counts}}}`` of one pool or of all."""
        with self._store() as store:
            if server_type is not None:
                _check_type(server_type)
                rows = rows_sql.pool(store.db, server_type)
            else:
                rows = rows_sql.pools(store.db)
            known = rows_sql.server_types(store.db, server_type)
        pools = {name: {"provider": provider, "counts": counts_of(r for r in rows if r.server_type == name)}
                 for name, provider in known}
        return {"servers": [server_entry(r) for r in rows], "counts": counts_of(rows), "pools": pools}

    # -- deciding and acting ----------------------------------------------------------------------

    def _change(self, operation, server_type, amount, provider, provider_options, tags, max_servers, wait,
                timeout, store: Store | None = None) -> PoolResult:
        """Decide (one transaction), act (the flows), read the pool again: on one store connection,
        which the flows share on SQLite (on PostgreSQL each worker thread has its own)."""
        if store is None:
            with self._store() as opened:
                return self._change(operation, server_type, amount, provider, provider_options, tags, max_servers,
                                    wait, timeout, opened)
        _check_type(server_type)
        if max_servers is not None:
            _check_amount(max_servers, "max_servers")
        creating = operation in (ENSURE, INCREASE)
        provider_name = provider or ("local" if creating else None)
        public, secret = split_options(provider_name or "", provider_options)
        identity = self._identity(provider_name, public, secret) if creating else None
        tags = dict({str(k): str(v) for k, v in (tags or {}).items()}, **{POOL_TAG: server_type})
        started_at = self.clock()
        with store.transaction(None) as tx:
            if identity is not None:
                rows_sql.lock_account(tx, identity)
            rows = rows_sql.pool(tx.db, server_type)
            if creating:
                _check_provider(server_type, rows, provider_name)
            decision = decide(operation, rows, amount, wait)
            new_rows, limit = [], None
            if decision.new:
                new_rows, limit = self._write_rows(tx, server_type, decision.new, provider_name, public,
                                                   identity, tags, max_servers, rows)
            if decision.flag:
                rows_sql.flag_reboot(tx, [r.id for r in decision.flag])
        result = PoolResult(server_type, operation, limit_hit=limit, counts_before=counts_of(rows),
                            started=[r.name for r in new_rows], resumed=[r.name for r in decision.resume],
                            waited=[r.name for r in decision.drive], stopped=[r.name for r in decision.stop],
                            rebooted=[r.name for r in decision.reboot + decision.flag])
        deadline = (None if timeout is None else started_at + timeout) if wait else started_at
        tasks = ([("start", r) for r in new_rows + decision.resume + decision.drive]
                 + [("stop", r) for r in decision.stop] + [("reboot", r) for r in decision.reboot])
        if wait:
            tasks += [("reboot", r) for r in decision.flag]
        service = self._service(provider_name, secret, store)
        try:
            self._act(service, tasks, deadline, result)
        finally:
            service.close()
        after = rows_sql.pool(store.db, server_type)
        result.counts, result.servers = counts_of(after), [server_entry(r) for r in after]
        result.changed = acted(result) or result.counts != result.counts_before
        return result

    def _write_rows(self, tx, server_type, wanted, provider, options, identity, tags, max_servers, rows):
        """Write up to ``wanted`` new rows (within the account limit) and their events."""
        others = {r.provider_identity for r in rows if r.provider_identity} - {identity}
        if others:
            raise InputError("pool %r has servers at provider account %s, not at %s" % (
                server_type, ", ".join(sorted(others)), identity), key="provider_options",
                hint="remove them first (state: absent), or use another pool name for the other account")
        allowed, limit = wanted, None
        if max_servers is not None:
            live = rows_sql.account_count(tx.db, identity)
            allowed = max(0, min(wanted, max_servers - live))
            if allowed < wanted:
                limit = limit_report(max_servers, live, wanted, allowed, identity)
        # Events last in the transaction: on PostgreSQL appending them takes the outbox's lock,
        # held to the commit (ids visible in order), and no row is inserted after it.
        limit_events = [(server_type, LIMIT_HIT, dict(limit, server_type=server_type))] if limit else []
        if not allowed:
            tx.append_events(limit_events)
            return [], limit
        written: list = []
        while len(written) < allowed:       # a name taken by a server of no pool is skipped
            need = allowed - len(written)
            first = rows_sql.claim_numbers(tx, server_type, provider, identity, need)
            names = ["%s-%d" % (server_type, n) for n in range(first, first + need)]
            taken = rows_sql.taken(tx.db, names)
            written += [n for n in names if n not in taken]
        fleet = tx.store.fleet
        rows_sql.insert_many(tx, [NewServer(name, server_type, provider, options, identity,
                                            client_token(fleet, name, 0), tags, fleet=fleet) for name in written])
        new_rows = rows_sql.read_many(tx.db, written)
        tx.append_events(limit_events + [(r.name, EVENT_KINDS[NEW], event_data(r)) for r in new_rows])
        return new_rows, limit

    def _act(self, service: _PoolServers, tasks: list, deadline: float | None, result: PoolResult) -> None:
        if not tasks:
            return
        executor = Executor(lambda task, _deadline: _flow(service, task.payload[0], task.payload[1], deadline),
                            parallelism=self.concurrency)
        report = executor.run([Task((action, row.name), (action, row)) for action, row in tasks], lambda batch: None)
        for outcome in report.results:
            name = outcome.key[1]
            if not outcome.ok:
                result.failed_servers.append({"name": name, "status": None, "error": outcome.error_text})
                continue
            kind, row, error = outcome.value
            if kind == "failed":
                result.failed_servers.append({"name": name, "status": row.status if row else None, "error": error})
            elif kind == "pending":
                result.pending.append({"name": name, "status": row.status if row else None, "reason": error})
        result.failed_servers.sort(key=lambda f: f["name"])
        result.pending.sort(key=lambda p: p["name"])

    # -- helpers ----------------------------------------------------------------------------------

    def _store(self) -> Store:
        return Store(self.store_dsn, clock=self.clock)

    def _build(self, provider: str, options: dict):
        return build_provider(self.provider_factory, provider, options)

    def _identity(self, provider: str, public: dict, secret: dict) -> str:
        return account_of(provider, self._build(provider, dict(public, **secret)))

    def _service(self, provider: str | None, secret: dict, store: Store) -> "_PoolServers":
        factory = self.provider_factory
        if secret:
            def factory(name, options):     # the secrets of this call, never written to a row
                mine = provider is None or name == provider
                return self.provider_factory(name, dict(options, **secret) if mine else options)
        connections = min(self.concurrency, POSTGRESQL_CONNECTIONS) if store.db.dialect == "postgresql" else 1
        return _PoolServers(store, self.store_dsn, provider_factory=factory, clock=self.clock, sleep=self.sleep,
                            backoff_initial=self.backoff_initial, backoff_max=self.backoff_max,
                            hanging_after=self.hanging_after, connections=connections)


class _Kept:
    """``with`` on a store that stays open (it belongs to the pool operation, not to the call)."""

    def __init__(self, store: Store):
        self.store = store

    def __enter__(self) -> Store:
        return self.store

    def __exit__(self, *exc) -> None:
        return None


class _PoolServers(ServerService):
    """``ServerService`` for the worker threads of one pool operation, on a few store connections
    kept for the whole operation and shared by the threads (``store.shared``): on SQLite one, the
    operation's own (the file has one writer anyway); on PostgreSQL up to ``POSTGRESQL_CONNECTIONS``
    (the operation's and more), so that a high ``concurrency`` never exceeds the server's
    ``max_connections``. ``close()`` when the flows are done.

    resume() is ServerService's: the pool wrote the row (or found it) in its decision transaction,
    so start()'s own checks would each cost a write transaction and change nothing (measured at 200
    servers at once: the last create_server comes 40 % sooner)."""

    def __init__(self, store: Store, *args, connections: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self._shared = SharedStores(store, super()._store, connections)

    def _store(self, now: float | None = None):
        if now is not None:
            return super()._store(now)
        return _Kept(self._shared.for_this_thread())

    def close(self) -> None:
        self._shared.close()


def _flow(service: _PoolServers, action: str, row, deadline: float | None) -> tuple:
    """One server's flow: ``("ok" | "failed" | "pending", row after, error text)``."""
    try:
        if action == "start":
            after = service.resume(row.name, deadline)
        elif action == "stop":
            after = service.stop_and_delete(row.name, deadline=deadline)
        else:
            after = service.reboot(row.name, deadline=deadline)
            if after.reboot_requested and after.status == RUNNING:     # it was rebooting already: once more
                after = service.reboot(row.name, deadline=deadline)
        return "ok", after, None
    except InstallerError as exc:
        after = service.get(row.name)
        kind = "failed" if after is None or after.status in JUDGED else "pending"
        return kind, after, str(exc)
    except AppGraphError as exc:
        return "failed", service.get(row.name), describe(exc)


def _check_type(server_type) -> None:
    if not isinstance(server_type, str) or not TYPE_RE.match(server_type):
        raise InputError("%r is not a valid server type name" % (server_type,), key="name", hint=TYPE_HINT)


def _check_amount(value, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError("must be an integer >= 0, got %r" % (value,), key=key)


def _check_operation(operation: str, amount) -> None:
    if operation not in OPERATIONS:
        raise InputError("unknown pool operation %r" % (operation,), key="operation",
                         hint="one of %s" % ", ".join(OPERATIONS))
    if operation in (ENSURE, INCREASE, DECREASE):
        _check_amount(amount, {ENSURE: "count"}.get(operation, operation))


def _check_provider(server_type: str, rows: list, provider: str) -> None:
    others = sorted({r.provider for r in rows} - {provider})
    if others:
        raise InputError("pool %r has servers at provider %s, not %s" % (server_type, ", ".join(others), provider),
                         key="provider", hint="remove them first (state: absent), or use another pool name")
