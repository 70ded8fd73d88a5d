# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``script``: Roboconf's script recipes, run on the instance's server.

A component's recipes directories are ``component.recipe_dirs`` (its own first, then the ones it
inherits). Each operation runs ``scripts/<operation>.sh`` (deploy, start, update, stop, undeploy)
with ``bash``, from the first directory that has it; an operation without a script does nothing.

Split in three files: ``script_env`` (the environment contract: which script, which variables),
``script_targets`` (where a script runs: a server through ``exec``, or this machine) and this one
(the installer: which operation does what). Everything documented there is re-exported here.
"""

from __future__ import annotations

import os
import time

from ..errors import AppGraphError, InstallerError
from ..names import safe_name
from ..providers.registry import get_provider
from ..servers.flows import DELETED, ServerService, fleet_provider
from .attached import instance_relative
from .base import Installer, OperationContext
from .script_env import clean_path, find_script, output_detail, recipe_files, script_env, script_name
from .script_targets import KILL_GRACE, Local, Remote, work_dir
from .server import server_name

OPERATIONS = ("deploy", "start", "update", "stop", "undeploy")
# What callers imported from here before the split, kept importable from here.
__all__ = ["OPERATIONS", "ScriptInstaller", "clean_path", "find_script", "recipe_files", "script_env", "work_dir"]


class ScriptInstaller(Installer):
    name = "script"

    def __init__(self, provider_factory=get_provider, monotonic=time.monotonic, work_root: str | None = None,
                 kill_grace: float = KILL_GRACE):
        """``monotonic`` is the clock of ``ctx.deadline``; ``work_root`` overrides where ``noop``
        roots keep instance files (default: next to the store)."""
        self.provider_factory = provider_factory
        self.monotonic = monotonic
        self.work_root = work_root
        self.kill_grace = kill_grace

    def run(self, ctx: OperationContext):
        if ctx.operation not in OPERATIONS:
            raise InstallerError("the script installer has no operation %r" % ctx.operation)
        dirs = tuple(ctx.component.recipe_dirs or ())
        if not dirs and ctx.component.recipes:
            dirs = (ctx.component.recipes,)
        if not dirs:
            return None                                     # no recipes: every operation does nothing
        script_dir = find_script(dirs, ctx.operation)
        if ctx.operation not in ("deploy", "undeploy") and script_dir is None:
            return None                                     # nothing to run, no server to bother
        if ctx.operation == "deploy":
            missing = [d for d in dirs if not os.path.isdir(d)]
            if missing:
                raise InstallerError("cannot deploy %s: the recipes directory %s of component %s does not exist"
                                     % (ctx.path, missing[0], ctx.component.name),
                                     "fix 'recipes' of the component (relative paths start at the application "
                                     "file's folder) or create the directory")
        target = self._target(ctx)
        if ctx.operation == "deploy":
            target.prepare(recipe_files(dirs), self._timeout(ctx, "copy the recipes"))
        if script_dir is not None:
            self._run_script(ctx, target)
        if ctx.operation == "undeploy":
            target.remove(self._timeout(ctx, "remove the instance's files"))
        return None

    # -- where ------------------------------------------------------------------------------------

    def _target(self, ctx: OperationContext):
        relative = instance_relative(ctx)
        runtime = ctx.root_runtime or {}
        if runtime.get("provider"):
            if not runtime.get("provider_id"):
                raise InstallerError("cannot run the scripts of %s: its server (root %s) has no provider id; "
                                     "deploy the root again" % (ctx.path, ctx.root))
            try:
                provider = fleet_provider(self.provider_factory, runtime["provider"], ctx.root_provider_options(),
                                          runtime.get("fleet"))
            except AppGraphError as exc:
                raise InstallerError("cannot reach the server of %s: %s" % (ctx.path, exc)) from exc
            return Remote(provider, runtime["provider_id"], relative, runtime.get("server") or runtime["provider_id"])
        if ctx.root_installer and ctx.root_installer != "noop":
            raise InstallerError("cannot run the scripts of %s: its root %s (installer %r) has no server recorded; "
                                 "deploy the root first" % (ctx.path, ctx.root, ctx.root_installer))
        self._refuse_a_server_root(ctx)
        root = self.work_root or work_dir(ctx.store_dsn, ctx.store_fleet)
        return Local(root, os.path.join(root, safe_name(ctx.application), relative), self.kill_grace)

    def _refuse_a_server_root(self, ctx: OperationContext) -> None:
        """Nothing in ``root_runtime`` means a ``noop`` root, unless the store knows a server for
        that root (its runtime was lost): never run a server's scripts on this machine then."""
        if not (ctx.root and ctx.store_dsn):
            return
        row = ServerService(ctx.store_dsn).get(server_name(ctx.application, ctx.root))
        if row is not None and row.status != DELETED:
            raise InstallerError("cannot run the scripts of %s: its root %s is server %s (%s), but the root's "
                                 "runtime (provider, server id) is missing; undeploy and deploy the root again"
                                 % (ctx.path, ctx.root, row.name, row.status))

    # -- running ----------------------------------------------------------------------------------

    def _timeout(self, ctx: OperationContext, what: str) -> float | None:
        if ctx.deadline is None:
            return None
        left = ctx.deadline - self.monotonic()
        if left <= 0:
            raise InstallerError("%s of %s: no time left to %s (the operation's deadline has passed)"
                                 % (ctx.operation, ctx.path, what))
        return left

    def _run_script(self, ctx: OperationContext, target) -> None:
        script = script_name(ctx.operation)
        base = target.locate(self._timeout(ctx, "run %s" % script))
        if base is None:
            if ctx.operation in ("stop", "undeploy"):
                return                      # never deployed there: nothing to stop or remove
            raise InstallerError("script %s of instance %s cannot run: its files are not on %s; deploy it again"
                                 % (script, ctx.path, target.where))
        files_dir, data_dir = base + "/files", base + "/data"
        env = script_env(ctx, files_dir, data_dir)
        timeout = self._timeout(ctx, "run %s" % script)
        started = self.monotonic()
        result = target.run(["bash", files_dir + "/scripts/" + script], env, timeout, files_dir)
        took = self.monotonic() - started
        if result.timed_out:
            raise InstallerError("script %s of instance %s timed out after %.1f s (exit code %s)"
                                 % (script, ctx.path, took, result.rc), output_detail(result.stdout, result.stderr))
        if result.rc != 0:
            raise InstallerError("script %s of instance %s failed with exit code %d" % (script, ctx.path, result.rc),
                                 output_detail(result.stdout, result.stderr))
        ctx.log("%s of %s: %s done in %.2f s" % (ctx.operation, ctx.path, script, took))
