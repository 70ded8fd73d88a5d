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
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from . import lifecycle as lc
from .executor import Executor, Task
from .installers.base import InstallResult, OperationContext
from .installers.registry import InstallerRegistry
from .model import Application
from .states import PUBLISHING
from .store import Store, new_owner

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

    def as_dict(self) -> dict:
        out = {"operation": self.kind, "path": self.path, "ok": self.ok, "duration": round(self.duration, 3)}
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
        return self.values.exports.get(path) if self.snap[path].state in PUBLISHING else None


class Converger:
    """Runs requests on one application. One instance per module invocation."""

    def __init__(self, store: Store, app: Application, installers: InstallerRegistry | None = None,
                 parallelism: int = 10, operation_timeout: float = DEFAULT_OPERATION_TIMEOUT,
                 clock=time.monotonic, wall_clock=time.time, port_picker=free_port, log=None):
        if parallelism < 1:
            raise ValueError("parallelism must be at least 1 (got %r)" % (parallelism,))
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
        rows = store.instance_rows(app.name)
        self.snap = lc.Snapshot(app, {p: r.state for p, r in rows.items()})
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
        first = self._transact(lambda: self._first_step(self.snap, action, path, self._ctx()))
        executor = Executor(self._execute, parallelism=self.parallelism, task_timeout=self.operation_timeout,
                            clock=self.clock)
        report = executor.run(first, self._on_results, deadline=deadline, cancel=cancel)
        timed_out = any(r.cancelled for r in report.results) or bool(report.abandoned)
        return ConvergeResult(self.app.name, before, dict(self.snap.states), self.reports, timed_out,
                              sorted(self.others), report.makespan)

    def plan(self, action: str | None, path: str | None = None):
        """What ``run`` would do, without doing it (check mode): every operation succeeds at once."""
        from .plan import settle
        ctx = lc.RunContext(running=frozenset(self._others_now()))
        step, _data, _freed = self._first_step(self.snap.copy(), action, path, ctx)
        return settle(self.snap, step, ctx=ctx)

    # -- the transaction around every step ---------------------------------------------------------

    def _transact(self, compute) -> list:
        """Catch up with other processes, compute a step, write it; return the tasks it announces.

        ``compute()`` returns ``(step, data, freed)``: the step, installer data to keep
        ({path: columns}) and paths whose operation ended (their leases are released).
        """
        with self.store.transaction(self.app.name) as tx:
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
        """Take in what other processes wrote since our last transaction, and react to it."""
        self.others = tx.leased_by_others(self.owner)
        if tx.version == self.version:
            return None
        rows = tx.changed_since(self.version)
        self.snap.apply(lc.Step(changes={p: r.state for p, r in rows.items()}))
        self.values.update(rows)
        self.version = tx.version
        step = lc.reconcile(self.snap, self._ctx(), paths=lc.neighbours(self.app, rows))
        self.snap.apply(step)
        return step

    def _ctx(self) -> lc.RunContext:
        return lc.RunContext(running=frozenset(self.mine | self.others), blocked=frozenset(self.blocked))

    def _others_now(self) -> set:
        with self.store.transaction(self.app.name) as tx:
            return tx.leased_by_others(self.owner)

    @staticmethod
    def _first_step(snap: lc.Snapshot, action, path, ctx: lc.RunContext):
        """The request, then whatever waits or was left half-done (orphans adopted), applied to
        ``snap``; returns the merged step in ``_transact``'s shape."""
        step = lc.request(snap, action, path, ctx) if action else lc.Step()
        snap.apply(step)
        more = lc.reconcile(snap, lc.RunContext(running=ctx.running | {o.path for o in step.operations},
                                                blocked=ctx.blocked))
        snap.apply(more)
        return _merge(step, more), {}, []

    def _announce(self, tx, step: lc.Step, chosen: dict) -> list:
        """Leases and context for each operation of ``step``; updates wait for a busy path.
        ``chosen`` gets the exports chosen for each deploy (written by the caller)."""
        tasks = []
        for op in step.operations:
            if op.path in self.mine:
                if op.kind == lc.UPDATE:
                    self.deferred.add(op.path)
                continue
            if op.kind == lc.DEPLOY:
                chosen[op.path] = {"exports": self._choose_exports(op.path)}
            tasks.append(Task(op.path, (op, self._context(op))))
            self.mine.add(op.path)
        if tasks:
            expires = self.wall_clock() + self.operation_timeout + LEASE_MARGIN
            tx.take_leases([t.key for t in tasks], self.owner, expires)
        return tasks

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
            self.reports.append(OperationReport(op.kind, op.path, result.ok, error,
                                                (result.finished_at or 0) - (result.started_at or 0)))
            outcomes.append(lc.Outcome(op, result.ok, error))
        step = lc.finish(self.snap, outcomes, self._ctx())
        self.blocked.update(o.operation.path for o in step.failed if o.operation.kind != lc.STOP)
        self.snap.apply(step)
        if abandoned:
            more = lc.abandon(self.snap, abandoned)
            self.snap.apply(more)
            step = _merge(step, more)
        for path in sorted(self.deferred):
            if path not in self.mine and self.snap[path].state == "deployed_started":
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

    def _root_of(self, path: str) -> str:
        while self.app.instances[path].parent is not None:
            path = self.app.instances[path].parent
        return path

    def _choose_exports(self, path: str) -> dict:
        """Before a deploy: the server's address for ``ip`` and a port for each ``{random: port}``."""
        inst = self.app.instances[path]
        current = dict(self.values.exports.get(path) or {})
        address = self.values.runtime.get(self._root_of(path), {}).get("address")
        values = {}
        for key, default in inst.exports.items():
            var = key.split(".", 1)[1]
            if key in current and current[key] is not None and not (var == "ip" and address):
                values[key] = current[key]
            elif isinstance(default, dict) and default.get("random") == "port":
                values[key] = self.port_picker()
            elif var == "ip" and default is None:
                values[key] = address
            else:
                values[key] = default
        # a random port is shared by every prefix that exports the same variable
        for var in {k.split(".", 1)[1] for k, d in inst.exports.items() if isinstance(d, dict)}:
            first = next(v for k, v in values.items() if k.split(".", 1)[1] == var)
            values.update({k: first for k in values if k.split(".", 1)[1] == var})
        self.values.exports[path] = values
        return values

    def _context(self, op: lc.Operation) -> OperationContext:
        inst = self.app.instances[op.path]
        root = self._root_of(op.path)
        ancestors = []
        parent = inst.parent
        while parent is not None:
            ancestors.append((self.app.instances[parent].component, self.values.exports.get(parent) or {}))
            parent = self.app.instances[parent].parent
        deadline = self.clock() + self.operation_timeout
        return OperationContext(
            application=self.app.name, operation=op.kind, path=op.path, name=inst.name,
            component=self.app.components[inst.component], exports=dict(self.values.exports.get(op.path) or {}),
            imports=self.app.imported_values(op.path, _Published(self.snap, self.values)),
            old_imports=self.values.applied.get(op.path) or {}, ancestors=ancestors, root=root,
            root_installer=self.app.component_of(root).installer,
            root_runtime=dict(self.values.runtime.get(root) or {}),
            runtime=dict(self.values.runtime.get(op.path) or {}), deadline=deadline, log=self.log,
            store_dsn=self.store.dsn)

    def _execute(self, task: Task, deadline):
        op, ctx = task.payload
        if op.kind == lc.UPDATE and ctx.imports == ctx.old_imports:
            return None          # the imports are what the installer last saw: nothing to tell it
        installer = self.installers.get(ctx.component.installer)
        return installer.run(ctx)


def _merge(first: lc.Step, second: lc.Step) -> lc.Step:
    seen = {(o.kind, o.path) for o in first.operations}
    return lc.Step(changes={**first.changes, **second.changes},
                   operations=first.operations + [o for o in second.operations if (o.kind, o.path) not in seen],
                   events=first.events + second.events, failed=first.failed + second.failed)
