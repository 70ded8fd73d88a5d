# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``ansible``: a component's operations are playbooks or a role's task files, run by ansible-runner.

What runs for an operation (deploy, start, update, stop, undeploy), the first that exists:

- ``<recipes>/playbooks/<operation>.yml`` (or ``.yaml``) in the component's recipes directories,
  its own first, then the ones it inherits (``extends``): a playbook whose plays name
  ``hosts: all`` (the run's inventory holds this run's instances only);
- with ``options: {role: <role>}`` (inherited too): the role's ``tasks/<operation>.yml``, run with
  ``include_role: {name: <role>, tasks_from: <operation>}``. ``<role>`` is a folder (a path with
  a ``/``, relative to the component's recipes directory), a role in a ``roles/`` folder of a
  recipes directory, or a collection's role ``ns.coll.role`` on ``ANSIBLE_COLLECTIONS_PATH``.

An operation with neither does nothing, as in Roboconf. The host is the instance's root server
(``Provider.ansible_vars``: a ``local`` server through the ``appgraph.lifecycle.sandbox``
connection, an ``ssh`` or ``ec2`` one over SSH), or this machine under a ``noop`` root. Every
inventory host is one instance, named by its path; its variables are ``ansible_vars``' contract.

Operations of one component and kind that are ready together share one run (``ansible_batch``):
one ``ansible-runner`` over all their hosts, ``forks`` = the batch's size (at most the converge's
parallelism), and each host's result is its own instance's outcome. At most ``options.batch_runs``
runs (default 1) of one component and kind go at once: what becomes ready meanwhile gathers into
the next run, which starts as soon as one of them ends.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from ..errors import AppGraphError, InstallerError
from ..names import safe_name
from ..providers.base import Provider
from ..providers.registry import get_provider
from ..servers.flows import fleet_provider
from .ansible_batch import RUNS, WINDOW, Collector, check_runs
from .ansible_run import RunOutcome, collections_path, run_playbook, tail
from .ansible_vars import instance_vars
from .attached import instance_relative
from .base import Installer, InstallResult, OperationContext
from .script_targets import Remote, work_dir

OPERATIONS = ("deploy", "start", "update", "stop", "undeploy")
KEEP_RUNS = 200            # run directories (logs) kept per application, the newest
PLACE_WORKERS = 16          # instance directories made or removed at once (each one exec on its server)
MAKE_AT_ONCE = 200          # instance directories of one server made by one command
PLAYBOOK_SUFFIXES = (".yml", ".yaml")


class Recipe:
    """What one operation of one component runs: a playbook file, or a role's task file."""

    def __init__(self, playbook: str | None = None, role: str | None = None, roles_path: tuple = ()):
        self.playbook, self.role, self.roles_path = playbook, role, roles_path

    @property
    def identity(self) -> tuple:
        return (self.playbook, self.role)

    def plays(self, operation: str, directories: bool = False) -> list:
        """The run's playbook: the recipe, with ``directories`` the making of the instances'
        directories before it (removing them after an ``undeploy``), for servers that the
        installer cannot reach by itself (a provider without ``exec``)."""
        if self.playbook:
            plays = [{"ansible.builtin.import_playbook": self.playbook}]
        else:
            plays = [{"name": "appgraph: %s of %s" % (operation, self.role), "hosts": "all", "gather_facts": False,
                      "tasks": [{"name": "%s %s" % (self.role, operation), "ansible.builtin.include_role": {
                          "name": self.role, "tasks_from": operation}}]}]
        if not directories:
            return plays
        if operation == "undeploy":
            return plays + [_directory_play("absent")]
        return [_directory_play("directory")] + plays


def _directory_play(state: str) -> dict:
    task = {"path": "{{ appgraph_instance_dir }}", "state": state}
    if state == "directory":
        task["mode"] = "0700"
    return {"name": "appgraph: the instances' directories (%s)" % state, "hosts": "all", "gather_facts": False,
            "tasks": [{"name": "The instance's directory", "ansible.builtin.file": task}]}


def batch_runs(component) -> int:
    """``options.batch_runs`` of ``component``: how many runs of one of its operations go at once."""
    value = (component.options or {}).get("batch_runs", RUNS)
    try:
        return check_runs(value)
    except ValueError:
        raise InstallerError("options.batch_runs of component %s must be an integer >= 1, got %r"
                             % (component.name, value),
                             "it is how many ansible-runner runs of one of its operations may go at once "
                             "(default %d); the next batch gathers while they run" % RUNS) from None


def find_playbook(recipe_dirs, operation: str) -> str | None:
    for folder in recipe_dirs or ():
        for suffix in PLAYBOOK_SUFFIXES:
            path = os.path.join(folder, "playbooks", operation + suffix)
            if os.path.isfile(path):
                return path
    return None


def _role_dirs(role: str, recipe_dirs, environ) -> list:
    """Where ``role`` may be, in Ansible's order of looking."""
    if "/" in role:
        base = recipe_dirs[0] if recipe_dirs else os.getcwd()
        return [os.path.normpath(os.path.join(base, role))]
    parts = role.split(".")
    if len(parts) == 3:
        return [os.path.join(root, "ansible_collections", parts[0], parts[1], "roles", parts[2])
                for root in collections_path(environ).split(os.pathsep)]
    return [os.path.join(folder, "roles", role) for folder in recipe_dirs or ()]


def find_role_tasks(role: str, recipe_dirs, operation: str, where: str, environ=None) -> str | None:
    """The folder of ``role`` when it has ``tasks/<operation>.yml``; None when it has not."""
    environ = os.environ if environ is None else environ
    candidates = _role_dirs(role, recipe_dirs, environ)
    for folder in candidates:
        if os.path.isdir(os.path.join(folder, "tasks")):
            found = [s for s in PLAYBOOK_SUFFIXES if os.path.isfile(os.path.join(folder, "tasks", operation + s))]
            return folder if found else None
    raise InstallerError("the role %r of %s is nowhere: looked in %s" % (role, where, ", ".join(candidates) or "nothing"),
                         "give 'options: {role: ...}' a folder relative to the recipes directory, a role in "
                         "<recipes>/roles/, or a collection's role ns.coll.role installed on ANSIBLE_COLLECTIONS_PATH")


def find_recipe(component, operation: str) -> Recipe | None:
    dirs = tuple(component.recipe_dirs or ()) or ((component.recipes,) if component.recipes else ())
    playbook = find_playbook(dirs, operation)
    if playbook is not None:
        return Recipe(playbook=playbook)
    role = (component.options or {}).get("role")
    if role is None:
        return None
    if not isinstance(role, str) or not role.strip():
        raise InstallerError("options.role of component %s must be a role name or folder, got %r"
                             % (component.name, role))
    folder = find_role_tasks(role, dirs, operation, "component %s" % component.name)
    if folder is None:
        return None
    roles_path = tuple(os.path.join(d, "roles") for d in dirs if os.path.isdir(os.path.join(d, "roles")))
    return Recipe(role=folder if "/" in role else role, roles_path=roles_path)


class Local:
    """An instance's directory on this machine (under a ``noop`` root)."""

    def __init__(self, path: str):
        self.path = path

    def make(self, _timeout) -> None:
        os.makedirs(self.path, 0o700, exist_ok=True)

    def remove(self, _timeout) -> None:
        # Renamed first (atomic), then deleted: a run killed in the middle leaves no half-removed one.
        trash = "%s.removed-%s" % (self.path, os.urandom(6).hex())
        try:
            os.rename(self.path, trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)


class AnsibleInstaller(Installer):
    name = "ansible"

    def __init__(self, provider_factory=get_provider, monotonic=time.monotonic, work_root: str | None = None,
                 window: float = WINDOW, check: bool = False, diff: bool = False, run=run_playbook,
                 wall_clock=time.time, keep_runs: int = KEEP_RUNS):
        """``monotonic`` is the clock of ``ctx.deadline``; ``work_root`` overrides where runs and
        the instance directories of ``noop`` roots go (default: next to the store)."""
        self.provider_factory = provider_factory
        self.monotonic, self.wall_clock = monotonic, wall_clock
        self.work_root = work_root
        self.check, self.diff = check, diff
        self.run_playbook = run
        self.keep_runs = keep_runs
        self.collector = Collector(self._run_batch, window, clock=monotonic)
        self._providers: dict = {}
        self._lock = threading.Lock()

    def run(self, ctx: OperationContext):
        if ctx.operation not in OPERATIONS:
            raise InstallerError("the ansible installer has no operation %r" % ctx.operation)
        recipe = find_recipe(ctx.component, ctx.operation)
        if recipe is None:
            return None                     # no playbook, no task file: nothing to do (Roboconf)
        # The least work before joining the batch: the threads that are ready together meet within
        # milliseconds; each host's variables are worked out by the batch's leader.
        runtime = ctx.root_runtime or {}
        by_itself = not runtime.get("provider") or self._has_exec(ctx)
        key = (ctx.component.name, ctx.operation, recipe.identity, not by_itself)
        return self.collector.submit(key, ctx.path, (ctx, recipe), expected=max(1, getattr(ctx, "peers", 1)),
                                     runs=batch_runs(ctx.component), deadline=ctx.deadline)

    def _has_exec(self, ctx: OperationContext) -> bool:
        try:
            return type(self._provider(ctx)).exec is not Provider.exec
        except AppGraphError:
            return True         # the host's own error says why, when its variables are worked out

    def _host(self, ctx: OperationContext) -> tuple:
        """``(variables, place)`` of ``ctx``'s inventory host (``place``: see ``_place``)."""
        host = dict(self._connection(ctx))
        place = self._place(ctx, host)
        host.update(instance_vars(ctx, self._instance_dir(ctx, host)))
        if host.get("ansible_connection") == "appgraph.lifecycle.sandbox" and ctx.deadline is not None:
            # The agent runs the tasks' commands: it kills one still running at the deadline.
            host["appgraph_sandbox_command_timeout"] = max(1, math.ceil(ctx.deadline - self.monotonic()))
        return host, place

    def _time_left(self, ctx: OperationContext, what: str) -> float | None:
        if ctx.deadline is None:
            return None
        left = ctx.deadline - self.monotonic()
        if left <= 0:
            raise InstallerError("%s of %s: no time left to %s" % (ctx.operation, ctx.path, what))
        return left

    def _place(self, ctx: OperationContext, host: dict):
        """How the installer makes and removes the instance's directory itself (faster than a task
        per host): on this machine, or through the provider's ``exec``; None when it cannot."""
        relative = instance_relative(ctx)
        runtime = ctx.root_runtime or {}
        if not runtime.get("provider"):
            base = host.get("appgraph_server_dir", ".")
            return Local(os.path.join(base, relative))
        provider = self._provider(ctx)
        if type(provider).exec is Provider.exec:
            return None
        return Remote(provider, runtime["provider_id"], relative, runtime.get("server") or runtime["provider_id"])

    # -- where ------------------------------------------------------------------------------------

    def _root(self, ctx: OperationContext) -> str:
        return self.work_root or work_dir(ctx.store_dsn, ctx.store_fleet)

    def _connection(self, ctx: OperationContext) -> dict:
        runtime = ctx.root_runtime or {}
        if runtime.get("provider"):
            if not runtime.get("provider_id"):
                raise InstallerError("cannot run the playbooks of %s: its server (root %s) has no provider id; "
                                     "deploy the root again" % (ctx.path, ctx.root))
            try:
                return self._provider(ctx).ansible_vars(runtime["provider_id"], runtime.get("address"))
            except AppGraphError as exc:
                raise InstallerError("cannot reach the server of %s with Ansible: %s" % (ctx.path, exc)) from exc
        if ctx.root_installer and ctx.root_installer != "noop":
            raise InstallerError("cannot run the playbooks of %s: its root %s (installer %r) has no server "
                                 "recorded; deploy the root first" % (ctx.path, ctx.root, ctx.root_installer))
        return {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                "appgraph_server_dir": os.path.join(self._root(ctx), safe_name(ctx.application))}

    def _provider(self, ctx: OperationContext):
        """The root server's provider, one per set of options (an inline key is written once)."""
        runtime, options = ctx.root_runtime or {}, ctx.root_provider_options()
        key = (runtime["provider"], json.dumps(options, sort_keys=True), runtime.get("fleet"))
        with self._lock:
            if key not in self._providers:
                self._providers[key] = fleet_provider(self.provider_factory, runtime["provider"], options,
                                                      runtime.get("fleet"))
            return self._providers[key]

    @staticmethod
    def _instance_dir(ctx: OperationContext, host: dict) -> str:
        return "%s/%s" % (host.pop("appgraph_server_dir", ".").rstrip("/"), instance_relative(ctx))

    # -- one run for a batch ---------------------------------------------------------------------

    def _run_batch(self, key, items) -> dict:
        """One ansible-runner run over the batch's hosts; ``{path: InstallResult or error}``."""
        component, operation = key[0], key[1]
        first_ctx, recipe = items[0][1]
        deadlines = [ctx.deadline for _id, (ctx, _recipe) in items if ctx.deadline is not None]
        deadline = min(deadlines) if deadlines else None
        if deadline is not None and deadline <= self.monotonic():
            error = InstallerError("%s of %s: no time left to run its playbook" % (operation, component))
            return {item_id: error for item_id, _payload in items}
        payloads, results = {}, {}
        for item_id, (ctx, _recipe) in items:
            try:
                payloads[item_id] = (ctx, *self._host(ctx))
            except InstallerError as exc:
                results[item_id] = exc
        if operation != "undeploy" and not self.check:          # check mode changes nothing
            results.update(self._on_places(payloads, "make"))   # a host whose directory failed does not run
        hosts = {item_id: host for item_id, (_ctx, host, _place) in payloads.items() if item_id not in results}
        if not hosts:
            return results
        directory = self._run_directory(first_ctx, component, operation)
        started = self.monotonic()
        try:
            outcome = self.run_playbook(directory, recipe.plays(operation, directories=key[3]), hosts,
                                        forks=len(hosts), deadline=deadline, check=self.check, diff=self.diff,
                                        roles_path=recipe.roles_path)
        except Exception as exc:  # pylint: disable=broad-except
            error = InstallerError("%s of %s: ansible-runner could not run (%s: %s); its directory is %s"
                                   % (operation, component, type(exc).__name__, exc, directory))
            return dict(results, **{item_id: error for item_id in hosts})
        first_ctx.log("%s of %s: one ansible-runner run over %d hosts in %.2f s (%s)"
                      % (operation, component, len(hosts), self.monotonic() - started, directory))
        ran = {item_id: self._result(item_id, outcome, len(hosts)) for item_id in hosts}
        if operation == "undeploy" and not self.check:
            done = {item_id: payloads[item_id] for item_id, value in ran.items() if isinstance(value, InstallResult)}
            ran.update(self._on_places(done, "remove"))
        return dict(results, **ran)

    def _on_places(self, payloads: dict, action: str) -> dict:
        """``make`` or ``remove`` the directories of ``payloads`` side by side; ``{path: error}`` of
        those that failed."""
        todo = {item_id: payload for item_id, payload in payloads.items() if payload[2] is not None}
        if not todo:
            return {}
        groups = self._server_groups(todo) if action == "make" else [[item_id] for item_id in todo]

        def together(item_ids):
            # One command per server for its instances (an agent exec each costs a process start
            # on the server); when it fails, each one alone, so that an error is its own host's.
            if len(item_ids) > 1:
                try:
                    timeouts = [self._time_left(todo[i][0], "make the instance's directory") for i in item_ids]
                    Remote.make_all([todo[i][2] for i in item_ids], min((t for t in timeouts if t is not None),
                                                                        default=None))
                    return []
                except Exception:  # pylint: disable=broad-except
                    pass
            return [one(item_id) for item_id in item_ids]

        def one(item_id):
            ctx, _host, place = todo[item_id]
            try:
                getattr(place, action)(self._time_left(ctx, "%s the instance's directory" % action))
                return item_id, None
            except Exception as exc:  # pylint: disable=broad-except
                return item_id, exc if isinstance(exc, InstallerError) else InstallerError(
                    "cannot %s the directory of %s: %s: %s" % (action, item_id, type(exc).__name__, exc))

        with ThreadPoolExecutor(max_workers=min(PLACE_WORKERS, len(groups))) as pool:
            return {item_id: error for done in pool.map(together, groups) for item_id, error in done
                    if error is not None}

    @staticmethod
    def _server_groups(todo: dict) -> list:
        """The items of ``todo`` in lists of at most ``MAKE_AT_ONCE``, one server's places each."""
        groups: dict = {}
        for item_id, (_ctx, _host, place) in todo.items():
            key = place.server_key if isinstance(place, Remote) else ("alone", item_id)
            groups.setdefault(key, []).append(item_id)
        return [ids[start:start + MAKE_AT_ONCE] for ids in groups.values() for start in range(0, len(ids), MAKE_AT_ONCE)]

    def _run_directory(self, ctx: OperationContext, component: str, operation: str) -> str:
        stamp = datetime.fromtimestamp(self.wall_clock(), timezone.utc).strftime("%Y%m%dT%H%M%S")
        name = "%s-%s-%s-%s" % (stamp, safe_name(component, limit=40), operation, os.urandom(4).hex())
        runs = os.path.join(self._root(ctx), "ansible-runs", safe_name(ctx.application))
        os.makedirs(os.path.join(runs, name), 0o700, exist_ok=True)
        self._prune(runs)
        return os.path.join(runs, name)

    def _prune(self, runs: str) -> None:
        """Keep the application's last ``keep_runs`` run directories (their names start with the time)."""
        names = sorted(os.listdir(runs))
        for old in names[:max(0, len(names) - self.keep_runs)]:
            shutil.rmtree(os.path.join(runs, old), ignore_errors=True)

    def _result(self, host: str, outcome: RunOutcome, size: int):
        report = {"batch": os.path.basename(outcome.directory), "batch_hosts": size, "log": outcome.log_file}
        got = outcome.hosts.get(host)
        if got is not None and got.ok:
            return InstallResult(report=report)
        message = got.message if got is not None else "no result for this host"
        error = InstallerError("ansible on %s failed: %s (batch %s of %d hosts; whole log: %s)"
                               % (host, message, report["batch"], size, outcome.log_file),
                               "--- its log (last lines) ---\n%s" % tail(got.log if got is not None else
                                                                         outcome.output_tail))
        error.report = report
        return error
