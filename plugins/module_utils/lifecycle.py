# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roboconf's instance life cycle as pure functions: (snapshot, input) -> Step.

An input is a request (a person asks for a desired state), the outcome of operations, a
heartbeat, or a plain ``reconcile``. A ``Step`` holds the changed instance states, the operations
to run and the events to record. Nothing here does I/O or reads a clock; the driver applies the
step to its snapshot, writes it to the store in one transaction, then runs the operations.

The rules (DESIGN.md, "Instance life cycle") are all in ``_Work.decide``: every instance whose
surroundings changed is looked at again, level-triggered, until nothing more follows. That one
function gives deploy-and-start-all, waiting for ancestors, unresolved imports, chain reactions
and restarts; requests only move desired states.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import NamedTuple

from .components import suggest
from .errors import InputError, PermanentError
from .model import Application
from .states import (ACTIVE, DEPLOYED, DEPLOYED_STARTED, DEPLOYED_STOPPED, DEPLOYING, NOT_DEPLOYED, PROBLEM,
                     PUBLISHING, STARTED, STARTING, STOPPING, TRANSITIVE, UNDEPLOYING, UNRESOLVED,
                     WAITING_FOR_ANCESTOR, InstanceState, desired_rank)

DEPLOY, START, STOP, UNDEPLOY, UPDATE = "deploy", "start", "stop", "undeploy", "update"
OPERATION_OF = {DEPLOYING: DEPLOY, STARTING: START, STOPPING: STOP, UNDEPLOYING: UNDEPLOY}
STATE_OF = {kind: state for state, kind in OPERATION_OF.items()}

INSTANCE_ACTIONS = ("deploy", "start", "stop", "undeploy")
BULK_ACTIONS = ("deploy_all", "start_all", "stop_all", "undeploy_all")


class Operation(NamedTuple):
    """Something an installer must do for one instance."""

    kind: str
    path: str


@dataclass(frozen=True)
class Outcome:
    """How an operation ended; ``error`` is a readable reason when it failed."""

    operation: Operation
    ok: bool
    error: str | None = None


class Event(NamedTuple):
    path: str
    kind: str
    data: dict


@dataclass
class Step:
    changes: dict = field(default_factory=dict)       # path -> InstanceState
    operations: list = field(default_factory=list)    # Operation, in the order they became ready
    events: list = field(default_factory=list)        # Event, in the order they happened
    failed: list = field(default_factory=list)        # Outcome of failed operations

    def __bool__(self) -> bool:
        return bool(self.changes or self.operations or self.events)


@dataclass(frozen=True)
class RunContext:
    """What the caller knows that the states do not say.

    ``running``: paths with an operation under way (in this process or under another's lease);
    they get no new operation. ``blocked``: paths whose operation failed during this run; they
    are left as they are until the next run, so a failing recipe is not retried in a loop.
    """

    running: frozenset = frozenset()
    blocked: frozenset = frozenset()


NO_CONTEXT = RunContext()


class Counts:
    """Counts derived from the states, kept up to date as states change, so the rules read them
    in O(1): publishers per export prefix, and per parent its active and its deployed children."""

    __slots__ = ("published", "active", "deployed")

    def __init__(self):
        self.published: Counter = Counter()
        self.active: Counter = Counter()
        self.deployed: Counter = Counter()

    def copy(self) -> "Counts":
        other = Counts()
        other.published = Counter(self.published)
        other.active = Counter(self.active)
        other.deployed = Counter(self.deployed)
        return other

    def record(self, app: Application, path: str, before: str | None, after: str) -> list:
        """Account for ``path`` moving from ``before`` (None: not counted yet) to ``after``;
        return the export prefixes whose count of publishers changed."""
        inst = app.instances[path]
        changed = []
        was, now = before in PUBLISHING, after in PUBLISHING
        if was != now:
            delta = 1 if now else -1
            for prefix in app.components[inst.component].exports:
                self.published[prefix] += delta
                changed.append(prefix)
        if inst.parent is not None:
            was, now = before in ACTIVE, after in ACTIVE
            if was != now:
                self.active[inst.parent] += 1 if now else -1
            was, now = before not in (None, NOT_DEPLOYED), after != NOT_DEPLOYED
            if was != now:
                self.deployed[inst.parent] += 1 if now else -1
        return changed


class Snapshot:
    """The states of one application's instances, with counts derived from them.

    Life-cycle functions never change a snapshot; the driver calls ``apply`` with their steps.
    """

    def __init__(self, app: Application, states: dict | None = None):
        self.app = app
        states = states or {}
        self.states = {path: states.get(path) or InstanceState() for path in app.instances}
        self.counts = Counts()
        for path, current in self.states.items():
            self.counts.record(app, path, None, current.state)

    def __getitem__(self, path: str) -> InstanceState:
        return self.states[path]

    def apply(self, step: Step) -> "Snapshot":
        for path, new in step.changes.items():
            old = self.states[path]
            if old.state != new.state:
                self.counts.record(self.app, path, old.state, new.state)
            self.states[path] = new
        return self

    def copy(self) -> "Snapshot":
        other = Snapshot.__new__(Snapshot)
        other.app, other.states, other.counts = self.app, dict(self.states), self.counts.copy()
        return other


# -- the public functions --------------------------------------------------------------------


def request(snap: Snapshot, action: str, path: str | None = None, ctx: RunContext = NO_CONTEXT) -> Step:
    """A person asks for ``action`` on one instance (deploy, start, stop, undeploy) or in bulk on
    an instance's subtree or the whole application (deploy_all, start_all, stop_all, undeploy_all)."""
    work = _Work(snap, ctx)
    for target, desired in _desired_targets(snap, action, path):
        work.set_desired(target, desired, action)
    return work.run()


def finish(snap: Snapshot, outcomes, ctx: RunContext = NO_CONTEXT) -> Step:
    """Operations ended (one or a batch); apply their results and everything that follows."""
    work = _Work(snap, ctx)
    for outcome in outcomes:
        work.finish(outcome)
    return work.run()


def abandon(snap: Snapshot, paths, ctx: RunContext = NO_CONTEXT) -> Step:
    """Operations announced for ``paths`` will not run (cancelled before they started): each goes
    back to the stable state it left. Nothing new is started."""
    work = _Work(snap, ctx, react=False)
    for path in paths:
        current = work.get(path)
        if current.state in TRANSITIVE and current.previous is not None:
            work.set_state(path, current.previous, "abandoned: the run ended before this operation started")
    return work.run()


def reconcile(snap: Snapshot, ctx: RunContext = NO_CONTEXT, paths=None) -> Step:
    """Look at every instance (or ``paths``) again: carries on work that waits, adopts transitive
    states that nobody runs (``ctx.running`` says who does)."""
    work = _Work(snap, ctx)
    for path in (paths if paths is not None else snap.app.instances):
        work.touch(path)
    return work.run()


def neighbours(app: Application, paths) -> set:
    """``paths`` and every instance whose rules read their states: parents, children, importers."""
    out = set()
    for path in paths:
        inst = app.instances[path]
        out.add(path)
        if inst.parent is not None:
            out.add(inst.parent)
        out.update(inst.children)
        for prefix in app.components[inst.component].exports:
            out.update(app.importers.get(prefix, ()))
    return out


def heartbeat(snap: Snapshot, path: str) -> Step:
    """A root's agent is alive: ``problem`` goes back to ``deployed_started``."""
    work = _Work(snap, NO_CONTEXT)
    if snap[path].state == PROBLEM:
        work.set_state(path, DEPLOYED_STARTED, "heartbeat received")
    return work.run()


def missed_heartbeats(snap: Snapshot, last_seen: dict, now: float, period: float = 60.0,
                      misses: int = 3) -> Step:
    """Started roots silent for more than ``misses`` periods become ``problem``."""
    work = _Work(snap, NO_CONTEXT)
    for path in snap.app.roots:
        seen = last_seen.get(path)
        if snap[path].state == DEPLOYED_STARTED and seen is not None and now - seen > misses * period:
            work.set_state(path, PROBLEM, "no heartbeat for %d s" % int(now - seen))
    return work.run()


def check_removable(snap: Snapshot) -> None:
    """An application may be removed only when every root is ``not_deployed`` (Roboconf)."""
    deployed = [p for p in snap.app.roots if snap[p].state != NOT_DEPLOYED]
    if deployed:
        raise PermanentError("application %r cannot be removed: %d root instance(s) still deployed (%s)"
                             % (snap.app.name, len(deployed), ", ".join(deployed[:5])))


# -- requests -> desired states ----------------------------------------------------------------


def _desired_targets(snap: Snapshot, action: str, path: str | None):
    app = snap.app
    if path is not None and path not in app.instances:
        raise InputError("no instance %r in application %r" % (path, app.name), key="path",
                         hint=suggest(path, app.instances))
    if action in INSTANCE_ACTIONS and path is None:
        raise InputError("%r needs an instance path" % action, key="path")
    if action not in INSTANCE_ACTIONS + BULK_ACTIONS:
        raise InputError("unknown action %r" % action, key="state",
                         hint="one of %s" % ", ".join(INSTANCE_ACTIONS + BULK_ACTIONS))
    scope = app.subtree(path)
    if action == "stop" and app.instances[path].parent is None:
        raise InputError("%r is a root instance: roots are started or not deployed" % path, key="state",
                         hint="undeploy it to stop its server")
    if action in ("deploy", "start"):
        return [(path, _raised(snap, path, DEPLOYED_STARTED if action == "start" else DEPLOYED_STOPPED))]
    if action in ("deploy_all", "start_all"):
        floor = DEPLOYED_STARTED if action == "start_all" else DEPLOYED_STOPPED
        chain = _ancestors(app, path) + scope
        return [(p, _raised(snap, p, floor)) for p in chain]
    if action == "stop" or action == "stop_all":
        if action == "stop_all" and (path is None or app.instances[path].parent is None):
            scope = [p for p in scope if app.instances[p].parent is not None]
        return [(p, DEPLOYED_STOPPED) for p in scope if snap[p].desired == DEPLOYED_STARTED]
    return [(p, NOT_DEPLOYED) for p in scope]           # undeploy, undeploy_all


def _ancestors(app: Application, path: str | None) -> list:
    out = []
    current = app.instances[path].parent if path is not None else None
    while current is not None:
        out.append(current)
        current = app.instances[current].parent
    return list(reversed(out))


def _raised(snap: Snapshot, path: str, floor: str) -> str:
    """At least ``floor``; roots have no stopped state, so for them deployed means started."""
    if snap.app.instances[path].parent is None:
        floor = DEPLOYED_STARTED
    current = snap[path].desired
    return current if desired_rank(current) >= desired_rank(floor) else floor


# -- the rules ---------------------------------------------------------------------------------


class _Work:
    """One step in progress: an overlay of changes on a snapshot, and a queue of instances to
    look at again."""

    def __init__(self, snap: Snapshot, ctx: RunContext, react: bool = True):
        self.snap, self.app, self.ctx, self.react = snap, snap.app, ctx, react
        self.step = Step()
        self.delta = Counts()        # changes to snap.counts made by this step
        self.emitted: set = set()
        self.blocked: set = set(ctx.blocked)
        self.changed_prefixes: set = set()
        self.queue: deque = deque()
        self.queued: set = set()

    # state access

    def get(self, path: str) -> InstanceState:
        return self.step.changes.get(path) or self.snap.states[path]

    def published(self, prefix: str) -> int:
        return self.snap.counts.published[prefix] + self.delta.published[prefix]

    def active_children(self, path: str) -> int:
        return self.snap.counts.active[path] + self.delta.active[path]

    def deployed_children(self, path: str) -> int:
        return self.snap.counts.deployed[path] + self.delta.deployed[path]

    def touch(self, path: str) -> None:
        if self.react and path not in self.queued:
            self.queued.add(path)
            self.queue.append(path)

    def event(self, path: str, kind: str, **data) -> None:
        self.step.events.append(Event(path, kind, data))

    # changes

    def set_desired(self, path: str, desired: str, reason: str) -> None:
        current = self.get(path)
        if current.desired != desired:
            self.step.changes[path] = InstanceState(current.state, desired, current.previous)
            self.event(path, "desired", before=current.desired, after=desired, reason=reason)
        self.touch(path)    # even when unchanged: a new request retries what is stuck

    def set_state(self, path: str, state: str, reason: str) -> None:
        current = self.get(path)
        if current.state == state:
            return
        if state in TRANSITIVE:
            previous = current.state if current.state not in TRANSITIVE else current.previous
        else:
            previous = None
        self.step.changes[path] = InstanceState(state, current.desired, previous)
        self.event(path, "state", before=current.state, after=state, reason=reason)
        self._recount(path, current.state, state)
        inst = self.app.instances[path]
        self.touch(path)
        if inst.parent is not None:
            self.touch(inst.parent)
        for child in inst.children:
            self.touch(child)

    def _recount(self, path: str, before: str, after: str) -> None:
        for prefix in self.delta.record(self.app, path, before, after):
            self._prefix_changed(prefix)

    def _prefix_changed(self, prefix: str) -> None:
        self.changed_prefixes.add(prefix)
        # Presence only changes when the count of publishers moves between 0, 1 and 2 (an
        # instance never imports from itself), so only then must importers be looked at again.
        if self.published(prefix) <= 2:
            for importer in self.app.importers.get(prefix, ()):
                self.touch(importer)

    def emit(self, kind: str, path: str) -> None:
        if kind != UPDATE:
            self.emitted.add(path)
        self.step.operations.append(Operation(kind, path))

    def begin(self, path: str, transitive: str, reason: str) -> None:
        # set_state looks at ``path`` again, and _adopt emits its operation once it may run.
        self.set_state(path, transitive, reason)

    # outcomes

    def finish(self, outcome: Outcome) -> None:
        op, path = outcome.operation, outcome.operation.path
        current = self.get(path)
        if op.kind == UPDATE:
            if not outcome.ok:
                self.step.failed.append(outcome)
                self.event(path, "update_failed", error=outcome.error)
            self.touch(path)        # what waited for the update to end can happen now
            return
        if current.state != STATE_OF[op.kind]:
            self.event(path, "stale_outcome", operation=op.kind, state=current.state)
            return
        self.set_state(path, self._landing(path, op.kind, outcome.ok, current),
                       "%s %s" % (op.kind, "succeeded" if outcome.ok else "failed: %s" % outcome.error))
        if not outcome.ok:
            self.step.failed.append(outcome)
            if op.kind != STOP:     # a failed stop still lands stopped (logged): nothing to hold back
                self.blocked.add(path)

    def _landing(self, path: str, kind: str, ok: bool, current: InstanceState) -> str:
        root = self.app.instances[path].parent is None
        if kind == DEPLOY:
            return (DEPLOYED_STARTED if root else DEPLOYED_STOPPED) if ok else NOT_DEPLOYED
        if kind == START:
            return DEPLOYED_STARTED if ok else (current.previous or DEPLOYED_STOPPED)
        if kind == STOP:
            return DEPLOYED_STOPPED
        if ok:
            return NOT_DEPLOYED
        return PROBLEM if root else DEPLOYED_STOPPED

    # the fixpoint

    def run(self) -> Step:
        while self.queue:
            path = self.queue.popleft()
            self.queued.discard(path)
            self.decide(path)
        self._updates()
        return self.step

    def _updates(self) -> None:
        """Started importers whose imports changed but stay satisfied get ``update``; so do those
        still starting (their start may have read the imports before the change: the driver runs
        the update after the start, and only if the imports it saw differ)."""
        seen = set()
        for prefix in self.changed_prefixes:
            for importer in self.app.importers.get(prefix, ()):
                if importer in seen or importer in self.emitted:
                    continue
                seen.add(importer)
                state = self.get(importer).state
                if state == STARTING or (state == DEPLOYED_STARTED and self.imports_present(importer)):
                    self.emit(UPDATE, importer)

    def imports_present(self, path: str) -> bool:
        comp = self.app.component_of(path)
        for prefix in comp.required_prefixes:
            publishers = self.published(prefix)
            if self.get(path).state in PUBLISHING and prefix in comp.exports:
                publishers -= 1                      # never from itself
            if publishers <= 0:
                return False
        return True

    def decide(self, path: str) -> None:
        """The life-cycle rules: what ``path`` does next, given its surroundings."""
        if path in self.ctx.running:
            return                  # its operation's outcome will bring it back here
        current = self.get(path)
        state, desired = current.state, current.desired
        if state in TRANSITIVE:
            self._adopt(path, state)
            return
        if path in self.blocked:
            return
        parent = self.app.instances[path].parent
        if parent is None:
            self._decide_root(path, state, desired)
        elif desired == NOT_DEPLOYED:
            self._decide_teardown(path, state)
        elif state == NOT_DEPLOYED:
            if self.get(parent).state in DEPLOYED:
                self.begin(path, DEPLOYING, "deploy: the parent is deployed")
        elif desired == DEPLOYED_STOPPED:
            if state == DEPLOYED_STARTED:
                self.begin(path, STOPPING, "stop requested")
            elif state in (UNRESOLVED, WAITING_FOR_ANCESTOR):
                self.set_state(path, DEPLOYED_STOPPED, "start cancelled by a stop request")
        else:
            self._decide_started(path, state, self.get(parent).state in STARTED)

    def _adopt(self, path: str, state: str) -> None:
        """A transitive state with no operation behind it gets one (after a crash, a cancelled
        run, or a stop that waited for its children)."""
        if path in self.emitted:
            return
        if state != STOPPING or self.active_children(path) == 0:
            self.emit(OPERATION_OF[state], path)

    def _decide_root(self, path: str, state: str, desired: str) -> None:
        if desired == NOT_DEPLOYED:
            if state in STARTED and self.deployed_children(path) == 0:
                self.begin(path, UNDEPLOYING, "undeploy: every child is undeployed")
        elif state == NOT_DEPLOYED:
            self.begin(path, DEPLOYING, "deploy requested")

    def _decide_teardown(self, path: str, state: str) -> None:
        if state == DEPLOYED_STARTED:
            self.begin(path, STOPPING, "stop before undeploy")
        elif state != NOT_DEPLOYED and self.deployed_children(path) == 0:
            self.begin(path, UNDEPLOYING, "undeploy: every child is undeployed")

    def _decide_started(self, path: str, state: str, parent_started: bool) -> None:
        if state == DEPLOYED_STARTED:
            if not parent_started:
                self.begin(path, STOPPING, "chain reaction: the parent is no longer started")
            elif not self.imports_present(path):
                self.begin(path, STOPPING, "chain reaction: a required import is gone")
            return
        if not parent_started:
            self.set_state(path, WAITING_FOR_ANCESTOR, "start requested: the parent is not started")
        elif not self.imports_present(path):
            self.set_state(path, UNRESOLVED, "start requested: required imports are missing")
        else:
            self.begin(path, STARTING, "start: the parent is started and imports are present")
