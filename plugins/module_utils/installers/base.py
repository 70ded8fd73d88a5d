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

from ..errors import AppGraphError


class InstallerError(AppGraphError):
    """An operation failed; ``detail`` carries what a person needs (exit code, output tail)."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message + ("\n" + detail if detail else ""))
        self.detail = detail


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
    runtime: dict = field(default_factory=dict)       # this instance's own runtime values
    deadline: float | None = None                     # clock time by which the operation must end
    store_dsn: str | None = None                      # for installers that keep rows of their own (servers)
    log: Callable[[str], None] = print


@dataclass
class InstallResult:
    exports: dict | None = None    # values to publish ("Prefix.var" -> value), e.g. an address
    runtime: dict | None = None    # values to remember for later operations (server id, ...)


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
