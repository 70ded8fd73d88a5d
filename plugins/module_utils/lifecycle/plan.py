# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Play a step through to the end without running anything: check mode's plan, and the
reference the tests and benchmarks compare the real executor with.

Every operation "runs" at once, in waves: all operations ready together finish together.
``outcome(op)`` says whether it succeeds (always, for a plan).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .inputs import finish
from .snapshot import Snapshot
from .step import NO_CONTEXT, Outcome, RunContext, Step


@dataclass
class Plan:
    snapshot: Snapshot                                 # the states once everything has settled
    operations: list = field(default_factory=list)     # every operation, in the order it became ready
    events: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    waves: int = 0


def _always(_op) -> tuple:
    return True, None


def settle(snap: Snapshot, first: Step, outcome=_always, ctx: RunContext = NO_CONTEXT,
           max_waves: int = 100000, copy: bool = True) -> Plan:
    """Apply ``first`` to (a copy of) ``snap`` and finish its operations wave by wave."""
    snap = snap.copy() if copy else snap
    plan = Plan(snapshot=snap)
    step = first
    blocked = set(ctx.blocked)
    while True:
        snap.apply(step)
        plan.operations.extend(step.operations)
        plan.events.extend(step.events)
        plan.failed.extend(step.failed)
        blocked.update(step.blocked)
        if not step.operations or plan.waves >= max_waves:
            return plan
        plan.waves += 1
        outcomes = [Outcome(op, *outcome(op)) for op in step.operations]
        step = finish(snap, outcomes, RunContext(running=ctx.running, blocked=frozenset(blocked)))
