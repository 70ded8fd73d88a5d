# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``server``: a root instance is a server (DESIGN.md "Root instances").

deploy = the server's start flow (``ServerService.start``), undeploy = its stop-and-delete flow;
start, stop and update do nothing (a root is started by its deploy). The component says where the
server comes from: ``provider`` (default ``local``) and ``provider_options``, of which
``server_type`` (default: the component's name) names the pool and is not passed to the provider.

The server is named after the application and the instance path (``servers.safe_name``: safe for
a directory, unique per instance). Deploy publishes the server's address as every ``ip`` export of
the instance and remembers, in the instance's runtime, what the instances below need to reach it:
``provider``, ``provider_options``, ``provider_id``, ``server`` and ``address``.
"""

from __future__ import annotations

import time

from ..providers.registry import get_provider
from ..errors import InstallerError
from ..names import local_name, safe_name
from ..servers.flows import BACKOFF_INITIAL, BACKOFF_MAX, HANGING_AFTER, ServerService
from ..servers.secrets import split_options
from .base import Installer, InstallResult, OperationContext

DEFAULT_PROVIDER = "local"
ROLLBACK_TIME = 120.0      # seconds a failed deploy may spend removing what it made


def server_name(application: str, path: str) -> str:
    return safe_name(application, path)


def server_settings(component) -> tuple:
    """``(provider, provider options, server type)`` of a root component."""
    options = dict(component.provider_options or {})
    server_type = options.pop("server_type", None) or component.name
    return component.provider or DEFAULT_PROVIDER, options, str(server_type)


class ServerInstaller(Installer):
    name = "server"

    def __init__(self, provider_factory=get_provider, clock=time.time, sleep=time.sleep, monotonic=time.monotonic,
                 backoff_initial: float = BACKOFF_INITIAL, backoff_max: float = BACKOFF_MAX,
                 hanging_after: float = HANGING_AFTER):
        """``monotonic`` is the clock of ``ctx.deadline``; ``clock`` and ``sleep`` go to the service."""
        self.provider_factory = provider_factory
        self.clock, self.sleep, self.monotonic = clock, sleep, monotonic
        self.backoff = (backoff_initial, backoff_max)
        self.hanging_after = hanging_after

    def service(self, ctx: OperationContext, secret: dict | None = None) -> ServerService:
        """The service of ``ctx``'s server; ``secret`` options (never stored) reach its provider."""
        factory = self.provider_factory
        if secret:
            provider = server_settings(ctx.component)[0]

            def factory(name, options):
                return self.provider_factory(name, dict(options, **secret) if name == provider else options)

        return ServerService(ctx.store_dsn, provider_factory=factory, clock=self.clock,
                             sleep=self.sleep, backoff_initial=self.backoff[0], backoff_max=self.backoff[1],
                             hanging_after=self.hanging_after)

    def _deadline(self, ctx: OperationContext) -> float | None:
        """``ctx.deadline`` (monotonic) on the service's clock."""
        if ctx.deadline is None:
            return None
        return self.clock() + max(0.0, ctx.deadline - self.monotonic())

    def deploy(self, ctx: OperationContext) -> InstallResult:
        provider, options, server_type = server_settings(ctx.component)
        public, secret = split_options(provider, options)     # the row and the runtime keep no secret
        name = ctx.runtime.get("server") or server_name(ctx.application, ctx.path)
        tags = {"appgraph_application": ctx.application, "appgraph_instance": ctx.path,
                "appgraph_component": ctx.component.name, "appgraph_server_type": server_type}
        service = self.service(ctx, secret)
        try:
            row = service.start(name, server_type, provider, public, tags=tags, application=ctx.application,
                                instance_path=ctx.path, deadline=self._deadline(ctx))
        except Exception as exc:
            raise self._rolled_back(service, name, exc) from exc
        exports = {key: row.address for key in ctx.exports if local_name(key) == "ip"}
        runtime = {"provider": row.provider, "provider_options": row.provider_options,
                   "provider_id": row.provider_id, "server": row.name, "address": row.address, "fleet": row.fleet}
        return InstallResult(exports=exports or None, runtime=runtime)

    def _rolled_back(self, service: ServerService, name: str, error: Exception) -> Exception:
        """A failed deploy lands the root ``not_deployed``: remove what the start made, so that the
        store's word is true. If that fails too, the row stays (errored) for ``reconcile``."""
        try:
            service.stop_and_delete(name, deadline=self.clock() + ROLLBACK_TIME)
        except Exception as cleanup:  # pylint: disable=broad-exception-caught
            return InstallerError("%s; the server %s could not be removed either (%s): it is kept in the store "
                                  "as errored for a later reconcile" % (error, name, cleanup))
        return error if isinstance(error, InstallerError) else InstallerError(
            "%s: %s (the server was removed again)" % (type(error).__name__, error))

    def undeploy(self, ctx: OperationContext) -> None:
        provider, options, _server_type = server_settings(ctx.component)
        name = ctx.runtime.get("server") or server_name(ctx.application, ctx.path)
        self.service(ctx, split_options(provider, options)[1]).stop_and_delete(name, deadline=self._deadline(ctx))
        return None
