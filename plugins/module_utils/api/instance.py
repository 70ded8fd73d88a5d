# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ``instance`` module calls: one instance, Roboconf's single-instance semantics."""

from __future__ import annotations

import time

from ..errors import InputError
from ..installers.registry import InstallerRegistry
from ..model.states import UNRESOLVED, WAITING_FOR_ANCESTOR
from ..runtime.converge import ConvergeResult
from ..runtime.polling import busy_elsewhere, converge_request
from ..store.store import Store
from ..runtime.stored import stored_application

INSTANCE_STATE_TO_ACTION = {"deployed": "deploy", "started": "start", "stopped": "stop", "undeployed": "undeploy"}
DEFAULT_WAIT_TIMEOUT = 3600.0   # waiting for ancestors with no timeout given: an hour, not forever


def converge_instance(store: Store, name: str, path: str, state: str, wait_for_ancestors: bool = True,
                      timeout: float | None = None, check_mode: bool = False,
                      installers: InstallerRegistry | None = None, poll_interval: float = 1.0,
                      sleep=time.sleep, clock=time.monotonic) -> dict:
    """One instance, Roboconf's single-instance semantics (``start`` may wait for its ancestors)."""
    if state not in INSTANCE_STATE_TO_ACTION:
        raise InputError("unknown state %r" % state, key="state",
                         hint="one of %s" % ", ".join(INSTANCE_STATE_TO_ACTION))
    app = stored_application(store, name)
    app.require(path, "path")
    if wait_for_ancestors and timeout is None:
        timeout = DEFAULT_WAIT_TIMEOUT

    def waiting(result: ConvergeResult) -> bool:
        # Not there yet and nothing failed: it waits for ancestors (to be deployed or started) or
        # for imports, which another run or a later request will bring.
        current = result.after[path]
        failed = any(op.path == path and not op.ok for op in result.operations)
        return (current.state != current.desired and not failed) or busy_elsewhere(result, [path])

    return converge_request(store, app, INSTANCE_STATE_TO_ACTION[state], path, [path], 10, timeout,
                            waiting if wait_for_ancestors else None, check_mode, installers, poll_interval, sleep,
                            clock)


def instance_task(store: Store, application: str, path: str, state: str, wait_for_ancestors: bool = True,
                  timeout: float | None = None, check_mode: bool = False) -> dict:
    """The ``instance`` module's return values: ``converge_instance``'s result about its one
    instance, with a ``msg`` when it waits for something."""
    result = converge_instance(store, application, path, state, wait_for_ancestors=wait_for_ancestors,
                               timeout=timeout, check_mode=check_mode)
    out = {key: result[key] for key in ("changed", "application", "operations", "failed_operations",
                                        "timed_out", "diff") if key in result}
    out["reactions"] = result.get("reactions", [])
    out["instance"] = result["instances"][0]
    current = out["instance"]["state"]
    if current == WAITING_FOR_ANCESTOR:
        out["msg"] = "%s waits for an ancestor to be started; it starts by itself then" % out["instance"]["path"]
    elif current == UNRESOLVED:
        out["msg"] = "%s waits for its required imports; it starts by itself once they are present" \
            % out["instance"]["path"]
    return out
