# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``attached``: a root that is a server the application uses but does not own (a pool's server
that tenants share). The component names it, ``options: {server: <name>}``.

deploy = find the server (it must be running) and remember what the instances below need to reach
it, as the ``server`` installer does; every other operation, undeploy included, does nothing to the
server: it belongs to its pool. The instances' directories on it are the application's own
(``applications/<application>/instances/...``: ``instance_relative``), so that applications
sharing a server never share a directory.
"""

from __future__ import annotations

from ..errors import InstallerError
from ..model.statuses import RUNNING
from ..names import local_name, safe_name
from .base import Installer, InstallResult, OperationContext

NAME = "attached"


def instance_relative(ctx: OperationContext) -> str:
    """The instance's directory on its server, relative to the server's working directory."""
    if ctx.root_installer == NAME:
        return "applications/%s/instances/%s" % (safe_name(ctx.application), safe_name(ctx.path))
    return "instances/%s" % safe_name(ctx.path)


class AttachedInstaller(Installer):
    name = NAME

    def deploy(self, ctx: OperationContext) -> InstallResult:
        name = (ctx.component.options or {}).get("server")
        if not isinstance(name, str) or not name:
            raise InstallerError("the attached root %s (component %s) names no server: give it options: {server: <name>}"
                                 % (ctx.path, ctx.component.name))
        from ..store import servers as servers_sql  # pylint: disable=import-outside-toplevel
        from ..store.store import Store  # pylint: disable=import-outside-toplevel
        with Store(ctx.store_dsn) as store:
            row = servers_sql.read(store.db, name)
        if row is None or row.status != RUNNING:
            raise InstallerError("the server %s that %s is attached to is %s" % (
                name, ctx.path, "unknown to the store" if row is None else "%s, not running" % row.status))
        exports = {key: row.address for key in ctx.exports if local_name(key) == "ip"}
        runtime = {"provider": row.provider, "provider_options": row.provider_options, "provider_id": row.provider_id,
                   "server": row.name, "address": row.address, "fleet": row.fleet, "attached": True}
        return InstallResult(exports=exports or None, runtime=runtime)
