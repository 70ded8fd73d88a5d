# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inputs of the life cycle, each a pure function (snapshot, input) -> Step.

An input is a request (a person asks for a desired state), the outcome of operations, a
heartbeat, or a plain ``reconcile``. A ``Step`` holds the changed instance states, the operations
to run and the events to record. Nothing here does I/O or reads a clock; the driver applies the
step to its snapshot, writes it to the store in one transaction, then runs the operations.
Requests only move desired states; ``rules`` decides what follows.
"""

from __future__ import annotations

from ..errors import InputError, PermanentError
from ..model.application import Application
from ..model.states import DEPLOYED_STARTED, DEPLOYED_STOPPED, NOT_DEPLOYED, PROBLEM
from .rules import Work
from .snapshot import Snapshot
from .states import TRANSITIVE, desired_rank
from .step import BULK_ACTIONS, INSTANCE_ACTIONS, NO_CONTEXT, RunContext, Step


# -- the public functions --------------------------------------------------------------------


def request(snap: Snapshot, action: str, path: str | None = None, ctx: RunContext = NO_CONTEXT) -> Step:
    """A person asks for ``action`` on one instance (deploy, start, stop, undeploy) or in bulk on
    an instance's subtree or the whole application (deploy_all, start_all, stop_all, undeploy_all)."""
    work = Work(snap, ctx)
    for target, desired in _desired_targets(snap, action, path):
        work.set_desired(target, desired, action)
    return work.run()


def finish(snap: Snapshot, outcomes, ctx: RunContext = NO_CONTEXT) -> Step:
    """Operations ended (one or a batch); apply their results and everything that follows."""
    work = Work(snap, ctx)
    for outcome in outcomes:
        work.finish(outcome)
    return work.run()


def abandon(snap: Snapshot, paths, ctx: RunContext = NO_CONTEXT) -> Step:
    """Operations announced for ``paths`` will not run (cancelled before they started): each goes
    back to the stable state it left. Nothing new is started."""
    work = Work(snap, ctx, react=False)
    for path in paths:
        current = work.get(path)
        if current.state in TRANSITIVE and current.previous is not None:
            work.set_state(path, current.previous, "abandoned: the run ended before this operation started")
    return work.run()


def reconcile(snap: Snapshot, ctx: RunContext = NO_CONTEXT, paths=None) -> Step:
    """Look at every instance (or ``paths``) again: carries on work that waits, adopts transitive
    states that nobody runs (``ctx.running`` says who does)."""
    work = Work(snap, ctx)
    for path in (paths if paths is not None else snap.app.instances):
        work.touch(path)
    return work.run()


def bound_changed(snap: Snapshot, view: dict, ctx: RunContext = NO_CONTEXT) -> Step:
    """What the bound applications publish is now ``view`` (``external.external_view``): importers
    left without a required external import stop (``unresolved``), those that find theirs start,
    those whose imported values changed get ``update``. The step carries the new view."""
    work = Work(snap, ctx)
    work.set_external(view)
    return work.run()


def neighbours(app: Application, paths) -> set:
    """``paths`` and every instance whose rules read their states: parents, children, importers."""
    out = set()
    for path in paths:
        inst = app.instances[path]
        out.add(path)
        if not inst.is_root:
            out.add(inst.parent)
        out.update(inst.children)
        for prefix in app.components[inst.component].exports:
            out.update(app.importers.get(prefix, ()))
    return out


def heartbeat(snap: Snapshot, path: str) -> Step:
    """A root's agent is alive: ``problem`` goes back to ``deployed_started``."""
    work = Work(snap, NO_CONTEXT)
    if snap[path].state == PROBLEM:
        work.set_state(path, DEPLOYED_STARTED, "heartbeat received")
    return work.run()


def missed_heartbeats(snap: Snapshot, last_seen: dict, now: float, period: float = 60.0,
                      misses: int = 3) -> Step:
    """Started roots silent for more than ``misses`` periods become ``problem``."""
    work = Work(snap, NO_CONTEXT)
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
    app.require(path)
    if action in INSTANCE_ACTIONS and path is None:
        raise InputError("%r needs an instance path" % action, key="path")
    if action not in INSTANCE_ACTIONS + BULK_ACTIONS:
        raise InputError("unknown action %r" % action, key="state",
                         hint="one of %s" % ", ".join(INSTANCE_ACTIONS + BULK_ACTIONS))
    scope = app.subtree(path)
    if action == "stop" and app.instances[path].is_root:
        raise InputError("%r is a root instance: roots are started or not deployed" % path, key="state",
                         hint="undeploy it to stop its server")
    if action in ("deploy", "start"):
        return [(path, _raised(snap, path, DEPLOYED_STARTED if action == "start" else DEPLOYED_STOPPED))]
    if action in ("deploy_all", "start_all"):
        floor = DEPLOYED_STARTED if action == "start_all" else DEPLOYED_STOPPED
        chain = (list(reversed(app.ancestors(path))) if path is not None else []) + scope
        return [(p, _raised(snap, p, floor)) for p in chain]
    if action == "stop" or action == "stop_all":
        if action == "stop_all" and (path is None or app.instances[path].is_root):
            scope = [p for p in scope if not app.instances[p].is_root]
        return [(p, DEPLOYED_STOPPED) for p in scope if snap[p].desired == DEPLOYED_STARTED]
    return [(p, NOT_DEPLOYED) for p in scope]           # undeploy, undeploy_all


def _raised(snap: Snapshot, path: str, floor: str) -> str:
    """At least ``floor``; roots have no stopped state, so for them deployed means started."""
    if snap.app.instances[path].is_root:
        floor = DEPLOYED_STARTED
    current = snap[path].desired
    return current if desired_rank(current) >= desired_rank(floor) else floor
