# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roboconf's instance life cycle as pure functions: (snapshot, input) -> step; and the plan of a step.

The package's public names, for ``from .. import lifecycle as lc``:

- ``step``: ``Operation``, ``Outcome``, ``Event``, ``Step``, ``RunContext``, the operation kinds;
- ``snapshot``: ``Snapshot`` (states plus the counts the rules read);
- ``inputs``: ``request``, ``finish``, ``abandon``, ``reconcile``, ``heartbeat``,
  ``missed_heartbeats``, ``check_removable``, ``neighbours``, ``bound_changed``;
- ``external``: what bound applications publish (``external_view``, ``exporter_key``);
- ``at_rest``: whether a bulk request has nothing to do, from the states alone;
- ``rules``: the rules themselves (``Work.decide``), which nothing outside calls;
- ``states``: what the states mean to the rules (``STARTED``, ``WAITING``, ...);
- ``plan``: ``settle``, a step played to its end without running anything.
"""

from __future__ import annotations

from .at_rest import at_rest
from .external import changed_prefixes, exporter_key, external_view
from .inputs import (abandon, bound_changed, check_removable, finish, heartbeat, missed_heartbeats, neighbours,
                     reconcile, request)
from .snapshot import Snapshot
from .states import ACTIVE, DEPLOYED, PUBLISHING, STABLE, STARTED, TRANSITIVE, WAITING
from .step import (BULK_ACTIONS, DEPLOY, INSTANCE_ACTIONS, NO_CONTEXT, OPERATION_OF, START, STATE_OF, STOP, UNDEPLOY,
                   UPDATE, Event, Operation, Outcome, RunContext, Step)

__all__ = ["changed_prefixes", "exporter_key", "external_view", "bound_changed",
           "at_rest", "abandon", "check_removable", "finish", "heartbeat", "missed_heartbeats", "neighbours", "reconcile",
           "request", "Snapshot", "ACTIVE", "DEPLOYED", "PUBLISHING", "STABLE", "STARTED", "TRANSITIVE", "WAITING",
           "BULK_ACTIONS", "DEPLOY", "INSTANCE_ACTIONS", "NO_CONTEXT", "OPERATION_OF", "START", "STATE_OF", "STOP",
           "UNDEPLOY", "UPDATE", "Event", "Operation", "Outcome", "RunContext", "Step"]
