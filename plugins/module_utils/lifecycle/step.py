# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the life-cycle functions take and give: operations, their outcomes, events and steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..model.states import DEPLOYING, STARTING, STOPPING, UNDEPLOYING

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
    blocked: set = field(default_factory=set)         # paths left alone for the rest of the run (failed)
    external: dict | None = None                      # a new view of the bound applications (external.py)

    def __bool__(self) -> bool:
        return bool(self.changes or self.operations or self.events or self.external is not None)


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
