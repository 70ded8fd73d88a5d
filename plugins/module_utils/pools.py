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
   opening one each: see ``_Serialised``.

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

import functools
import hashlib
import re
import threading
import time
from dataclasses import dataclass, field

from .errors import AppGraphError, InputError, PermanentError
from .executor import Executor, Task, describe
from .installers.base import InstallerError
from .providers.registry import get_provider, provider_class
from .servers import (BACKOFF_INITIAL, BACKOFF_MAX, DELETED, ERRORED, EVENT_KINDS, HANGING, HANGING_AFTER, NEW,
                      REBOOTING, RUNNING, STARTING, STOPPING, ServerService, client_token)
from .servers import SELECT_SERVERS, db_value, event_data, server_row
from .store import Store

ENSURE, INCREASE, DECREASE, REBOOT, ABSENT = "ensure", "increase", "decrease", "reboot", "absent"
OPERATIONS = (ENSURE, INCREASE, DECREASE, REBOOT, ABSENT)

PROVISIONED = (NEW, STARTING, RUNNING, REBOOTING)
JUDGED = (ERRORED, HANGING)
_CREATION = frozenset(PROVISIONED)          # a judged row whose previous status is one of these was being made

POOL_TAG = "appgraph_pool"
LIMIT_HIT = "limit_hit"
TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TYPE_HINT = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
DEFAULT_CONCURRENCY = 20
POSTGRESQL_CONNECTIONS = 8      # store connections the flows of one operation share on PostgreSQL

# Secret options: those a provider declares (``Option(secret=True)``), and, as a safety net for
# providers that forget to, any option whose name says so.
_SECRET_NAME = re.compile(r"secret|passw|token|credential|private_key|access_key", re.I)

_POOL_SELECT = SELECT_SERVERS + " WHERE server_type = ? AND application IS NULL AND status <> ? ORDER BY created_at, id"


# -- secrets ---------------------------------------------------------------------------------------

def secret_option_names(provider: str, options: dict | None) -> set:
    """Which of ``options`` are secrets for ``provider`` (never stored, masked in task output)."""
    names = set(_declared_secrets(provider))
    names.update(key for key in options or {} if _SECRET_NAME.search(str(key)))
    return names & set(options or {})


@functools.lru_cache(maxsize=64)
def _declared_secrets(provider: str) -> frozenset:
    """The secret options a provider declares (cached: a name that is no built-in makes the
    registry scan the installed entry points)."""
    names = set()
    try:
        declared = provider_class(provider).OPTIONS
    except (AppGraphError, ImportError):
        declared = {}
    names.update(key for key, option in declared.items() if getattr(option, "secret", False))
    return frozenset(names)


def split_options(provider: str, options: dict | None) -> tuple:
    """``(public, secret)``: the options a row may keep, and the ones it must not."""
    options = dict(options or {})
    secret = secret_option_names(provider, options)
    return ({k: v for k, v in options.items() if k not in secret},
            {k: v for k, v in options.items() if k in secret and v is not None})


def secret_values(provider: str, options: dict | None) -> set:
    """The secret option values as strings (what a module masks in its output)."""
    return set(_strings(split_options(provider, options)[1]))


def public_values(provider: str, options: dict | None) -> set:
    """The other option values as strings, as Ansible collects them from a ``no_log`` option; a
    module takes them out of its masked values, so that only the secrets are masked."""
    return set(_strings(split_options(provider, options)[0])) - secret_values(provider, options)


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


# -- results ---------------------------------------------------------------------------------------

@dataclass
class PoolResult:
    """What one pool operation did (or, in check mode, would do)."""

    server_type: str
    operation: str
    changed: bool = False
    started: list = field(default_factory=list)     # new servers (names)
    resumed: list = field(default_factory=list)     # errored/hanging servers made again
    waited: list = field(default_factory=list)      # servers already on their way, driven to running
    stopped: list = field(default_factory=list)
    rebooted: list = field(default_factory=list)
    failed: list = field(default_factory=list)      # [{name, status, error}]
    pending: list = field(default_factory=list)     # [{name, status, reason}]: not there (yet)
    limit_hit: dict | None = None                   # {limit, live, asked, allowed, provider_identity}
    counts_before: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    servers: list = field(default_factory=list)
    check_mode: bool = False

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


def server_entry(row) -> dict:
    return {"name": row.name, "status": row.status, "provider": row.provider, "address": row.address,
            "provider_id": row.provider_id, "server_type": row.server_type, "error": row.error}


def counts_of(rows) -> dict:
    counts: dict = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return dict(sorted(counts.items()))


# -- deciding (pure) -------------------------------------------------------------------------------

@dataclass
class _Decision:
    new: int = 0                                    # rows to write (before the limit)
    resume: list = field(default_factory=list)      # judged rows being made: made again
    drive: list = field(default_factory=list)       # provisioned rows not running yet
    stop: list = field(default_factory=list)
    reboot: list = field(default_factory=list)      # running rows
    flag: list = field(default_factory=list)        # new/starting/rebooting rows: reboot once up


def _judged_creation(row) -> bool:
    return row.status in JUDGED and row.previous_status in _CREATION


def decide(operation: str, rows: list, amount: int | None, wait: bool) -> _Decision:
    """What ``operation`` does to a pool whose non-deleted rows (oldest first) are ``rows``."""
    provisioned = [r for r in rows if r.status in PROVISIONED]
    judged = [r for r in rows if r.status in JUDGED]
    decision = _Decision()
    if operation in (ENSURE, INCREASE):
        wanted = amount if operation == ENSURE else len(provisioned) + amount
        missing = wanted - len(provisioned)
        creation = [r for r in judged if _judged_creation(r)]
        decision.resume = creation[:max(missing, 0)]
        decision.new = max(missing - len(decision.resume), 0)
        resumed = {r.name for r in decision.resume}
        decision.stop = [r for r in judged if r.name not in resumed]    # what failed and is not needed
        if missing < 0:
            running = [r for r in provisioned if r.status == RUNNING]
            others = [r for r in provisioned if r.status != RUNNING]
            decision.stop = (running + others)[:-missing] + decision.stop
        if wait:
            stopping = {r.name for r in decision.stop}
            decision.drive = [r for r in provisioned if r.status != RUNNING and r.name not in stopping]
    elif operation == DECREASE:
        decision.stop = [r for r in rows if r.status == RUNNING][:amount]
    elif operation == REBOOT:
        decision.reboot = [r for r in rows if r.status == RUNNING]
        decision.flag = [r for r in rows if r.status in (NEW, STARTING, REBOOTING)]
    elif operation == ABSENT:
        decision.stop = list(rows)
    return decision


def satisfied(rows: list, count: int, provider: str, wait: bool) -> bool:
    """``ensure(count)`` has nothing to do (the fast path: decided from one read)."""
    if any(r.status in JUDGED or r.provider != provider for r in rows):
        return False
    provisioned = [r for r in rows if r.status in PROVISIONED]
    return len(provisioned) == count and (not wait or all(r.status == RUNNING for r in provisioned))


def _predicted(rows: list, decision: _Decision, new_names: list, wait: bool) -> dict:
    """The counts a check-mode run announces: what the rows would be once the flows are done."""
    status = {r.name: r.status for r in rows}
    for row in decision.resume + decision.drive:
        status[row.name] = RUNNING if wait else STARTING
    for row in decision.stop:
        if wait:
            status.pop(row.name)
        else:
            status[row.name] = STOPPING
    for row in decision.reboot:
        status[row.name] = RUNNING if wait else REBOOTING
    for name in new_names:
        status[name] = RUNNING if wait else STARTING
    counts: dict = {}
    for value in status.values():
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


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
            rows = self._pool_rows(store, server_type)      # the one query of the fast path
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
            rows = self._pool_rows(store, server_type)
            if operation in (ENSURE, INCREASE):
                _check_provider(server_type, rows, provider)
            decision = decide(operation, rows, amount, wait)
            names, limit = [], None
            if decision.new:
                pool = store.db.query("SELECT next_number, provider_identity FROM server_types WHERE name = ?",
                                      (server_type,))
                number = pool[0][0] if pool else 1
                identity = pool[0][1] if pool else None
                identity = next((r.provider_identity for r in rows if r.provider_identity), identity)
                allowed, limit = decision.new, None
                if max_servers is not None:
                    live = self._account_rows(store, identity, provider)
                    allowed = max(0, min(decision.new, max_servers - live))
                    if allowed < decision.new:
                        limit = _limit(max_servers, live, decision.new, allowed, identity)
                names = ["%s-%d" % (server_type, number + i) for i in range(allowed)]
        result = PoolResult(server_type, operation, check_mode=True, limit_hit=limit,
                            started=names, resumed=[r.name for r in decision.resume],
                            waited=[r.name for r in decision.drive], stopped=[r.name for r in decision.stop],
                            rebooted=[r.name for r in decision.reboot + decision.flag],
                            counts_before=counts_of(rows), servers=[server_entry(r) for r in rows])
        result.counts = _predicted(rows, decision, names, wait)
        result.changed = _acted(result)
        return result

    def status(self, server_type: str | None = None) -> dict:
        """``{servers, counts, pools: {type: {provider, counts}}}`` of one pool or of all."""
        with self._store() as store:
            if server_type is not None:
                _check_type(server_type)
                rows = self._pool_rows(store, server_type)
                known = store.db.query("SELECT name, provider FROM server_types WHERE name = ?", (server_type,))
            else:
                rows = [server_row(r) for r in store.db.query(
                    SELECT_SERVERS + " WHERE application IS NULL AND status <> ? AND server_type IN "
                    "(SELECT name FROM server_types) ORDER BY server_type, created_at, id", (DELETED,))]
                known = store.db.query("SELECT name, provider FROM server_types ORDER BY name")
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
            if identity is not None and store.db.dialect == "postgresql":
                tx.db.execute("SELECT pg_advisory_xact_lock(?)", (_lock_key(identity),))
            rows = self._pool_rows(store, server_type)
            if creating:
                _check_provider(server_type, rows, provider_name)
            decision = decide(operation, rows, amount, wait)
            new_rows, limit = [], None
            if decision.new:
                new_rows, limit = self._write_rows(tx, server_type, decision.new, provider_name, public,
                                                   identity, tags, max_servers, rows)
            if decision.flag:
                tx.db.executemany("UPDATE servers SET reboot_requested = 1, updated_at = ? WHERE id = ?",
                                  [(tx.now, r.id) for r in decision.flag])
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
        after = self._pool_rows(store, server_type)
        result.counts, result.servers = counts_of(after), [server_entry(r) for r in after]
        result.changed = _acted(result) or result.counts != result.counts_before
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
            live = tx.db.query("SELECT COUNT(*) FROM servers WHERE provider_identity = ? AND status <> ?",
                               (identity, DELETED))[0][0]
            allowed = max(0, min(wanted, max_servers - live))
            if allowed < wanted:
                limit = _limit(max_servers, live, wanted, allowed, identity)
                tx.append_events([(server_type, LIMIT_HIT, dict(limit, server_type=server_type))])
        if not allowed:
            return [], limit
        tx.db.execute("INSERT INTO server_types (name, provider, provider_identity, next_number, created_at, "
                      "updated_at) VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (name) DO NOTHING",
                      (server_type, provider, identity, tx.now, tx.now))
        number = tx.db.query("SELECT next_number FROM server_types WHERE name = ?", (server_type,))[0][0]
        written: list = []
        while len(written) < allowed:       # a name taken by a server of no pool is skipped
            names = ["%s-%d" % (server_type, n) for n in range(number, number + allowed - len(written))]
            number += len(names)
            taken = {n for chunk in _chunks(names) for (n,) in tx.db.query(
                "SELECT name FROM servers WHERE name IN (%s)" % ", ".join("?" * len(chunk)), chunk)}
            written += [n for n in names if n not in taken]
        tx.db.executemany(
            "INSERT INTO servers (name, server_type, provider, provider_options, provider_identity, "
            "client_token, generation, status, tags, application, instance_path, created_at, updated_at, "
            "status_changed_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, NULL, ?, ?, ?)",
            [(name, server_type, provider, db_value("provider_options", options), identity, client_token(name, 0),
              NEW, db_value("tags", tags), tx.now, tx.now, tx.now) for name in written])
        tx.db.execute("UPDATE server_types SET next_number = ?, provider = ?, provider_identity = ?, updated_at = ? "
                      "WHERE name = ?", (number, provider, identity, tx.now, server_type))
        new_rows = sorted((server_row(r) for chunk in _chunks(written) for r in tx.db.query(
            SELECT_SERVERS + " WHERE name IN (%s)" % ", ".join("?" * len(chunk)), chunk)), key=lambda r: r.id)
        tx.append_events([(r.name, EVENT_KINDS[NEW], event_data(r)) for r in new_rows])
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
                result.failed.append({"name": name, "status": None, "error": outcome.error_text})
                continue
            kind, row, error = outcome.value
            if kind == "failed":
                result.failed.append({"name": name, "status": row.status if row else None, "error": error})
            elif kind == "pending":
                result.pending.append({"name": name, "status": row.status if row else None, "reason": error})
        result.failed.sort(key=lambda f: f["name"])
        result.pending.sort(key=lambda p: p["name"])

    # -- helpers ----------------------------------------------------------------------------------

    def _store(self) -> Store:
        return Store(self.store_dsn, clock=self.clock)

    @staticmethod
    def _pool_rows(store: Store, server_type: str) -> list:
        return [server_row(r) for r in store.db.query(_POOL_SELECT, (server_type, DELETED))]

    @staticmethod
    def _account_rows(store: Store, identity: str | None, provider: str) -> int:
        if identity is not None:
            sql, param = "provider_identity = ?", identity
        else:
            sql, param = "provider = ?", provider
        return store.db.query("SELECT COUNT(*) FROM servers WHERE %s AND status <> ?" % sql, (param, DELETED))[0][0]

    def _build(self, provider: str, options: dict):
        try:
            return self.provider_factory(provider, options)
        except AppGraphError:
            raise
        except Exception as exc:        # a third-party provider's own failure: say which
            raise PermanentError("cannot use provider %r: %s" % (provider, describe(exc))) from exc

    def _identity(self, provider: str, public: dict, secret: dict) -> str:
        built = self._build(provider, dict(public, **secret))
        try:
            return built.identity()
        except AppGraphError:
            raise
        except Exception as exc:
            raise PermanentError("provider %r cannot say which account it is: %s" % (provider, describe(exc))) from exc

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


class _Serialised:
    """A store connection shared by some threads of one pool operation: a write transaction holds
    the lock from BEGIN to COMMIT, any other statement holds it while it runs. Threads wait on the
    lock and wake when it is free, instead of sleeping in SQLite's busy handler (1 to 100 ms steps),
    and no thread opens a connection of its own (about 1 ms each: the schema check, and on SQLite a
    WAL checkpoint at close). Measured on SQLite: ensure(200) at concurrency 200 took 2.9 s with a
    connection per flow, 1.12 s like this."""

    def __init__(self, db):
        self._db = db
        self._lock = threading.RLock()      # a transaction reads too: the same thread re-enters

    def __getattr__(self, name):
        return getattr(self._db, name)

    def begin_write(self, application):
        self._lock.acquire()
        try:
            self._db.begin_write(application)
        except BaseException:
            self._lock.release()
            raise

    def commit(self):
        try:
            self._db.commit()
        finally:
            self._lock.release()

    def rollback(self):
        try:
            self._db.rollback()
        finally:
            self._lock.release()

    def query(self, sql, params=()):
        with self._lock:
            return self._db.query(sql, params)

    def execute(self, sql, params=()):
        with self._lock:
            return self._db.execute(sql, params)

    def executemany(self, sql, rows):
        with self._lock:
            return self._db.executemany(sql, rows)


class _PoolServers(ServerService):
    """``ServerService`` for the worker threads of one pool operation, on a few store connections
    kept for the whole operation and shared by the threads (``_Serialised``): on SQLite one, the
    operation's own (the file has one writer anyway); on PostgreSQL up to ``POSTGRESQL_CONNECTIONS``
    (the operation's and more), so that a high ``concurrency`` never exceeds the server's
    ``max_connections``. ``close()`` when the flows are done."""

    def __init__(self, store: Store, *args, connections: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._guard = threading.Lock()
        self._own, self._raw = store, store.db
        store.db = _Serialised(store.db)
        self._slots: list = [store] + [None] * (max(connections, 1) - 1)
        self._next = 0

    def _store(self, now: float | None = None):
        if now is not None:
            return super()._store(now)
        store = getattr(self._local, "store", None)
        if store is None:
            with self._guard:
                slot, self._next = self._next, (self._next + 1) % len(self._slots)
                if self._slots[slot] is None:
                    opened = super()._store()
                    opened.db = _Serialised(opened.db)
                    self._slots[slot] = opened
                store = self._slots[slot]
            self._local.store = store
        return _Kept(store)

    # resume() is ServerService's: the pool wrote the row (or found it) in its decision
    # transaction, so start()'s own checks would each cost a write transaction and change nothing
    # (measured at 200 servers at once: the last create_server comes 40 % sooner).

    def close(self) -> None:
        with self._guard:
            slots, self._slots = self._slots, [self._own]
        self._own.db = self._raw
        for store in slots[1:]:
            if store is not None:
                store.close()


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


def _chunks(items: list, size: int = 500):
    """``items`` in slices that stay under SQLite's limit of parameters per statement."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _acted(result: PoolResult) -> bool:
    return bool(result.started or result.resumed or result.stopped or result.rebooted or result.waited)


def _limit(limit: int, live: int, asked: int, allowed: int, identity: str | None) -> dict:
    return {"limit": limit, "live": live, "asked": asked, "allowed": allowed, "provider_identity": identity}


def _lock_key(identity: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory lock of one provider account."""
    return int.from_bytes(hashlib.sha256(("appgraph-pool\0" + identity).encode()).digest()[:8], "big", signed=True)


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


# -- the module's request --------------------------------------------------------------------------

def pool_task(store_dsn: str, params: dict, check_mode: bool = False, **service_options) -> dict:
    """What ``appgraph.lifecycle.server_pool`` asked for: one operation (or its plan), as task output.

    ``params``: ``name``, ``provider``, ``provider_options``, ``count`` | ``increase`` | ``decrease``,
    ``state`` (present, rebooted, absent), ``max_servers``, ``wait``, ``timeout``, ``parallelism``.
    """
    state = params.get("state") or "present"
    amounts = {key: params.get(key) for key in ("count", "increase", "decrease") if params.get(key) is not None}
    if len(amounts) > 1:
        raise InputError("give one of count, increase or decrease, not %s" % " and ".join(sorted(amounts)),
                         key=sorted(amounts)[1])
    if state != "present" and amounts:
        raise InputError("%s goes with state: present, not %s" % (next(iter(amounts)), state),
                         key=next(iter(amounts)))
    if state == "present" and not amounts:
        raise InputError("state: present needs count, increase or decrease", key="count",
                         hint="count: N keeps N servers; increase/decrease: N more or fewer")
    operation, amount = {"rebooted": (REBOOT, None), "absent": (ABSENT, None)}.get(state, (None, None))
    if operation is None:
        key, amount = next(iter(amounts.items()))
        operation = {"count": ENSURE, "increase": INCREASE, "decrease": DECREASE}[key]
    name, provider, options = params["name"], params.get("provider"), params.get("provider_options")
    wait, timeout = params.get("wait", True), params.get("timeout")
    service = PoolService(store_dsn, concurrency=params.get("parallelism") or DEFAULT_CONCURRENCY, **service_options)
    if check_mode:
        result = service.plan(operation, name, amount, provider, options, params.get("max_servers"), wait)
    elif operation == ENSURE:
        result = service.ensure(name, amount, provider or "local", options, max_servers=params.get("max_servers"), wait=wait,
                                timeout=timeout)
    elif operation == INCREASE:
        result = service.increase(name, amount, provider or "local", options, max_servers=params.get("max_servers"),
                                  wait=wait, timeout=timeout)
    elif operation == DECREASE:
        result = service.decrease(name, amount, provider, options, wait=wait, timeout=timeout)
    elif operation == REBOOT:
        result = service.reboot(name, provider, options, wait=wait, timeout=timeout)
    else:
        result = service.absent(name, provider, options, wait=wait, timeout=timeout)
    out = result.as_dict()
    out["diff"] = {"before": {"counts": result.counts_before}, "after": {"counts": result.counts}}
    return out


def pool_failure(result: dict, fail_on_limit: bool = False, wait: bool = True) -> str | None:
    """The failure message of a ``pool_task`` result, or None when the task succeeded."""
    problems = []
    if result.get("failed"):
        problems.append("%d server(s) failed: %s" % (len(result["failed"]), "; ".join(
            "%s: %s" % (f["name"], f["error"]) for f in result["failed"][:10])))
    if wait and result.get("pending") and not result.get("check_mode"):
        problems.append("%d server(s) not done in time: %s" % (len(result["pending"]), ", ".join(
            "%s (%s)" % (p["name"], p["status"]) for p in result["pending"][:10])))
    limit = result.get("limit_hit")
    if fail_on_limit and limit:
        problems.append("max_servers %d reached at %s: %d live, %d asked, %d made" % (
            limit["limit"], limit["provider_identity"], limit["live"], limit["asked"], limit["allowed"]))
    return "; ".join(problems) or None
