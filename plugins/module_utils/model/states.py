# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Instance states: Roboconf's, in lower case (what they mean to the rules: ``lifecycle.states``)."""

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


class InstanceState(NamedTuple):
    """Where an instance is (``state``), where it should go (``desired``) and, while in a
    transitive state, the stable state it left (``previous``), so a failure or an abandoned
    operation can go back to it. (A NamedTuple: a 100,000-instance chain reaction makes one each.)"""

    state: str = NOT_DEPLOYED
    desired: str = NOT_DEPLOYED
    previous: str | None = None
