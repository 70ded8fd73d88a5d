# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drive one application to what was asked: life cycle + store + executor + installers.

The loop, all on one thread except the installers:
  1. in a store transaction: catch up with other processes, apply the request, write the step
     (states, events, leases of the operations it announces), commit;
  2. hand the operations to the executor; as results come in, do 1 again with their outcomes;
  3. when nothing runs any more: release what was not started (abandon), and report.
A crash anywhere leaves transitive states with leases of a dead process; the next run adopts them.

An application bound to others (``external`` imports) reads what they publish with its own rows:
at the start, then in every transaction whose bound applications moved on since the last one
(their versions), so the life cycle gets a new view as input (``lifecycle.bound_changed``) and
the chain reaction crosses the applications. ``runtime.bound`` converges the importers of an
application after its run.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field, replace

from .. import lifecycle as lc
from ..errors import InputError
from ..executor import Executor, Task
from ..installers.base import InstallResult, OperationContext
from ..installers.registry import InstallerRegistry
from ..model.application import Application
from ..model.states import DEPLOYED_STARTED
from ..names import local_name
from ..store.leases import new_owner
from ..store.store import Store

DEFAULT_OPERATION_TIMEOUT = 600.0
LEASE_MARGIN = 30.0


@dataclass
class OperationReport:
    kind: str
    path: str
    ok: bool = True
    error: str | None = None
    duration: float = 0.0
    cancelled: bool = False
    details: dict | None = None         # what the installer reported (the ansible installer's batch)

    def as_dict(self) -> dict:
        out = {"operation": self.kind, "path": self.path, "ok": self.ok, "duration": round(self.duration, 3)}
        if self.details:
            out.update(self.details)
        if self.error:
            out["error"] = self.error
        if self.cancelled:
            out["cancelled"] = True
        return out


@dataclass
class ConvergeResult:
    application: str
    before: dict                                    # path -> state, when the run started
    after: dict                                     # path -> InstanceState, when it ended
    operations: list = field(default_factory=list)  # OperationReport, in completion order
    timed_out: bool = False
    busy_elsewhere: list = field(default_factory=list)   # paths another process was working on
    makespan: float = 0.0                                # first dispatch to last finish, seconds

    @property
    def changed(self) -> bool:
        return bool(self.operations) or any(self.before.get(p) != s.state for p, s in self.after.items())

    @property
    def failed(self) -> list:
        return [op for op in self.operations if not op.ok and not op.cancelled]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class _Values:
    """Per-instance exports, runtime and applied imports, as the store holds them."""

    def __init__(self, rows: dict):
        self.exports = {p: r.exports for p, r in rows.items()}
        self.runtime = {p: r.runtime for p, r in rows.items()}
        self.applied = {p: r.applied_imports for p, r in rows.items()}

    def update(self, rows: dict) -> None:
        for path, row in rows.items():
            self.exports[path], self.runtime[path], self.applied[path] = row.exports, row.runtime, \
                row.applied_imports


class _Published:
    """``published.get(path)``: an instance's exports while it publishes them, else None."""

    def __init__(self, snap: lc.Snapshot, values: _Values):
        self.snap, self.values = snap, values

    def get(self, path):
        return self.values.exports.get(path) if self.snap[path].state in lc.PUBLISHING else None


class Converger:
    """Runs requests on one application. One instance per module invocation."""

    def __init__(self, store: Store, app: Application, installers: InstallerRegistry | None = None,
                 parallelism: int = 10, operation_timeout: float = DEFAULT_OPERATION_TIMEOUT,
                 clock=time.monotonic, wall_clock=time.time, port_picker=free_port, log=None,
                 bindings: dict | None = None):
        """``bindings`` (check mode): plan with these instead of the stored ones."""
        if isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 1:
            raise InputError("must be an integer >= 1, got %r" % (parallelism,), key="parallelism")
        self.store, self.app = store, app
        self.installers = installers or InstallerRegistry()
        self.parallelism, self.operation_timeout = parallelism, operation_timeout
        self.clock, self.wall_clock, self.port_picker = clock, wall_clock, port_picker
        self.log = log or (lambda message: None)
        self.owner = new_owner()
        # The version is read before the rows: rows newer than it are read again at the first
        # catch-up (harmless), while the other order could miss a write for good.
        record = store.application(app.name)
        self.version = record.version if record else 0
        self.fixed_bindings = bindings is not None
        self.bindings = bindings if bindings is not None else store.bindings(app.name)
        self.bound_versions: dict = {}          # bound application -> its version when last read
        self._bound_names: list = []
        view = self._external_view(store.external_sources)
        rows = store.instance_rows(app.name)
        self.snap = lc.Snapshot(app, {p: r.state for p, r in rows.items()}, external=view)
        self.values = _Values(rows)
        self.mine: set = set()          # paths with an operation of ours in flight
        self.blocked: set = set()       # paths whose operation failed in this run
        self.others: set = set()        # paths under another process's live lease
        self.deferred: set = set()      # updates waiting for the path's current operation
        self.reports: list = []

    # -- public ----------------------------------------------------------------------------------

    def run(self, action: str | None, path: str | None = None, timeout: float | None = None,
            cancel: threading.Event | None = None) -> ConvergeResult:
        """Apply ``action`` (None: just carry on waiting work) and run until nothing more follows."""
        before = {p: s.state for p, s in self.snap.states.items()}
        deadline = self.clock() + timeout if timeout else None
        first = self._transact(lambda: self._first_step(self.snap, action, path, self._ctx()), first=True)
        executor = Executor(self._execute, parallelism=self.parallelism, task_timeout=self.operation_timeout,
                            clock=self.clock)
        report = executor.run(first, self._on_results, deadline=deadline, cancel=cancel)
        timed_out = any(r.cancelled for r in report.results) or bool(report.abandoned)
        return ConvergeResult(self.app.name, before, dict(self.snap.states), self.reports, timed_out,
                              sorted(self.others), report.makespan)

    def plan(self, action: str | None, path: str | None = None):
        """What ``run`` would do, without doing it (check mode): every operation succeeds at once."""
        from ..lifecycle.plan import settle
        self.others = self._others_now()
        ctx = lc.RunContext(running=frozenset(self.others))
        step, _data, _freed = self._first_step(self.snap.copy(), action, path, ctx)
        return settle(self.snap, step, ctx=ctx)

    def first_wave(self, action: str | None, path: str | None = None) -> list:
        """Check mode: ``(operation, context)`` of what a run would start with (its first wave, whose
        preconditions hold now), on the values the store holds; nothing is written."""
        ctx = lc.RunContext(running=frozenset(self._others_now()))
        step, _data, _freed = self._first_step(self.snap.copy(), action, path, ctx)
        return [(op, self._context(op)) for op in step.operations]

    def server_is_up(self, path: str) -> bool:
        """Whether the root of ``path`` is started: a server recorded, or a machine that exists (noop)."""
        root = self.app.root_of(path)
        if self.snap[root].state != DEPLOYED_STARTED:
            return False
        return self.app.component_of(root).installer == "noop" or bool(self.values.runtime.get(root, {}).get("provider_id"))

    # -- the transaction around every step ---------------------------------------------------------

    def _transact(self, compute, first: bool = False) -> list:
        """Catch up with other processes, compute a step, write it; return the tasks it announces.

        ``compute()`` returns ``(step, data, freed)``: the step, installer data to keep
        ({path: columns}) and paths whose operation ended (their leases are released). The first
        transaction of a run also releases the leases of runs that died: what they announced is
        adopted (transitive states) or found again (imports not applied: ``_stale_imports``).
        """
        with self.store.transaction(self.app.name) as tx:
            if first:
                tx.clear_dead_leases()
            caught_up = self._catch_up(tx)
            step, data, freed = compute()
            if caught_up:
                step = _merge(caught_up, step)
            tx.release_leases(freed, self.owner)     # before _announce: a path may get its next operation
            chosen: dict = {}
            tasks = self._announce(tx, step, chosen)
            for path, columns in chosen.items():
                data.setdefault(path, {}).update(columns)
            tx.write_data_many(data)
            tx.write_states(step.changes)
            tx.append_events([(e.path, e.kind, e.data) for e in step.events])
        self.version = tx.version_after
        return tasks

    def _catch_up(self, tx) -> lc.Step | None:
        """Take in what other processes wrote since our last transaction, and what the bound
        applications publish now, and react to both."""
        self.others = tx.leased_by_others(self.owner)
        step = None
        if tx.version != self.version:
            rows = tx.changed_since(self.version)
            self.snap.apply(lc.Step(changes={p: r.state for p, r in rows.items()}))
            self.values.update(rows)
            self.version = tx.version
            if not self.fixed_bindings:             # they move the version on when they change
                self.bindings = tx.bindings(self.app.name)
            step = lc.reconcile(self.snap, self._ctx(), paths=lc.neighbours(self.app, rows))
            self.snap.apply(step)
            step.operations.extend(self._stale_imports(self._importers_of(rows)))
        bound = self._catch_up_bound(tx)
        return bound if step is None else (step if bound is None else _merge(step, bound))

    def _external_view(self, read) -> dict:
        """What the bound applications publish (``read``: ``external_sources`` of the store or of a
        transaction); remembers their versions. Empty for an application without external imports."""
        if not self.app.external_importers:
            return {}
        names = sorted({name for names in self.bindings.values() for name in names})
        sources = read(names, lc.PUBLISHING)
        self.bound_versions = {name: source[0] for name, source in sources.items()}
        self._bound_names = names
        return lc.external_view(self.bindings, sources)

    def _catch_up_bound(self, tx) -> lc.Step | None:
        """A new view when the bound applications (or the bindings) moved on since the last one."""
        if not self.app.external_importers:
            return None
        names = sorted({name for names in self.bindings.values() for name in names})
        if names == self._bound_names and tx.application_versions(names) == self.bound_versions:
            return None
        view = self._external_view(tx.external_sources)
        if view == self.snap.external:
            return None
        step = lc.bound_changed(self.snap, view, self._ctx())
        self.snap.apply(step)
        step.operations.extend(self._stale_imports({p for paths in self.app.external_importers.values()
                                                    for p in paths}))
        return step

    def _importers_of(self, paths) -> set:
        """The instances that import from ``paths`` (what another process's changes may affect)."""
        out = set()
        for path in paths:
            for prefix in self.app.component_of(path).exports:
                out.update(self.app.importers.get(prefix, ()))
        return out

    def _stale_imports(self, paths) -> list:
        """``update`` for each started instance of ``paths`` whose imports now differ from those its
        installer last started or updated with. Level-triggered: an update another process asked
        for, or one a run that died never finished, is found from the values alone. A path whose
        operation is ours gets it when that operation ends; one leased by another process, from it."""
        published = _Published(self.snap, self.values)
        found = []
        for path in sorted(paths):
            if path in self.mine:
                self.deferred.add(path)     # compared again (by _execute) once its operation ends
            elif path not in self.others and self.snap[path].state == DEPLOYED_STARTED \
                    and self.app.imported_values(path, published, self.snap.external) \
                    != (self.values.applied.get(path) or {}):
                found.append(lc.Operation(lc.UPDATE, path))
        return found

    def _ctx(self) -> lc.RunContext:
        return lc.RunContext(running=frozenset(self.mine | self.others), blocked=frozenset(self.blocked))

    def _others_now(self) -> set:
        with self.store.transaction(self.app.name) as tx:
            return tx.leased_by_others(self.owner)

    def _first_step(self, snap: lc.Snapshot, action, path, ctx: lc.RunContext):
        """The request, then whatever waits or was left half-done (orphans adopted, imports not
        applied), applied to ``snap``; returns the merged step in ``_transact``'s shape."""
        step = lc.request(snap, action, path, ctx) if action else lc.Step()
        snap.apply(step)
        more = lc.reconcile(snap, lc.RunContext(running=ctx.running | {o.path for o in step.operations},
                                                blocked=ctx.blocked))
        snap.apply(more)
        importers = {p for index in (self.app.importers, self.app.external_importers) for paths in index.values()
                     for p in paths}
        return _merge(_merge(step, more), lc.Step(operations=self._stale_imports(importers))), {}, []

    def _announce(self, tx, step: lc.Step, chosen: dict) -> list:
        """Leases and context for each operation of ``step``; updates wait for a busy path.
        ``chosen`` gets the exports chosen for each deploy (written by the caller)."""
        tasks = []
        for op in step.operations:
            if op.path in self.others:
                continue            # its owner carries on (an update: it finds the imports changed)
            if op.path in self.mine:
                if op.kind == lc.UPDATE:
                    self.deferred.add(op.path)
                continue
            if op.kind == lc.DEPLOY:
                chosen[op.path] = {"exports": self._choose_exports(op.path)}
            tasks.append(Task(op.path, (op, self._context(op))))
            self.mine.add(op.path)
        tasks = self._with_peers(tasks)
        if tasks:
            expires = self.wall_clock() + self.operation_timeout + LEASE_MARGIN
            tx.take_leases([t.key for t in tasks], self.owner, expires)
        return tasks

    def _with_peers(self, tasks: list) -> list:
        """Each context learns how many operations of its component and kind are dispatched with it
        (at most ``parallelism`` run at once): an installer that batches them (``ansible``) knows
        how many to wait for."""
        counts: dict = {}
        for task in tasks:
            op, ctx = task.payload
            counts[(ctx.component.name, op.kind)] = counts.get((ctx.component.name, op.kind), 0) + 1
        free = max(1, self.parallelism - (len(self.mine) - len(tasks)))     # slots not held by earlier work
        return [Task(t.key, (t.payload[0], replace(t.payload[1], peers=min(
            free, counts[(t.payload[1].component.name, t.payload[0].kind)])))) for t in tasks]

    # -- results ---------------------------------------------------------------------------------

    def _on_results(self, results) -> list:
        return self._transact(lambda: self._absorb(results))

    def _absorb(self, results):
        outcomes, abandoned, freed, data = [], [], [], {}
        for result in results:
            op, ctx = result.task.payload
            self.mine.discard(op.path)
            freed.append(op.path)
            if result.cancelled:
                abandoned.append(op.path)
                self.reports.append(OperationReport(op.kind, op.path, ok=False, cancelled=True,
                                                    error="not started: the run's time ran out"))
                continue
            error = None if result.ok else (result.error_text or "failed")
            if result.ok:
                data[op.path] = self._remember(op, ctx, result.value)
            data.setdefault(op.path, {})["last_error"] = error     # kept until an operation succeeds
            self.reports.append(OperationReport(op.kind, op.path, result.ok, error,
                                                (result.finished_at or 0) - (result.started_at or 0),
                                                details=_details(result)))
            outcomes.append(lc.Outcome(op, result.ok, error))
        step = lc.finish(self.snap, outcomes, self._ctx())
        self.blocked.update(step.blocked)
        self.snap.apply(step)
        if abandoned:
            more = lc.abandon(self.snap, abandoned)
            self.snap.apply(more)
            step = _merge(step, more)
        for path in sorted(self.deferred):
            if path not in self.mine and self.snap[path].state == DEPLOYED_STARTED:
                self.deferred.discard(path)
                step.operations.append(lc.Operation(lc.UPDATE, path))
        return step, {p: d for p, d in data.items() if d}, freed

    def _remember(self, op, ctx: OperationContext, value) -> dict:
        """Keep what the installer learnt, and the imports it was given (for the next update)."""
        data = {}
        if isinstance(value, InstallResult):
            if value.exports:
                self.values.exports[op.path] = {**self.values.exports.get(op.path, {}), **value.exports}
                data["exports"] = self.values.exports[op.path]
            if value.runtime:
                self.values.runtime[op.path] = {**self.values.runtime.get(op.path, {}), **value.runtime}
                data["runtime"] = self.values.runtime[op.path]
        if op.kind in (lc.START, lc.UPDATE):
            self.values.applied[op.path] = ctx.imports
            data["applied_imports"] = ctx.imports
        if op.kind == lc.UNDEPLOY:
            self.values.runtime[op.path] = {}
            data["runtime"] = {}
        return data

    # -- operation contexts ----------------------------------------------------------------------

    def _choose_exports(self, path: str) -> dict:
        """Before a deploy: the server's address for ``ip`` and a port for each ``{random: port}``."""
        inst = self.app.instances[path]
        current = dict(self.values.exports.get(path) or {})
        address = self.values.runtime.get(self.app.root_of(path), {}).get("address")
        values = {}
        for key, default in inst.exports.items():
            var = local_name(key)          # a variable the component does not declare has no prefix
            if key in current and current[key] is not None and not (var == "ip" and address):
                values[key] = current[key]
            elif isinstance(default, dict) and default.get("random") == "port":
                values[key] = self.port_picker()
            elif var == "ip" and default is None:
                values[key] = address
            else:
                values[key] = default
        # a random port is shared by every prefix that exports the same variable
        for var in {local_name(k) for k, d in inst.exports.items() if isinstance(d, dict)}:
            first = next(v for k, v in values.items() if local_name(k) == var)
            values.update({k: first for k in values if local_name(k) == var})
        self.values.exports[path] = values
        return values

    def _context(self, op: lc.Operation) -> OperationContext:
        inst = self.app.instances[op.path]
        root = self.app.root_of(op.path)
        ancestors = [(self.app.instances[p].component, self.values.exports.get(p) or {})
                     for p in self.app.ancestors(op.path)]
        deadline = self.clock() + self.operation_timeout
        return OperationContext(
            application=self.app.name, operation=op.kind, path=op.path, name=inst.name,
            component=self.app.components[inst.component], exports=dict(self.values.exports.get(op.path) or {}),
            imports=self.app.imported_values(op.path, _Published(self.snap, self.values), self.snap.external),
            old_imports=self.values.applied.get(op.path) or {}, ancestors=ancestors, root=root,
            root_installer=self.app.component_of(root).installer, root_component=self.app.component_of(root),
            root_runtime=dict(self.values.runtime.get(root) or {}),
            runtime=dict(self.values.runtime.get(op.path) or {}), deadline=deadline, log=self.log,
            store_dsn=self.store.dsn, store_fleet=self.store.fleet, data=dict(inst.data))

    def _execute(self, task: Task, deadline):
        op, ctx = task.payload
        if op.kind == lc.UPDATE and ctx.imports == ctx.old_imports:
            return None          # the imports are what the installer last saw: nothing to tell it
        if deadline is not None and (ctx.deadline is None or deadline < ctx.deadline):
            ctx = replace(ctx, deadline=deadline)   # the run's own deadline: its timeout is the task's
        installer = self.installers.get(ctx.component.installer)
        return installer.run(ctx)


def _details(result) -> dict | None:
    """The installer's own report of an operation: an ``InstallResult``'s, or its error's."""
    if result.ok:
        return getattr(result.value, "report", None) if isinstance(result.value, InstallResult) else None
    return getattr(result.error, "report", None)


def _merge(first: lc.Step, second: lc.Step) -> lc.Step:
    seen = {(o.kind, o.path) for o in first.operations}
    return lc.Step(changes={**first.changes, **second.changes},
                   operations=first.operations + [o for o in second.operations if (o.kind, o.path) not in seen],
                   events=first.events + second.events, failed=first.failed + second.failed,
                   external=second.external if second.external is not None else first.external)
