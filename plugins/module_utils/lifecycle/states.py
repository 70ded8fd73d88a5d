# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each instance state means to the life-cycle rules (the states themselves: ``model.states``).

Every rule about "which states count as ..." is written here once; the engine's other layers
ask these sets instead of spelling state names out.
"""

from __future__ import annotations

from ..model.states import (DEPLOYED_STARTED, DEPLOYED_STOPPED, DEPLOYING, NOT_DEPLOYED, PROBLEM, STARTING,
                            STOPPING, UNDEPLOYING, UNRESOLVED, WAITING_FOR_ANCESTOR)

STABLE = frozenset({NOT_DEPLOYED, DEPLOYED_STOPPED, UNRESOLVED, WAITING_FOR_ANCESTOR, DEPLOYED_STARTED})
TRANSITIVE = frozenset({DEPLOYING, STARTING, STOPPING, UNDEPLOYING})

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
# A started instance in one of these waits for something else (an ancestor, its imports) and
# starts by itself once that is there.
WAITING = frozenset({WAITING_FOR_ANCESTOR, UNRESOLVED})

# Desired states are ordered: asking for "at least deployed" keeps "started".
_RANK = {NOT_DEPLOYED: 0, DEPLOYED_STOPPED: 1, DEPLOYED_STARTED: 2}


def desired_rank(desired: str) -> int:
    return _RANK[desired]
