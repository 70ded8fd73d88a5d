# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Instance states (Roboconf's, in lower case) and the sets the life-cycle rules speak of."""

from __future__ import annotations

from typing import NamedTuple

NOT_DEPLOYED = "not_deployed"
DEPLOYING = "deploying"
DEPLOYED_STOPPED = "deployed_stopped"
STARTING = "starting"
DEPLOYED_STARTED = "deployed_started"
STOPPING = "stopping"
UNDEPLOYING = "undeploying"
UNRESOLVED = "unresolved"
WAITING_FOR_ANCESTOR = "waiting_for_ancestor"
PROBLEM = "problem"

STABLE = frozenset({NOT_DEPLOYED, DEPLOYED_STOPPED, UNRESOLVED, WAITING_FOR_ANCESTOR, DEPLOYED_STARTED})
TRANSITIVE = frozenset({DEPLOYING, STARTING, STOPPING, UNDEPLOYING})
ALL_STATES = STABLE | TRANSITIVE | {PROBLEM}

# A parent in one of these lets its children deploy ("deployed" in any way).
DEPLOYED = frozenset({DEPLOYED_STOPPED, UNRESOLVED, WAITING_FOR_ANCESTOR, STARTING, DEPLOYED_STARTED,
                      STOPPING, PROBLEM})
# A parent in one of these lets its children start. ``problem`` is a warning about the machine,
# not a statement about the parts inside (DESIGN.md), so it counts as started.
STARTED = frozenset({DEPLOYED_STARTED, PROBLEM})
# An instance in one of these publishes its exports.
PUBLISHING = STARTED
# A child in one of these keeps its parent from stopping (children stop first).
ACTIVE = frozenset({DEPLOYED_STARTED, STARTING, STOPPING, DEPLOYING, UNDEPLOYING})

# Desired states: what a person asked for. Waiting states are how "started" waits.
DESIRED_STATES = (NOT_DEPLOYED, DEPLOYED_STOPPED, DEPLOYED_STARTED)
_RANK = {NOT_DEPLOYED: 0, DEPLOYED_STOPPED: 1, DEPLOYED_STARTED: 2}


def desired_rank(desired: str) -> int:
    return _RANK[desired]


class InstanceState(NamedTuple):
    """Where an instance is (``state``), where it should go (``desired``) and, while in a
    transitive state, the stable state it left (``previous``), so a failure or an abandoned
    operation can go back to it. (A NamedTuple: a 100,000-instance chain reaction makes one each.)"""

    state: str = NOT_DEPLOYED
    desired: str = NOT_DEPLOYED
    previous: str | None = None
