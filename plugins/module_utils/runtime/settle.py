# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a whole application to a life-cycle action and insist that it got there: what the
services that own an application of their own (a reserve's clones, a provisioned tenant's server)
need, where the ``application`` module reports a partial result instead."""

from __future__ import annotations

from ..errors import InstallerError, TransientError

START, DEPLOY, STOP, UNDEPLOY = "start_all", "deploy_all", "stop_all", "undeploy_all"
PARALLELISM = 10


def settle(store, app, action: str, installers, timeout: float | None = None) -> None:
    """Converge ``app`` to ``action``; InstallerError unless every instance got there,
    TransientError when another live process holds some of its instances (try again later)."""
    from ..lifecycle import at_rest  # pylint: disable=import-outside-toplevel
    from .converge import Converger  # pylint: disable=import-outside-toplevel
    result = Converger(store, app, installers=installers, parallelism=PARALLELISM).run(action, timeout=timeout)
    if result.failed:
        raise InstallerError("%d operation(s) of %s failed: %s" % (len(result.failed), app.name, "; ".join(
            "%s %s: %s" % (op.kind, op.path, op.error) for op in result.failed[:5])))
    if at_rest(action, [(app.instances[p].is_root, s) for p, s in result.after.items()]):
        return
    if result.busy_elsewhere:
        raise TransientError("another process is working on %s: %s" % (app.name, ", ".join(result.busy_elsewhere[:5])))
    waiting = sorted(p for p, s in result.after.items() if s.state != s.desired)
    raise InstallerError("%s did not get %s%s: %s" % (app.name, action, " in time" if result.timed_out else "",
                                                      ", ".join(waiting[:5])))
