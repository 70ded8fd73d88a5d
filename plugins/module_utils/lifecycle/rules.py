# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roboconf's instance life-cycle rules (DESIGN.md, "Instance life cycle"), all in ``Work.decide``.

Every instance whose surroundings changed is looked at again, level-triggered, until nothing more
follows. That one function gives deploy-and-start-all, waiting for ancestors, unresolved imports,
chain reactions and restarts.
"""

from __future__ import annotations

from collections import deque

from ..model.states import (DEPLOYED_STARTED, DEPLOYED_STOPPED, DEPLOYING, NOT_DEPLOYED, PROBLEM, STARTING,
                            STOPPING, UNDEPLOYING, UNRESOLVED, WAITING_FOR_ANCESTOR, InstanceState)
from .snapshot import Counts, Snapshot
from .states import DEPLOYED, PUBLISHING, STARTED, TRANSITIVE
from .step import DEPLOY, OPERATION_OF, START, STATE_OF, STOP, UPDATE, Event, Operation, Outcome, RunContext, Step


# -- the rules ---------------------------------------------------------------------------------


class Work:
    """One step in progress: an overlay of changes on a snapshot, and a queue of instances to
    look at again."""

    def __init__(self, snap: Snapshot, ctx: RunContext, react: bool = True):
        self.snap, self.app, self.ctx, self.react = snap, snap.app, ctx, react
        self.step = Step()
        self.delta = Counts()        # changes to snap.counts made by this step
        self.emitted: set = set()
        self.blocked: set = set(ctx.blocked)
        self.changed_prefixes: set = set()
        self.changed_external: set = set()
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

    def external(self) -> dict:
        """The bound applications' view this step works with (a new one once ``set_external`` ran)."""
        return self.step.external if self.step.external is not None else self.snap.external

    def external_present(self, prefix: str) -> bool:
        return bool(self.external().get(prefix))

    def set_external(self, view: dict) -> None:
        """What the bound applications publish changed: their importers are looked at again (the
        chain reaction crosses applications), and those that stay satisfied get ``update``."""
        changed = {prefix for prefix in set(view) | set(self.external())
                   if (view.get(prefix) or {}) != (self.external().get(prefix) or {})}
        self.step.external = dict(view)
        self.changed_external |= changed
        for prefix in changed:
            for importer in self.app.external_importers.get(prefix, ()):
                self.touch(importer)

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
        if not inst.is_root:
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
                self.step.blocked.add(path)

    def _landing(self, path: str, kind: str, ok: bool, current: InstanceState) -> str:
        root = self.app.instances[path].is_root
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
        changed = [(prefix, self.app.importers) for prefix in self.changed_prefixes] + \
            [(prefix, self.app.external_importers) for prefix in self.changed_external]
        for prefix, importers in changed:
            for importer in importers.get(prefix, ()):
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
        for prefix in comp.required_external_prefixes:
            if not self.external_present(prefix):
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
        inst = self.app.instances[path]
        parent = inst.parent
        if inst.is_root:
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
