# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a bulk request on a whole application has nothing to do, decided from the states alone.

A converge of an unchanged application is the common case (every playbook run after the first),
and answering it needs neither the model nor the rules: when every instance is stable in its
desired state, and the request asks for no desired state that is not already there, ``request``
would change nothing and ``reconcile`` would find nothing waiting. (A started importer whose
exporter stopped is stopped by the step that stops the exporter; so at rest, every started
instance has what it imports.)
"""

from __future__ import annotations

from ..model.states import DEPLOYED_STARTED, DEPLOYED_STOPPED, NOT_DEPLOYED
from .states import STABLE


def at_rest(action: str, instances) -> bool:
    """``instances``: ``[(is_root, InstanceState)]`` of every instance of the application;
    ``action``: ``deploy_all``, ``start_all``, ``stop_all`` or ``undeploy_all``."""
    for is_root, current in instances:
        if current.state != current.desired or current.state not in STABLE or not _asked(action, is_root,
                                                                                         current.desired):
            return False
    return True


def _asked(action: str, is_root: bool, desired: str) -> bool:
    """Whether ``desired`` is what ``action`` leaves it at (roots have no stopped state)."""
    if action == "start_all":
        return desired == DEPLOYED_STARTED
    if action == "deploy_all":
        return desired == DEPLOYED_STARTED if is_root else desired in (DEPLOYED_STOPPED, DEPLOYED_STARTED)
    if action == "stop_all":
        return is_root or desired != DEPLOYED_STARTED
    return desired == NOT_DEPLOYED      # undeploy_all
