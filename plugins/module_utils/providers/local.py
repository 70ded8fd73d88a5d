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
import shutil
import signal
import sys
import time
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import PermanentError, TransientError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.files import atomic_write
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers import local_agent
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import (
    ALL_FLEETS, ExecResult, Option, Provider, ProviderServer, ServerSpec)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local_sandbox import (
    NAME_HINT, NAME_RE, AgentView, Sandbox, check_command, check_spec, lock_held, state_of)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local_processes import (
    kill_session, log_tail, module_source, pid_alive, read_json, read_text, remove, signal_pid, start_ticks,
    wait_gone, write_json)

ADDRESS = "127.0.0.1"
AGENT_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "TZ")  # the agent (and its commands) get nothing else
ADOPT_WAIT = 5.0   # seconds an agent that holds its sandbox may take to write its agent.json
ADOPT_POLL = 0.01
FLEET_FOLDER = ".fleet-"  # <root>/.fleet-<fleet>/: one store's sandboxes (a dot: never taken for a server)


class LocalProvider(Provider):
    """Servers that are sandbox directories with an agent process on 127.0.0.1."""

    name = "local"
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

    @property
    def home(self) -> str:
        """The folder of this fleet's sandboxes: ``<root>/.fleet-<fleet>`` (the root itself without a
        fleet: servers made before fleets). Two stores on one machine never see each other's."""
        if self.fleet == ALL_FLEETS:
            raise PermanentError("a local provider listing every fleet can only list their servers")
        return self.root if self.fleet is None else os.path.join(self.root, FLEET_FOLDER + self.fleet)

    # -- create / start ----------------------------------------------------------------------

    def create_server(self, spec: ServerSpec) -> ProviderServer:
        check_spec(spec)
        os.makedirs(self.home, 0o700, exist_ok=True)
        name = self._find_token(spec.client_token) or self._make_sandbox(spec)
        box = Sandbox(self.home, name)
        with self._locked(box):
            if not self._agent(box).alive:
                self._launch(box)
        return self._describe(box)

    def _find_token(self, token: str) -> str | None:
        """The name of the server made with ``token``, if it still exists."""
        name = read_text(self._token_path(token))
        if name and NAME_RE.match(name):
            info = read_json(Sandbox(self.home, name).path("server.json"))
            if info and info.get("client_token") == token:
                return name
        return None

    def _make_sandbox(self, spec: ServerSpec) -> str:
        """Create the sandbox atomically, or adopt the one of that name if it has our token."""
        box = Sandbox(self.home, spec.name)
        tmp = os.path.join(self.home, ".new-%s" % os.urandom(8).hex())
        os.mkdir(tmp, 0o700)
        info = {"name": spec.name, "client_token": spec.client_token, "server_type": spec.server_type,
                "tags": dict(spec.tags), "created_at": self.clock()}
        write_json(os.path.join(tmp, "server.json"), info)
        try:
            os.rename(tmp, box.dir)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            existing = read_json(box.path("server.json")) or {}
            if existing.get("client_token") != spec.client_token:
                raise PermanentError("local server %r exists already under %s with another client token"
                                     % (spec.name, self.root)) from None
        self._remember_token(spec.client_token, spec.name)
        return spec.name

    def _token_path(self, token: str) -> str:
        return os.path.join(self.home, ".tokens", hashlib.sha256(token.encode()).hexdigest())

    def _remember_token(self, token: str, name: str) -> None:
        os.makedirs(os.path.join(self.home, ".tokens"), 0o700, exist_ok=True)
        atomic_write(self._token_path(token), name.encode())

    def _forget_token(self, token: str, name: str) -> None:
        if read_text(self._token_path(token)) == name:
            remove(self._token_path(token))

    def _launch(self, box: Sandbox) -> None:
        """Start an agent for ``box`` in a session of its own (it outlives this process), unless
        one runs already that ``launch.json`` does not name (its launcher died between starting it
        and writing the file): that one is adopted."""
        if not sys.executable:
            raise PermanentError("cannot start a local agent: no Python interpreter path (sys.executable)")
        if self._adopt_unrecorded_agent(box):
            return
        remove(box.path("agent.json"))  # stale: describes the previous agent
        argv = [sys.executable, "-I", "-S", self._agent_script(), box.dir,
                repr(self.heartbeat_interval), repr(self.start_delay)]
        log_flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        pid = os.posix_spawn(sys.executable, argv, self._agent_env(), setsid=True, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, box.path("agent.log"), log_flags, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ])
        write_json(box.path("launch.json"), {"pid": pid, "start_ticks": start_ticks(pid),
                                             "launched_at": self.clock()})

    def _adopt_unrecorded_agent(self, box: Sandbox) -> bool:
        """An agent holds the sandbox's ``agent.lock`` for its whole life: when the lock is held,
        wait (a little) for the agent.json that agent writes, and record its pid as ours."""
        if not lock_held(box.path("agent.lock")):
            return False
        deadline = time.monotonic() + ADOPT_WAIT
        while time.monotonic() < deadline:
            bound = read_json(box.path("agent.json")) or {}
            pid = bound.get("pid")
            if isinstance(pid, int) and pid_alive(pid):
                write_json(box.path("launch.json"), {"pid": pid, "start_ticks": start_ticks(pid),
                                                     "launched_at": self.clock(), "adopted": True})
                return True
            if not lock_held(box.path("agent.lock")):
                return False            # it went away meanwhile: start a new one
            time.sleep(ADOPT_POLL)
        raise TransientError("the sandbox of local server %r is held by an agent that never says who it is"
                             % box.name, retry_after=1.0)

    def _agent_env(self) -> dict[str, str]:
        return {key: self.environ[key] for key in AGENT_ENV_KEYS if key in self.environ}

    def _agent_script(self) -> str:
        """A copy of ``local_agent.py`` under the root, named by its content's hash.

        Agents run this copy, not the module file: under Ansible the module file lives in a
        temporary zip that is gone when the module returns, and agents run far longer. A new
        version gets a new name, so running agents are never disturbed.
        """
        if self._script is None:
            source = module_source(local_agent).encode()
            path = os.path.join(self.root, ".agent", "local_agent-%s.py" % hashlib.sha256(source).hexdigest()[:16])
            if not os.path.exists(path):
                os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
                atomic_write(path, source)
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
                                 % (provider_id, log_tail(box.path("agent.log"))))
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

    def _ask_to_stop(self, box: Sandbox, agent: AgentView) -> None:
        """POST /shutdown, or SIGTERM when the agent does not answer (both stop its commands)."""
        if agent.stop_requested_at is None:
            launch = read_json(box.path("launch.json")) or {}
            write_json(box.path("launch.json"), dict(launch, stop_requested_at=self.clock()))
        if agent.port is not None:
            try:
                status = self._http(agent, "POST", "/shutdown", timeout=self.http_timeout)[0]
                if status == 202:
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
        signal_pid(agent.pid, signal.SIGTERM)

    def has_stopped(self, provider_id: str) -> bool:
        box = self._sandbox(provider_id)
        if not os.path.isdir(box.dir):
            return True
        agent = self._agent(box)
        if not agent.alive:
            return True
        if agent.stop_requested_at is not None and self.clock() - agent.stop_requested_at >= self.stop_timeout:
            kill_session(agent.pid)  # it had its chance to stop cleanly
        return False

    def delete_server(self, provider_id: str) -> None:
        box = self._sandbox(provider_id)
        if not os.path.isdir(box.dir):
            return
        with self._locked(box):
            if self._agent(box).alive:
                raise TransientError("local server %r is still running: stop it before deleting it" % provider_id,
                                     retry_after=1.0)
            info = read_json(box.path("server.json")) or {}
            trash = os.path.join(self.home, ".trash-%s" % os.urandom(8).hex())
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
                if not wait_gone(agent.pid, agent.start_ticks, self.stop_timeout):
                    kill_session(agent.pid)
                    if not wait_gone(agent.pid, agent.start_ticks, 2.0):
                        raise TransientError("the agent of local server %r (pid %d) does not die"
                                             % (provider_id, agent.pid))
            self._launch(box)

    # -- observe -------------------------------------------------------------------------------

    def list_servers(self, tags: Mapping[str, str] | None = None) -> list[ProviderServer]:
        servers = []
        for home in self._homes():
            for name in self._names(home):
                server = self._describe(Sandbox(home, name), missing_ok=True)
                if server is not None and all(server.tags.get(k) == v for k, v in (tags or {}).items()):
                    servers.append(server)
        return servers

    def current_server_count(self) -> int:
        """Every sandbox counts, of every fleet, stopped or not: it holds the name and the disk until
        deleted."""
        return sum(len(self._names(home)) for home in self._homes(every_fleet=True))

    def last_heartbeat(self, provider_id: str) -> float | None:
        try:
            return os.stat(self._sandbox(provider_id).path("heartbeat")).st_mtime
        except FileNotFoundError:
            return None

    def _names(self, home: str | None = None) -> list[str]:
        try:
            entries = list(os.scandir(home or self.home))
        except FileNotFoundError:
            return []
        return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False))

    def _homes(self, every_fleet: bool = False) -> list[str]:
        """Where this provider object's servers are: its fleet's folder (every fleet's, listing them all)."""
        if self.fleet != ALL_FLEETS and not every_fleet:
            return [self.home]
        try:
            fleets = sorted(e.path for e in os.scandir(self.root) if e.name.startswith(FLEET_FOLDER))
        except FileNotFoundError:
            fleets = []
        return [self.root] + fleets

    def _describe(self, box: Sandbox, missing_ok: bool = False) -> ProviderServer | None:
        info = read_json(box.path("server.json"))
        if info is None:
            if missing_ok:
                return None  # deleted while we looked
            raise PermanentError("local server %r has no server.json under %s" % (box.name, self.root))
        agent = self._agent(box)
        extra = {"sandbox": box.dir, "home": box.root, "log": box.path("agent.log"),
                 "server_type": info.get("server_type"),
                 "pid": agent.pid if agent.alive else None, "port": agent.port if agent.alive else None}
        return ProviderServer(provider_id=box.name, name=info.get("name", box.name), state=state_of(agent),
                              address=ADDRESS, tags=dict(info.get("tags") or {}),
                              client_token=info.get("client_token", ""), created_at=info.get("created_at", 0.0),
                              extra=extra)

    def _agent(self, box: Sandbox) -> AgentView:
        launch = read_json(box.path("launch.json"))
        if not launch:
            return AgentView()
        pid, ticks = launch.get("pid"), launch.get("start_ticks")
        if not isinstance(pid, int):
            return AgentView()
        alive = pid_alive(pid, ticks)
        bound = read_json(box.path("agent.json")) if alive else None
        if not (bound and bound.get("pid") == pid):
            bound = {}  # not listening yet, or a stale file of an earlier agent
        return AgentView(pid=pid, start_ticks=ticks, alive=alive, port=bound.get("port"),
                         token=bound.get("token", ""), ready=bool(bound.get("ready")),
                         stop_requested_at=launch.get("stop_requested_at"))

    # -- commands ------------------------------------------------------------------------------

    def ansible_vars(self, provider_id: str, address: str | None = None) -> dict:
        """The collection's ``sandbox`` connection, through the server's agent (the sandbox is the
        commands' working directory); modules run with this controller's Python."""
        self._sandbox(provider_id)                  # a valid id, or PermanentError
        return {"ansible_connection": "appgraph.lifecycle.sandbox", "appgraph_sandbox_server": provider_id,
                "appgraph_local_root": self.home, "ansible_python_interpreter": sys.executable,
                "appgraph_server_dir": "."}

    def exec(self, provider_id: str, argv: list[str], env: Mapping[str, str] | None = None,
             timeout: float | None = None, cwd: str | None = None) -> ExecResult:
        """Run ``argv`` in the sandbox through its agent; stdout/stderr are the last 64 KiB."""
        check_command(argv, env)
        body = {"argv": list(argv), "env": dict(env or {}), "cwd": cwd, "timeout": timeout}
        # The agent gives a command ``timeout`` plus a grace period to die: wait a little longer.
        wait = None if timeout is None else timeout + local_agent.KILL_GRACE + self.http_timeout
        payload = self.agent_call(provider_id, "/exec", body, timeout=wait)
        return ExecResult(rc=payload["rc"], stdout=payload["stdout"], stderr=payload["stderr"],
                          timed_out=bool(payload["timed_out"]))

    def server_home(self, provider_id: str) -> str:
        """The server's sandbox folder (deleting the server deletes it, and what is in it)."""
        return self._existing(provider_id).dir

    def agent_call(self, provider_id: str, path: str, body: dict, timeout: float | None = None) -> dict:
        """The agent's JSON answer to ``body`` at ``path`` (``/exec``, ``/put``, ``/fetch``).
        TransientError: unreachable, starting, stopping, new token; PermanentError: refused."""
        box = self._existing(provider_id)
        agent = self._agent(box)
        if agent.port is None:
            raise TransientError("local server %r is not running" % provider_id, retry_after=1.0)
        try:
            status, payload = self._http(agent, "POST", path, body, timeout=timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise TransientError("cannot reach the agent of local server %r: %s" % (provider_id, exc)) from exc
        if status == 200:
            return payload
        message = "local server %r: %s" % (provider_id, payload.get("error") or payload.get("status"))
        if status in (401, 503):  # a new agent (stale token), or one starting or stopping
            raise TransientError(message, retry_after=1.0)
        if status == 404 and path == "/fetch":
            raise FileNotFoundError(message)
        raise PermanentError(message)

    def _http(self, agent: AgentView, method: str, path: str, body: Any = None,
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

    def _sandbox(self, provider_id: str) -> Sandbox:
        # The id becomes a path: never let one climb out of the root.
        if not isinstance(provider_id, str) or not NAME_RE.match(provider_id):
            raise PermanentError("%r is not a local server id (%s)" % (provider_id, NAME_HINT))
        return Sandbox(self.home, provider_id)

    def _existing(self, provider_id: str) -> Sandbox:
        box = self._sandbox(provider_id)
        if not os.path.isdir(box.dir):
            raise PermanentError("no local server %r under %s" % (provider_id, self.root))
        return box

    @contextmanager
    def _locked(self, box: Sandbox) -> Iterator[None]:
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
