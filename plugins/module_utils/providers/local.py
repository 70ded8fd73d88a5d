# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``local`` provider (the embedded default): a server is a sandbox directory plus an agent.

Layout under ``root`` (option; default ``$APPGRAPH_LOCAL_ROOT`` or ``~/.local/state/appgraph/local``)::

    <name>/               the sandbox (0700): the server's disk, and the cwd of its commands
        server.json       name, client token, server type, tags, created_at  (written once)
        launch.json       the agent's pid (and start time), written by whoever launched it
        agent.json        port, secret token, readiness: written by the agent once it listens
        heartbeat         touched by the agent every ``heartbeat_interval`` seconds
        agent.log         the agent's stdout/stderr
    .agent/               the agent script the sandboxes run (a copy, see ``_agent_script``)
    .tokens/<sha256>      client token -> server name, so a retried create finds its server

Everything is in files, so a new controller process finds the servers an earlier one made, and
``list_servers`` costs a few small reads per server and no network call. Liveness is the agent's
pid, checked against its start time (a recycled pid is not our agent) and its zombie state.

Creation is atomic: the sandbox is prepared under a temporary name and renamed into place, so a
server directory always has its ``server.json``, and of two creators of one name only one wins.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (
    InputError, PermanentError, TransientError)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers import local_agent
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import (
    RUNNING, STARTING, STOPPED, STOPPING, ExecResult, Option, Provider, ProviderServer, ServerSpec)

ADDRESS = "127.0.0.1"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
NAME_HINT = "use 1-100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit"
AGENT_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "TZ")  # the agent (and its commands) get nothing else
POLL = 0.01  # seconds between checks while ``reboot_server`` waits for the old agent to go


@dataclass(frozen=True)
class _Sandbox:
    """Where one server's files are."""

    root: str
    name: str

    @property
    def dir(self) -> str:
        return os.path.join(self.root, self.name)

    def path(self, filename: str) -> str:
        return os.path.join(self.root, self.name, filename)


@dataclass(frozen=True)
class _AgentView:
    """What the files say about a sandbox's agent right now."""

    pid: int | None = None
    start_ticks: int | None = None
    alive: bool = False
    port: int | None = None  # set once the agent listens (and only for the launched pid)
    token: str = ""
    ready: bool = False
    stop_requested_at: float | None = None


class LocalProvider(Provider):
    """Servers that are sandbox directories with an agent process on 127.0.0.1."""

    name = "local"
    CAN_EXEC = True
    OPTIONS = MappingProxyType({
        "root": Option(str, None, doc="directory of the sandboxes"),
        "heartbeat_interval": Option(float, 60.0, minimum=0, above_minimum=True,
                                     doc="seconds between the agents' heartbeats"),
        "start_delay": Option(float, 0.0, minimum=0,
                              doc="seconds an agent answers 'starting' before 'ok' (a slow cloud)"),
    })

    def __init__(self, root: str | None = None, heartbeat_interval: float = 60.0, start_delay: float = 0.0, *,
                 environ: Mapping[str, str] | None = None, clock: Callable[[], float] = time.time,
                 http_timeout: float = 5.0, stop_timeout: float = 10.0):
        """``clock`` (epoch seconds) dates files and decides when a stop has taken too long;
        ``stop_timeout`` is how long an agent may take to stop before it is killed."""
        self.environ = os.environ if environ is None else environ
        self.root = os.path.realpath(os.path.expanduser(root or self._default_root()))
        self.heartbeat_interval = float(heartbeat_interval)
        self.start_delay = float(start_delay)
        self.clock = clock
        self.http_timeout = http_timeout
        self.stop_timeout = stop_timeout
        self._script: str | None = None

    def _default_root(self) -> str:
        return self.environ.get("APPGRAPH_LOCAL_ROOT") or os.path.join("~", ".local", "state", "appgraph", "local")

    def identity(self) -> str:
        return "local:%s" % self.root

    # -- create / start ----------------------------------------------------------------------

    def create_server(self, spec: ServerSpec) -> ProviderServer:
        _check_spec(spec)
        os.makedirs(self.root, 0o700, exist_ok=True)
        name = self._find_token(spec.client_token) or self._make_sandbox(spec)
        box = _Sandbox(self.root, name)
        with self._locked(box):
            if not self._agent(box).alive:
                self._launch(box)
        return self._describe(box)

    def _find_token(self, token: str) -> str | None:
        """The name of the server made with ``token``, if it still exists."""
        name = _read_text(self._token_path(token))
        if name and NAME_RE.match(name):
            info = _read_json(_Sandbox(self.root, name).path("server.json"))
            if info and info.get("client_token") == token:
                return name
        return None

    def _make_sandbox(self, spec: ServerSpec) -> str:
        """Create the sandbox atomically, or adopt the one of that name if it has our token."""
        box = _Sandbox(self.root, spec.name)
        tmp = os.path.join(self.root, ".new-%s" % os.urandom(8).hex())
        os.mkdir(tmp, 0o700)
        info = {"name": spec.name, "client_token": spec.client_token, "server_type": spec.server_type,
                "tags": dict(spec.tags), "created_at": self.clock()}
        _write_json(os.path.join(tmp, "server.json"), info)
        try:
            os.rename(tmp, box.dir)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            existing = _read_json(box.path("server.json")) or {}
            if existing.get("client_token") != spec.client_token:
                raise PermanentError("local server %r exists already under %s with another client token"
                                     % (spec.name, self.root)) from None
        self._remember_token(spec.client_token, spec.name)
        return spec.name

    def _token_path(self, token: str) -> str:
        return os.path.join(self.root, ".tokens", hashlib.sha256(token.encode()).hexdigest())

    def _remember_token(self, token: str, name: str) -> None:
        os.makedirs(os.path.join(self.root, ".tokens"), 0o700, exist_ok=True)
        _atomic_write(self._token_path(token), name.encode())

    def _forget_token(self, token: str, name: str) -> None:
        if _read_text(self._token_path(token)) == name:
            _remove(self._token_path(token))

    def _launch(self, box: _Sandbox) -> None:
        """Start an agent for ``box`` in a session of its own (it outlives this process)."""
        if not sys.executable:
            raise PermanentError("cannot start a local agent: no Python interpreter path (sys.executable)")
        _remove(box.path("agent.json"))  # stale: describes the previous agent
        argv = [sys.executable, "-I", "-S", self._agent_script(), box.dir,
                repr(self.heartbeat_interval), repr(self.start_delay)]
        log_flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        pid = os.posix_spawn(sys.executable, argv, self._agent_env(), setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, box.path("agent.log"), log_flags, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ])
        _write_json(box.path("launch.json"), {"pid": pid, "start_ticks": _start_ticks(pid),
                                              "launched_at": self.clock()})

    def _agent_env(self) -> dict[str, str]:
        return {key: self.environ[key] for key in AGENT_ENV_KEYS if key in self.environ}

    def _agent_script(self) -> str:
        """A copy of ``local_agent.py`` under the root, named by its content's hash.

        Agents run this copy, not the module file: under Ansible the module file lives in a
        temporary zip that is gone when the module returns, and agents run far longer. A new
        version gets a new name, so running agents are never disturbed.
        """
        if self._script is None:
            source = _module_source(local_agent).encode()
            path = os.path.join(self.root, ".agent", "local_agent-%s.py" % hashlib.sha256(source).hexdigest()[:16])
            if not os.path.exists(path):
                os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
                _atomic_write(path, source)
            self._script = path
        return self._script

    def has_started(self, provider_id: str) -> bool:
        """True once the agent answers ``/health`` with 200.

        Raises ``PermanentError`` (with the end of the agent's log) when no agent runs at all:
        it exited, or the server was stopped, so waiting longer would never succeed.
        """
        box = self._existing(provider_id)
        agent = self._agent(box)
        if not agent.alive:
            raise PermanentError("the agent of local server %r is not running%s"
                                 % (provider_id, _log_tail(box.path("agent.log"))))
        if agent.port is None:
            return False  # launched, not listening yet
        try:
            status = self._http(agent, "GET", "/health", timeout=min(self.http_timeout, 2.0))[0]
        except (OSError, http.client.HTTPException, ValueError):
            return False
        return status == 200

    # -- stop / delete / reboot --------------------------------------------------------------

    def stop_server(self, provider_id: str) -> None:
        box = self._sandbox(provider_id)
        if not os.path.isdir(box.dir):
            return
        with self._locked(box):
            agent = self._agent(box)
            if agent.alive:
                self._ask_to_stop(box, agent)

    def _ask_to_stop(self, box: _Sandbox, agent: _AgentView) -> None:
        """POST /shutdown, or SIGTERM when the agent does not answer (both stop its commands)."""
        if agent.stop_requested_at is None:
            launch = _read_json(box.path("launch.json")) or {}
            _write_json(box.path("launch.json"), dict(launch, stop_requested_at=self.clock()))
        if agent.port is not None:
            try:
                status = self._http(agent, "POST", "/shutdown", timeout=self.http_timeout)[0]
                if status == 202:
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
        _signal(agent.pid, signal.SIGTERM)

    def has_stopped(self, provider_id: str) -> bool:
        box = self._sandbox(provider_id)
        if not os.path.isdir(box.dir):
            return True
        agent = self._agent(box)
        if not agent.alive:
            return True
        if agent.stop_requested_at is not None and self.clock() - agent.stop_requested_at >= self.stop_timeout:
            _kill_session(agent.pid)  # it had its chance to stop cleanly
        return False

    def delete_server(self, provider_id: str) -> None:
        box = self._sandbox(provider_id)
        if not os.path.isdir(box.dir):
            return
        with self._locked(box):
            if self._agent(box).alive:
                raise TransientError("local server %r is still running: stop it before deleting it" % provider_id,
                                     retry_after=1.0)
            info = _read_json(box.path("server.json")) or {}
            trash = os.path.join(self.root, ".trash-%s" % os.urandom(8).hex())
            os.rename(box.dir, trash)  # the server is gone at once; removing the files may take a while
        if info.get("client_token"):
            self._forget_token(info["client_token"], provider_id)
        shutil.rmtree(trash, ignore_errors=True)

    def has_been_deleted(self, provider_id: str) -> bool:
        return not os.path.isdir(self._sandbox(provider_id).dir)

    def reboot_server(self, provider_id: str) -> None:
        """Stop the agent (waiting for it, up to ``stop_timeout``, then killing it) and start a new one."""
        box = self._existing(provider_id)
        with self._locked(box):
            agent = self._agent(box)
            if agent.alive:
                self._ask_to_stop(box, agent)
                if not _wait_gone(agent, self.stop_timeout):
                    _kill_session(agent.pid)
                    if not _wait_gone(agent, 2.0):
                        raise TransientError("the agent of local server %r (pid %d) does not die"
                                             % (provider_id, agent.pid))
            self._launch(box)

    # -- observe -------------------------------------------------------------------------------

    def list_servers(self, tags: Mapping[str, str] | None = None) -> list[ProviderServer]:
        servers = []
        for name in self._names():
            server = self._describe(_Sandbox(self.root, name), missing_ok=True)
            if server is not None and all(server.tags.get(k) == v for k, v in (tags or {}).items()):
                servers.append(server)
        return servers

    def current_server_count(self) -> int:
        """Every sandbox counts, stopped or not: it holds the name and the disk until deleted."""
        return len(self._names())

    def last_heartbeat(self, provider_id: str) -> float | None:
        try:
            return os.stat(self._sandbox(provider_id).path("heartbeat")).st_mtime
        except FileNotFoundError:
            return None

    def _names(self) -> list[str]:
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False))

    def _describe(self, box: _Sandbox, missing_ok: bool = False) -> ProviderServer | None:
        info = _read_json(box.path("server.json"))
        if info is None:
            if missing_ok:
                return None  # deleted while we looked
            raise PermanentError("local server %r has no server.json under %s" % (box.name, self.root))
        agent = self._agent(box)
        extra = {"sandbox": box.dir, "log": box.path("agent.log"), "server_type": info.get("server_type"),
                 "pid": agent.pid if agent.alive else None, "port": agent.port if agent.alive else None}
        return ProviderServer(provider_id=box.name, name=info.get("name", box.name), state=_state(agent),
                              address=ADDRESS, tags=dict(info.get("tags") or {}),
                              client_token=info.get("client_token", ""), created_at=info.get("created_at", 0.0),
                              extra=extra)

    def _agent(self, box: _Sandbox) -> _AgentView:
        launch = _read_json(box.path("launch.json"))
        if not launch:
            return _AgentView()
        pid, ticks = launch.get("pid"), launch.get("start_ticks")
        if not isinstance(pid, int):
            return _AgentView()
        alive = pid_alive(pid, ticks)
        bound = _read_json(box.path("agent.json")) if alive else None
        if not (bound and bound.get("pid") == pid):
            bound = {}  # not listening yet, or a stale file of an earlier agent
        return _AgentView(pid=pid, start_ticks=ticks, alive=alive, port=bound.get("port"),
                          token=bound.get("token", ""), ready=bool(bound.get("ready")),
                          stop_requested_at=launch.get("stop_requested_at"))

    # -- commands ------------------------------------------------------------------------------

    def exec(self, provider_id: str, argv: list[str], env: Mapping[str, str] | None = None,
             timeout: float | None = None, cwd: str | None = None) -> ExecResult:
        """Run ``argv`` in the sandbox through its agent; stdout/stderr are the last 64 KiB."""
        _check_command(argv, env)
        box = self._existing(provider_id)
        agent = self._agent(box)
        if agent.port is None:
            raise TransientError("local server %r is not running" % provider_id, retry_after=1.0)
        body = {"argv": list(argv), "env": dict(env or {}), "cwd": cwd, "timeout": timeout}
        # The agent gives a command ``timeout`` plus a grace period to die: wait a little longer.
        wait = None if timeout is None else timeout + local_agent.KILL_GRACE + self.http_timeout
        try:
            status, payload = self._http(agent, "POST", "/exec", body, timeout=wait)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise TransientError("cannot reach the agent of local server %r: %s" % (provider_id, exc)) from exc
        if status == 200:
            return ExecResult(rc=payload["rc"], stdout=payload["stdout"], stderr=payload["stderr"],
                              timed_out=bool(payload["timed_out"]))
        message = "local server %r: %s" % (provider_id, payload.get("error") or payload.get("status"))
        if status in (401, 503):  # a new agent (stale token), or one starting or stopping
            raise TransientError(message, retry_after=1.0)
        raise PermanentError(message)

    def _http(self, agent: _AgentView, method: str, path: str, body: Any = None,
              timeout: float | None = None) -> tuple[int, dict]:
        conn = http.client.HTTPConnection(ADDRESS, agent.port, timeout=timeout)
        try:
            headers = {"Authorization": "Bearer " + agent.token}
            data = None if body is None else json.dumps(body).encode()
            if data is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            conn.close()

    # -- helpers -------------------------------------------------------------------------------

    def _sandbox(self, provider_id: str) -> _Sandbox:
        # The id becomes a path: never let one climb out of the root.
        if not isinstance(provider_id, str) or not NAME_RE.match(provider_id):
            raise PermanentError("%r is not a local server id (%s)" % (provider_id, NAME_HINT))
        return _Sandbox(self.root, provider_id)

    def _existing(self, provider_id: str) -> _Sandbox:
        box = self._sandbox(provider_id)
        if not os.path.isdir(box.dir):
            raise PermanentError("no local server %r under %s" % (provider_id, self.root))
        return box

    @contextmanager
    def _locked(self, box: _Sandbox) -> Iterator[None]:
        """Serialise launch / stop / delete of one sandbox across threads and processes."""
        try:
            fd = os.open(box.path("control.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            raise TransientError("local server %r disappeared (deleted meanwhile?)" % box.name) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _state(agent: _AgentView) -> str:
    if not agent.alive:
        return STOPPED
    if agent.stop_requested_at is not None:
        return STOPPING
    return RUNNING if agent.ready else STARTING


def _check_spec(spec: ServerSpec) -> None:
    if not isinstance(spec.name, str) or not NAME_RE.match(spec.name):
        raise InputError("%r is not a valid local server name" % (spec.name,), key="name", hint=NAME_HINT)
    if not isinstance(spec.client_token, str) or not spec.client_token:
        raise InputError("must be a non-empty string", key="client_token")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in (spec.tags or {}).items()):
        raise InputError("tags must map strings to strings", key="tags")
    for key in spec.options or {}:
        raise InputError("unknown server option for provider 'local'", key=str(key),
                         hint="the local provider takes no per-server options")


def _check_command(argv: Any, env: Any) -> None:
    if isinstance(argv, str) or not (isinstance(argv, (list, tuple)) and argv
                                     and all(isinstance(a, str) for a in argv)):
        raise InputError("must be a non-empty list of strings (never a shell string)", key="argv")
    if env is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise InputError("must map strings to strings", key="env")


# -- processes ---------------------------------------------------------------------------------

def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, session id, start time in clock ticks) from /proc, or None if there is no such pid."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return fields[0].decode(), int(fields[3]), int(fields[19])


def _start_ticks(pid: int) -> int | None:
    if not os.path.isdir("/proc/self"):
        return None
    stat = _proc_stat(pid)
    return stat[2] if stat else None


def pid_alive(pid: int, start_ticks: int | None = None) -> bool:
    """Whether ``pid`` runs and is the process that started at ``start_ticks`` (when known).

    Public: tests and the benchmark check processes the same way the provider does.

    A zombie counts as gone (and is reaped if it is our child: agents are children of the
    controller that launched them until that controller exits).
    """
    if os.path.isdir("/proc/self"):
        stat = _proc_stat(pid)
        if stat is None or (start_ticks is not None and stat[2] != start_ticks):
            return False
        if stat[0] in ("Z", "X"):
            _reap(pid)
            return False
        return True
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: its parent (or init) reaps it


def _wait_gone(agent: _AgentView, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(agent.pid, agent.start_ticks):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


def _signal(pid: int | None, signum: int) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_session(sid: int | None) -> None:
    """SIGKILL the agent and every process left in its session (its commands' process groups).

    The agent is a session leader, and the commands it runs stay in its session (each in a process
    group of its own), so on Linux the session finds them even when the agent cannot be asked.
    """
    if sid is None:
        return
    for pid in _session_members(sid):
        _signal(pid, signal.SIGKILL)
    _signal(sid, signal.SIGKILL)


def _session_members(sid: int) -> list[int]:
    try:
        names = os.listdir("/proc")
    except FileNotFoundError:
        return []
    members = []
    for name in names:
        if name.isdigit() and int(name) != sid:
            stat = _proc_stat(int(name))
            if stat is not None and stat[1] == sid:
                members.append(int(name))
    return members


# -- files -------------------------------------------------------------------------------------

def _atomic_write(path: str, data: bytes, mode: int = 0o600) -> None:
    """Readers see the old file or the new one, never half of one."""
    tmp = "%s.tmp-%s" % (path, os.urandom(6).hex())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _write_json(path: str, data: dict) -> None:
    _atomic_write(path, json.dumps(data, sort_keys=True).encode())


def _read_json(path: str) -> dict | None:
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _log_tail(path: str, lines: int = 5) -> str:
    text = _read_text(path)
    if not text:
        return ""
    return "; last lines of %s:\n%s" % (path, "\n".join(text.splitlines()[-lines:]))


def _module_source(module: Any) -> str:
    """The source of ``module``, from a file or from the zip Ansible ships modules in."""
    loader = getattr(module, "__loader__", None)
    source = loader.get_source(module.__name__) if loader is not None else None
    if source is None:
        with open(module.__file__, encoding="utf-8") as handle:
            source = handle.read()
    return source
