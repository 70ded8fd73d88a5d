# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The installer contract: one method per life-cycle operation, each given an OperationContext.

An installer runs in a worker thread. It reads only its context (a consistent picture taken when
the operation was dispatched), raises ``InstallerError`` (or any exception) to fail, and returns an
``InstallResult`` for what it learnt (a server's address, values it chose) or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


def _quiet(_message: str) -> None:
    """Where an installer's progress goes unless the caller says: nowhere (a module's stdout is its JSON)."""


@dataclass
class OperationContext:
    application: str
    operation: str                 # deploy | start | update | stop | undeploy
    path: str
    name: str
    component: Any                 # model.Component
    exports: dict                  # this instance's values, "Prefix.var" -> value
    imports: dict                  # prefix -> {exporter path: {var: value}}, started exporters only
    old_imports: dict = field(default_factory=dict)   # for update: what the last start/update saw
    ancestors: list = field(default_factory=list)     # [(component name, exports)], nearest first
    root: str = ""                                    # path of the root (server) instance
    root_installer: str = ""                          # the root's installer: server, noop, ...
    root_runtime: dict = field(default_factory=dict)  # what the server installer learnt: provider, id, address
    root_component: Any = None                        # the root's model.Component (its provider's options)
    runtime: dict = field(default_factory=dict)       # this instance's own runtime values
    data: dict = field(default_factory=dict)          # the runtime data written with it (Roboconf's data.*)
    deadline: float | None = None                     # clock time by which the operation must end
    store_dsn: str | None = None                      # for installers that keep rows of their own (servers)
    store_fleet: str | None = None                    # the store's identity: what it keeps on this machine
    log: Callable[[str], None] = _quiet
    peers: int = 1                                    # operations of this component and kind dispatched with it

    def root_provider_options(self) -> dict:
        """The options of the root server's provider: what its runtime keeps (public ones only)
        and the secret ones of the root's component, which the store never keeps and the model
        read from the application file has (an ``ssh`` provider's inline ``private_key``)."""
        runtime = self.root_runtime or {}
        options = dict(runtime.get("provider_options") or {})
        root = self.root_component
        if root is not None and (root.provider or "local") == runtime.get("provider"):
            from ..servers.secrets import split_options  # pylint: disable=import-outside-toplevel
            options.update(split_options(runtime.get("provider"), root.provider_options)[1])
        return options


@dataclass
class InstallResult:
    exports: dict | None = None    # values to publish ("Prefix.var" -> value), e.g. an address
    runtime: dict | None = None    # values to remember for later operations (server id, ...)
    report: dict | None = None     # what the operation's report shows (the ansible installer's batch, log)


class Installer:
    """Base class: every operation does nothing. Subclasses override what they need."""

    name = "base"

    def deploy(self, ctx: OperationContext) -> InstallResult | None:
        return None

    def start(self, ctx: OperationContext) -> InstallResult | None:
        return None

    def update(self, ctx: OperationContext) -> InstallResult | None:
        return None

    def stop(self, ctx: OperationContext) -> InstallResult | None:
        return None

    def undeploy(self, ctx: OperationContext) -> InstallResult | None:
        return None

    def run(self, ctx: OperationContext) -> InstallResult | None:
        return getattr(self, ctx.operation)(ctx)
