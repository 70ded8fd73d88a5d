# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``script``: Roboconf's script recipes, run on the instance's server.

A component's recipes directories are ``component.recipe_dirs`` (its own first, then the ones it
inherits). Each operation runs ``scripts/<operation>.sh`` (deploy, start, update, stop, undeploy)
with ``bash``, from the first directory that has it; an operation without a script does nothing.

Where scripts run:

- under a ``server`` root, on that server, through the provider's ``exec`` (``root_runtime`` names
  the provider, its options and the server). Each instance has a directory on the server,
  ``instances/<safe instance path>/`` (relative to the server's working directory: the sandbox of a
  ``local`` server), with ``files/`` (the recipes, copied at deploy: every recipes directory merged,
  the component's own files winning) and ``data/`` (kept until undeploy). The copy goes through
  ``exec`` too (a tar archive sent in base64 chunks, unpacked with ``tar``), so it works with any
  provider that can run commands and has ``bash``, ``base64``, ``tar`` and ``realpath``;
- under a ``noop`` root (a machine that exists already, nothing in ``root_runtime``), on this
  machine, with the same layout under a work directory next to the store:
  ``<store file>.work/<safe application>/instances/...`` (for a PostgreSQL store:
  ``$APPGRAPH_WORK_DIR``, else ``~/.local/state/appgraph/work``).

The environment of a script (values arrive as they are: spaces, quotes, ``$``, newlines):

- ``APPGRAPH_OPERATION``, ``APPGRAPH_APPLICATION``, ``APPGRAPH_INSTANCE_PATH``,
  ``APPGRAPH_INSTANCE_NAME``, ``APPGRAPH_COMPONENT``, ``APPGRAPH_FILES_DIR``, ``APPGRAPH_DATA_DIR``;
- Roboconf's ``ROBOCONF_INSTANCE_NAME``, ``ROBOCONF_INSTANCE_PATH``, ``ROBOCONF_CLEAN_INSTANCE_PATH``,
  ``ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH``, ``ROBOCONF_COMPONENT_NAME``, ``ROBOCONF_FILES_DIR``;
- the instance's own exports by variable name (``ip``, ``port``, ...);
- imports: ``<Prefix>_size`` and ``<Prefix>_<i>_<var>`` for every started exporter (``i`` from 0,
  exporters in path order; ``<Prefix>_size`` is 0 when none is started);
- the ancestors' exports as ``ANCESTOR_<Component>_<var>``;
- for update, what the last start or update saw: ``APPGRAPH_OLD_<Prefix>_size`` and
  ``APPGRAPH_OLD_<Prefix>_<i>_<var>``.

In names, every character other than a letter, a digit or ``_`` becomes ``_`` (Roboconf replaces
spaces and ``-``). A script has until the operation's deadline; a non-zero exit (or the deadline)
fails the operation with a message naming the script, the instance and the exit code, and the
last lines of its output as detail.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

from ..errors import AppGraphError
from ..providers.registry import get_provider
from ..servers import DELETED, ServerService, safe_name
from ..store_backends import is_postgresql, resolve_dsn
from .base import Installer, InstallerError, OperationContext
from .server import server_name

OPERATIONS = ("deploy", "start", "update", "stop", "undeploy")
TAIL_LINES = 40
UPLOAD_CHUNK = 64 * 1024        # base64 characters per exec (a multiple of 4: each chunk decodes alone)
KILL_GRACE = 3.0                # seconds between SIGTERM and SIGKILL for a local script that timed out
LOCAL_ENV_KEYS = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR")
DEFAULT_WORK_DIR = os.path.join("~", ".local", "state", "appgraph", "work")

# Fixed programs for the upload; user data only ever travels as their positional arguments.
_APPEND_BASE64 = 'printf "%s" "$2" | base64 -d >> "$1"'


def script_name(operation: str) -> str:
    return "%s.sh" % operation


def find_script(recipe_dirs, operation: str) -> str | None:
    """The first recipes directory with ``scripts/<operation>.sh``, or None."""
    for folder in recipe_dirs or ():
        if os.path.isfile(os.path.join(folder, "scripts", script_name(operation))):
            return folder
    return None


def recipe_files(recipe_dirs) -> dict:
    """Relative path -> source file, every recipes directory merged, earlier directories winning."""
    files: dict = {}
    for folder in recipe_dirs or ():
        if not os.path.isdir(folder):
            continue
        for current, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for filename in sorted(filenames):
                source = os.path.join(current, filename)
                files.setdefault(os.path.relpath(source, folder), source)
    return files


def env_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", str(text))


def env_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def clean_path(path: str, reverse: bool = False) -> str:
    """Roboconf's clean instance path: ``/VM/my-server`` -> ``VM_my_server`` (reversed: ``my_server_VM``)."""
    parts = [p for p in path.split("/") if p]
    if reverse:
        parts.reverse()
    return re.sub(r"[^A-Za-z0-9]", "_", "_".join(parts))


def _imports_env(imports: dict, prefixes, head: str = "") -> dict:
    env = {}
    for prefix in sorted(set(prefixes) | set(imports)):
        exporters = imports.get(prefix) or {}
        env["%s%s_size" % (head, env_name(prefix))] = str(len(exporters))
        for index, exporter in enumerate(sorted(exporters)):
            for var, value in sorted((exporters[exporter] or {}).items()):
                env["%s%s_%d_%s" % (head, env_name(prefix), index, env_name(var))] = env_value(value)
    return env


def script_env(ctx: OperationContext, files_dir: str, data_dir: str) -> dict:
    """The environment of ``ctx``'s script (see the module's documentation)."""
    env = {}
    for component, exports in reversed(ctx.ancestors or []):       # the nearest ancestor wins
        for key, value in (exports or {}).items():
            env["ANCESTOR_%s_%s" % (env_name(component), env_name(key.rpartition(".")[2]))] = env_value(value)
    prefixes = getattr(ctx.component, "import_prefixes", ()) or ()
    env.update(_imports_env(ctx.imports or {}, prefixes))
    if ctx.operation == "update":
        env.update(_imports_env(ctx.old_imports or {}, prefixes, head="APPGRAPH_OLD_"))
    own = sorted((ctx.exports or {}).items(), key=lambda kv: kv[0].partition(".")[0] == ctx.component.name)
    for key, value in own:              # the component's own prefix last: it wins over facets
        env[env_name(key.rpartition(".")[2])] = env_value(value)
    env.update({
        "APPGRAPH_OPERATION": ctx.operation,
        "APPGRAPH_APPLICATION": ctx.application,
        "APPGRAPH_INSTANCE_PATH": ctx.path,
        "APPGRAPH_INSTANCE_NAME": ctx.name,
        "APPGRAPH_COMPONENT": ctx.component.name,
        "APPGRAPH_FILES_DIR": files_dir,
        "APPGRAPH_DATA_DIR": data_dir,
        "ROBOCONF_INSTANCE_NAME": ctx.name,
        "ROBOCONF_INSTANCE_PATH": ctx.path,
        "ROBOCONF_CLEAN_INSTANCE_PATH": clean_path(ctx.path),
        "ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH": clean_path(ctx.path, reverse=True),
        "ROBOCONF_COMPONENT_NAME": ctx.component.name,
        "ROBOCONF_FILES_DIR": files_dir,
    })
    return env


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join((text or "").rstrip("\n").splitlines()[-lines:])


def output_detail(stdout: str, stderr: str) -> str:
    parts = []
    for label, text in (("stdout", stdout), ("stderr", stderr)):
        if text and text.strip():
            parts.append("--- %s (last lines) ---\n%s" % (label, tail(text)))
    return "\n".join(parts)


def work_dir(store_dsn: str | None, environ=None) -> str:
    """Where scripts of ``noop`` roots keep their files: next to the store file."""
    environ = os.environ if environ is None else environ
    dsn = resolve_dsn(store_dsn)
    if is_postgresql(dsn):
        return os.path.abspath(os.path.expanduser(environ.get("APPGRAPH_WORK_DIR") or DEFAULT_WORK_DIR))
    return dsn + ".work"


class _Ran:
    """How a script ended."""

    def __init__(self, rc: int, stdout: str, stderr: str, timed_out: bool = False):
        self.rc, self.stdout, self.stderr, self.timed_out = rc, stdout, stderr, timed_out


class _Remote:
    """An instance's directory on a server, reached through the provider's ``exec``."""

    def __init__(self, provider, provider_id: str, relative: str, server: str):
        self.provider, self.provider_id, self.relative, self.server = provider, provider_id, relative, server
        self.where = "server %s" % server

    def _exec(self, argv, timeout, env=None, cwd=None):
        try:
            return self.provider.exec(self.provider_id, list(argv), env=env or {}, timeout=timeout, cwd=cwd)
        except AppGraphError as exc:
            raise InstallerError("cannot run %s on server %s: %s" % (argv[0], self.server, exc)) from exc

    def _must(self, argv, timeout, what: str) -> None:
        result = self._exec(argv, timeout)
        if result.rc != 0 or result.timed_out:
            raise InstallerError("cannot %s on server %s (%s exited with code %s%s)"
                                 % (what, self.server, argv[0], result.rc, ", timed out" if result.timed_out else ""),
                                 output_detail(result.stdout, result.stderr))

    def prepare(self, files: dict, timeout) -> None:
        rel = self.relative
        self._must(["rm", "-rf", "--", rel + "/files"], timeout, "clear the recipes of %s" % rel)
        self._must(["mkdir", "-p", "--", rel + "/files", rel + "/data"], timeout, "create %s" % rel)
        if not files:
            return
        archive = rel + "/.recipes.tgz"
        encoded = base64.b64encode(_tar(files)).decode("ascii")
        self._must(["rm", "-f", "--", archive], timeout, "prepare the upload")
        for start in range(0, len(encoded), UPLOAD_CHUNK):
            self._must(["bash", "-c", _APPEND_BASE64, "upload", archive, encoded[start:start + UPLOAD_CHUNK]],
                       timeout, "upload the recipes")
        self._must(["tar", "-xzf", archive, "-C", rel + "/files"], timeout, "unpack the recipes")
        self._must(["rm", "-f", "--", archive], timeout, "remove the uploaded archive")

    def locate(self, timeout) -> str | None:
        result = self._exec(["realpath", "-e", "--", self.relative], timeout)
        return result.stdout.strip() if result.rc == 0 and result.stdout.strip() else None

    def run(self, argv, env, timeout, cwd) -> _Ran:
        result = self._exec(argv, timeout, env=env, cwd=cwd)
        return _Ran(result.rc, result.stdout, result.stderr, result.timed_out)

    def remove(self, timeout) -> None:
        self._must(["rm", "-rf", "--", self.relative], timeout, "remove %s" % self.relative)


class _Local:
    """An instance's directory on this machine (under a ``noop`` root)."""

    def __init__(self, root: str, base: str, kill_grace: float):
        self.root, self.base, self.kill_grace = root, base, kill_grace
        self.where = "this machine"

    def prepare(self, files: dict, timeout) -> None:
        os.makedirs(self.root, 0o700, exist_ok=True)        # instance data may be secret: owner only
        target = os.path.join(self.base, "files")
        shutil.rmtree(target, ignore_errors=True)
        os.makedirs(os.path.join(self.base, "data"), 0o700, exist_ok=True)
        os.makedirs(target, 0o700, exist_ok=True)
        for relative, source in files.items():
            destination = os.path.join(target, relative)
            os.makedirs(os.path.dirname(destination), exist_ok=True)
            shutil.copy2(source, destination)

    def locate(self, timeout) -> str | None:
        return os.path.realpath(self.base) if os.path.isdir(self.base) else None

    def run(self, argv, env, timeout, cwd) -> _Ran:
        full_env = {k: os.environ[k] for k in LOCAL_ENV_KEYS if k in os.environ}
        full_env.update(env)
        # Output goes to files, not pipes: a service the script leaves running in the background
        # keeps its descriptors, and must not hold up the end of the operation.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(argv, env=full_env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=err, start_new_session=True)
            except OSError as exc:
                raise InstallerError("cannot run %s: %s" % (argv[0], exc.strerror)) from exc
            timed_out = False
            try:
                rc = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                rc = self._kill(proc)
            return _Ran(rc, _read_tail(out), _read_tail(err), timed_out)

    def _kill(self, proc) -> int:
        """SIGTERM the script's process group, SIGKILL it after the grace period."""
        for signum, grace in ((signal.SIGTERM, self.kill_grace), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, signum)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                return proc.wait(grace)
            except subprocess.TimeoutExpired:
                continue
        return proc.returncode

    def remove(self, timeout) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def _read_tail(handle, limit: int = 64 * 1024) -> str:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - limit))
    return handle.read().decode("utf-8", "replace")


def _tar(files: dict) -> bytes:
    """A gzipped tar of ``files`` (relative path -> source), owned by nobody in particular."""
    def anonymous(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for relative, source in sorted(files.items()):
            archive.add(source, arcname=relative, recursive=False, filter=anonymous)
    return buffer.getvalue()


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
        relative = "instances/%s" % safe_name(ctx.path)
        runtime = ctx.root_runtime or {}
        if runtime.get("provider"):
            if not runtime.get("provider_id"):
                raise InstallerError("cannot run the scripts of %s: its server (root %s) has no provider id; "
                                     "deploy the root again" % (ctx.path, ctx.root))
            try:
                provider = self.provider_factory(runtime["provider"], runtime.get("provider_options") or {})
            except AppGraphError as exc:
                raise InstallerError("cannot reach the server of %s: %s" % (ctx.path, exc)) from exc
            return _Remote(provider, runtime["provider_id"], relative, runtime.get("server") or runtime["provider_id"])
        if ctx.root_installer and ctx.root_installer != "noop":
            raise InstallerError("cannot run the scripts of %s: its root %s (installer %r) has no server recorded; "
                                 "deploy the root first" % (ctx.path, ctx.root, ctx.root_installer))
        self._refuse_a_server_root(ctx)
        root = self.work_root or work_dir(ctx.store_dsn)
        return _Local(root, os.path.join(root, safe_name(ctx.application), relative), self.kill_grace)

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
