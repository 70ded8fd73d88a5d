# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where ``script`` recipes run: a server through its provider's ``exec``, or this machine.

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
  ``$APPGRAPH_WORK_DIR/<store fleet>``, else ``~/.local/state/appgraph/work/<store fleet>``).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile

from ..errors import AppGraphError, InstallerError
from ..store.backends import is_postgresql, resolve_dsn
from .script_env import output_detail

UPLOAD_CHUNK = 64 * 1024        # base64 characters per exec (a multiple of 4: each chunk decodes alone)
KILL_GRACE = 3.0                # seconds between SIGTERM and SIGKILL for a local script that timed out
LOCAL_ENV_KEYS = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR")
DEFAULT_WORK_DIR = os.path.join("~", ".local", "state", "appgraph", "work")

# Fixed programs for the upload; user data only ever travels as their positional arguments.
_APPEND_BASE64 = 'printf "%s" "$2" | base64 -d >> "$1"'
_REMOVE = 'if [ -e "$1" ]; then mv -- "$1" "$2" && rm -rf -- "$2"; fi'


def work_dir(store_dsn: str | None, fleet: str | None = None, environ=None) -> str:
    """Where scripts of ``noop`` roots keep their files: next to the store file; for a PostgreSQL
    store, in a folder of the store's own (its ``fleet``) under the work directory, since several
    databases (and several machines' stores) holding an application of the same name would
    otherwise copy their recipes over each other's and run each other's scripts."""
    environ = os.environ if environ is None else environ
    dsn = resolve_dsn(store_dsn)
    if is_postgresql(dsn):
        base = os.path.abspath(os.path.expanduser(environ.get("APPGRAPH_WORK_DIR") or DEFAULT_WORK_DIR))
        return os.path.join(base, fleet) if fleet else base
    return dsn + ".work"


class Ran:
    """How a script ended."""

    def __init__(self, rc: int, stdout: str, stderr: str, timed_out: bool = False):
        self.rc, self.stdout, self.stderr, self.timed_out = rc, stdout, stderr, timed_out


class Remote:
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
        encoded = base64.b64encode(tar_archive(files)).decode("ascii")
        self._must(["rm", "-f", "--", archive], timeout, "prepare the upload")
        for start in range(0, len(encoded), UPLOAD_CHUNK):
            self._must(["bash", "-c", _APPEND_BASE64, "upload", archive, encoded[start:start + UPLOAD_CHUNK]],
                       timeout, "upload the recipes")
        self._must(["tar", "-xzf", archive, "-C", rel + "/files"], timeout, "unpack the recipes")
        self._must(["rm", "-f", "--", archive], timeout, "remove the uploaded archive")

    def make(self, timeout) -> None:
        """The instance's directory, and nothing in it (the ansible installer's)."""
        Remote.make_all([self], timeout)

    @property
    def server_key(self) -> tuple:
        """Places with the same key are on the same server: one command can make them all."""
        return (id(self.provider), self.provider_id)

    @staticmethod
    def make_all(places: list, timeout) -> None:
        """The directories of ``places`` (all on one server, see ``server_key``) with one command."""
        what = "create %s" % places[0].relative if len(places) == 1 else "create %d instance directories" % len(places)
        places[0]._must(["mkdir", "-p", "-m", "0700", "--"] + [p.relative for p in places], timeout, what)

    def locate(self, timeout) -> str | None:
        result = self._exec(["realpath", "-e", "--", self.relative], timeout)
        return result.stdout.strip() if result.rc == 0 and result.stdout.strip() else None

    def run(self, argv, env, timeout, cwd) -> Ran:
        result = self._exec(argv, timeout, env=env, cwd=cwd)
        return Ran(result.rc, result.stdout, result.stderr, result.timed_out)

    def remove(self, timeout) -> None:
        # Renamed first (atomic), then deleted: a run killed in the middle leaves no half-removed
        # directory that a rerun would take for a deployed instance without its recipes.
        trash = "%s.removed-%s" % (self.relative, os.urandom(6).hex())
        self._must(["bash", "-c", _REMOVE, "remove", self.relative, trash], timeout, "remove %s" % self.relative)


class Local:
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

    def run(self, argv, env, timeout, cwd) -> Ran:
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
            return Ran(rc, read_tail(out), read_tail(err), timed_out)

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
        # Renamed first (atomic), then deleted: see Remote.remove.
        trash = "%s.removed-%s" % (self.base, os.urandom(6).hex())
        try:
            os.rename(self.base, trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)


def read_tail(handle, limit: int = 64 * 1024) -> str:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - limit))
    return handle.read().decode("utf-8", "replace")


def tar_archive(files: dict) -> bytes:
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
