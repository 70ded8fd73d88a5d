# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``ssh`` provider: servers are machines that exist already (Roboconf's target of an existing VM).

Nothing is made and nothing is powered off: a server is a *slot* (one entry of the ``hosts``
option: a name and ``address``, ``port``, ``user``) that the provider adopts for a server and
releases again. Several entries may name the same machine (several slots on one box). What it
adopted is recorded on the machine itself, so a new controller finds it (``list_servers``)::

    <state_dir>/<host name>/      on the machine; state_dir default .local/state/appgraph/ssh (from ~)
        claim -> <digest>          a symbolic link made atomically (ln -s): the adoption; its target
                                   is a digest of the client token
        server.json                name, client token, server type, tags, created_at (written once)
        heartbeat                  touched by every command and probe of the provider
        stopped                    present once the server is stopped (released, not yet deleted)
        reboot-from                the boot id before a reboot (``reboot_command`` only)
        instances/...              the script installer's files: commands run here by default

Contract mapping (``base.Provider``)::

    create_server     a slot carrying this client token? adopt it again; else claim the first free
                      slot (hosts in option order). A slot that cannot be read makes it
                      TransientError: it might hold this token, and adopting a second one would
                      give a server two machines
    has_started       the machine answers over SSH and the slot still carries our claim (after a
                      reboot: and its boot id has changed)
    stop_server       writes ``stopped``: nothing is powered off, nothing of the user's is stopped
                      (the instances' own stop scripts ran before)      has_stopped  ``stopped`` or claim gone
    delete_server     removes the slot directory (claim, state, the instances' files): the
                      machine is released; nothing else on it is touched  has_been_deleted  claim gone
    reboot_server     runs ``reboot_command`` (an argv, e.g. [sudo, systemctl, reboot]); without
                      it a reboot is refused (PermanentError): a machine we do not own is not
                      rebooted unless its owner says how
    list_servers      every slot with a claim (one ssh call per machine, machines in parallel)
    last_heartbeat    a probe that touches ``heartbeat``: now when the machine answers; else the
                      last answer this controller saw (kept in its private control directory)
    exec              argv in the slot directory (or ``cwd``), env exported, output tails,
                      ``timeout`` enforced on the machine (``timeout``: TERM, then KILL, to the
                      command's process group)

``provider_id`` is ``<host name>:<digest of the client token>``: it names one adoption, never
reused by another server that later adopts the same slot, so a late retry of a delete cannot
release someone else's server.

The machines need a POSIX ``sh``, ``readlink``, ``mktemp``, ``tail``, ``wc`` and GNU coreutils'
``timeout`` (for commands with a timeout); the script installer also needs ``bash``, ``base64``,
``tar`` and ``realpath``.
"""

from __future__ import annotations

import atexit
import getpass
import hashlib
import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType
from typing import Any, Callable, Mapping

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (
    AppGraphError, InputError, PermanentError, TransientError)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.files import atomic_write
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.statuses import RUNNING, STARTING, STOPPED
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import (
    ExecResult, Option, Provider, ProviderServer, ServerSpec)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh_client import (
    CHECKING, CLAIM, KILL_GRACE, PROBE, RELEASE, Host, SshClient, check_path, exec_script, private_dir)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh_slots import (
    claim_of, provider_id_of, raise_unreadable, slot_views)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh_options import (
    check_command, check_hosts, check_port, check_spec, check_state_dir, check_user)

DEFAULT_STATE_DIR = ".local/state/appgraph/ssh"
PROBE_WORKERS = 8


class SshProvider(Provider):
    """Machines that exist already, reached with the system ssh client."""

    name = "ssh"
    OPTIONS = MappingProxyType({
        "hosts": Option(object, None, doc="the machines (required): a mapping name -> {address, port, user}, or a "
                                          "list of {name, address, port, user}; name defaults to the address"),
        "user": Option(str, None, doc="user of the hosts that name none (default: this controller's user)"),
        "port": Option(float, 22, minimum=1, doc="port of the hosts that name none"),
        "private_key_file": Option(str, None, doc="path of the private key (default: ssh's own keys and agent)"),
        "private_key": Option(str, None, secret=True,
                              doc="the private key itself (never stored: kept in a 0600 file of this process)"),
        "known_hosts_file": Option(str, None, doc="known hosts file (default: ssh's own, ~/.ssh/known_hosts)"),
        "host_key_checking": Option(str, "strict", doc="strict (default), accept-new (trust on first use) or off"),
        "connect_timeout": Option(float, 10.0, minimum=0, above_minimum=True, doc="seconds to connect"),
        "control_persist": Option(float, 60.0, minimum=0,
                                  doc="seconds a connection stays open for the next command (0: one per command)"),
        "state_dir": Option(str, DEFAULT_STATE_DIR, doc="directory of the provider on each machine (relative: "
                                                        "to the user's home)"),
        "reboot_command": Option(list, None, doc="argv that reboots a machine (unset: reboot is refused)"),
        "python_interpreter": Option(str, None, doc="Python of the machines for Ansible's modules (the ansible "
                                                    "installer; default: Ansible's discovery)"),
    })

    def __init__(self, hosts: Any = None, user: str | None = None, port: float = 22,
                 private_key_file: str | None = None, private_key: str | None = None,
                 known_hosts_file: str | None = None, host_key_checking: str = "strict",
                 connect_timeout: float = 10.0, control_persist: float = 60.0, state_dir: str = DEFAULT_STATE_DIR,
                 reboot_command: list | None = None, python_interpreter: str | None = None, *, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.time, ssh: str = "ssh"):
        """``environ`` gives ``APPGRAPH_SSH_CONTROL_DIR`` (where control sockets go); ``ssh`` is the client."""
        self.environ = os.environ if environ is None else environ
        self.clock = clock
        default_user = check_user(user, "user") if user is not None else getpass.getuser()
        self.hosts = check_hosts(hosts, default_user, check_port(port, "port"))
        self.by_name = {h.name: h for h in self.hosts}
        if host_key_checking not in CHECKING:
            raise InputError("must be one of %s, got %r" % (", ".join(CHECKING), host_key_checking),
                             key="host_key_checking")
        if private_key is not None and private_key_file is not None:
            raise InputError("set private_key or private_key_file, not both", key="private_key")
        self.state_dir = check_state_dir(state_dir)
        if reboot_command is not None and not (reboot_command and all(isinstance(a, str) and a and "\0" not in a
                                                                      for a in reboot_command)):
            raise InputError("must be a non-empty list of strings (an argv, never a shell string)",
                             key="reboot_command")
        self.reboot_command = list(reboot_command) if reboot_command else None
        self.python_interpreter = python_interpreter
        self._key_material = private_key
        self._options = (check_path(private_key_file, "private_key_file"),
                         check_path(known_hosts_file, "known_hosts_file"), host_key_checking,
                         float(connect_timeout), float(control_persist))
        self.connect_timeout = float(connect_timeout)
        self._client: SshClient | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "SshProvider(hosts=%r, state_dir=%r)" % ([h.label for h in self.hosts], self.state_dir)

    def identity(self) -> str:
        """``ssh:<first machine>[+N]:<digest of every slot and the state dir>``."""
        slots = sorted("%s=%s" % (h.name, h.label) for h in self.hosts)
        digest = hashlib.sha256("\0".join(slots + [self.state_dir]).encode()).hexdigest()[:12]
        machines = sorted({h.label for h in self.hosts})
        more = "+%d" % (len(machines) - 1) if len(machines) > 1 else ""
        return "ssh:%s%s:%s" % (machines[0], more, digest)

    @property
    def client(self) -> SshClient:
        """The ssh client, made at first use (it creates the private control directory)."""
        with self._lock:
            if self._client is None:
                key_file, known_hosts, checking, connect_timeout, persist = self._options
                control_dir = private_dir(self.environ)
                if self._key_material is not None:
                    key_file = self._write_key(control_dir)
                self._client = SshClient(key_file, known_hosts, checking, connect_timeout, persist, control_dir)
            return self._client

    def _write_key(self, control_dir: str) -> str:
        path = os.path.join(control_dir, "key-%s" % os.urandom(8).hex())
        material = self._key_material if self._key_material.endswith("\n") else self._key_material + "\n"
        atomic_write(path, material.encode(), mode=0o600)
        atexit.register(_remove_quietly, path)
        return path

    def close(self) -> None:
        """End the connections this provider's hosts have open, and remove an inline key's file.
        Optional: connections end by themselves after ``control_persist`` seconds."""
        with self._lock:
            client, self._client = self._client, None
        if client is None:
            return
        client.close(self.hosts)
        if self._key_material is not None and client.private_key_file:
            _remove_quietly(client.private_key_file)

    # -- create / start ----------------------------------------------------------------------

    def create_server(self, spec: ServerSpec) -> ProviderServer:
        check_spec(spec)
        want = claim_of(spec.client_token)
        views = self._probe(self.hosts, want, touch=False)
        for host in self.hosts:
            view = views[host.name]
            if isinstance(view, dict) and view["claim"] == want:
                return self._adopt(host, spec, want)
        raise_unreadable(views, "tell whether it holds server %r already" % spec.name)
        for host in self.hosts:
            if views[host.name]["claim"] == "-":
                server = self._adopt(host, spec, want)
                if server is not None:
                    return server
        taken = ", ".join("%s (%s)" % (h.name, views[h.name]["info"].get("name") or "being adopted")
                          for h in self.hosts)
        raise PermanentError("no free host for server %r: every host of this ssh provider carries another server: %s"
                             % (spec.name, taken))

    def _adopt(self, host: Host, spec: ServerSpec, want: str) -> ProviderServer | None:
        """Claim ``host``'s slot for ``spec`` (or confirm our claim); None if someone else won it."""
        info = {"name": spec.name, "client_token": spec.client_token, "server_type": spec.server_type,
                "tags": dict(spec.tags), "created_at": self.clock(), "host": host.name}
        answer = self._run(host, CLAIM, [self.state_dir, host.name, want, json.dumps(info, sort_keys=True)],
                           "adopt it for server %r" % spec.name)
        word, _space, rest = answer.partition(" ")
        if word == "taken":
            return None
        if word != "claimed":
            raise PermanentError("cannot adopt %s for server %r: %s" % (host.label, spec.name, answer))
        self._remember_heartbeat(provider_id_of(host, want))
        return self._server(host, want, {"claim": want, "stopped": False, "info": info}, directory=rest)

    def has_started(self, provider_id: str) -> bool:
        """True once the machine answers and still carries our claim (and, after a reboot, has a
        new boot id). Unreachable: False (keep polling); a refused key or host key: PermanentError."""
        host, want = self._parse_id(provider_id)
        try:
            view = self._probe([host], want, touch=True)[host.name]
        except TransientError:
            return False
        if isinstance(view, TransientError):
            return False
        if isinstance(view, Exception):
            raise view
        if view["claim"] != want:
            raise PermanentError("ssh server %r is no longer adopted: the slot %s on %s carries %s"
                                 % (provider_id, host.name, host.label, "no claim" if view["claim"] == "-"
                                    else "another server's claim"))
        self._remember_heartbeat(provider_id)
        return view["reboot_from"] == "-"

    # -- stop / delete / reboot --------------------------------------------------------------

    def stop_server(self, provider_id: str) -> None:
        """Mark the slot stopped. Nothing is powered off: the machine is not ours."""
        host, want = self._parse_id(provider_id)
        self._run(host, RELEASE, [self.state_dir, host.name, want, "stop"], "stop server %r" % provider_id)

    def has_stopped(self, provider_id: str) -> bool:
        host, want = self._parse_id(provider_id)
        view = self._one(host, want)
        return view["claim"] != want or view["stopped"]

    def delete_server(self, provider_id: str) -> None:
        """Release the slot: its directory goes (claim, state, the instances' files), nothing else."""
        host, want = self._parse_id(provider_id)
        self._run(host, RELEASE, [self.state_dir, host.name, want, "delete"], "release server %r" % provider_id)

    def has_been_deleted(self, provider_id: str) -> bool:
        host, want = self._parse_id(provider_id)
        return self._one(host, want)["claim"] != want

    def reboot_server(self, provider_id: str) -> None:
        """Run ``reboot_command``; ``has_started`` is False until the machine has a new boot id."""
        host, want = self._parse_id(provider_id)
        if not self.reboot_command:
            raise PermanentError("ssh server %r: the ssh provider does not reboot machines it does not own; set "
                                 "reboot_command (e.g. [sudo, systemctl, reboot]) to allow it" % provider_id)
        view = self._one(host, want)
        if view["claim"] != want:
            raise PermanentError("ssh server %r is no longer adopted: nothing to reboot" % provider_id)
        if view["boot"] == "-":
            raise PermanentError("ssh server %r: %s has no /proc/sys/kernel/random/boot_id, so a reboot could not "
                                 "be told from a machine that never went down" % (provider_id, host.label))
        self._run(host, RELEASE, [self.state_dir, host.name, want, "reboot-from", view["boot"]],
                  "prepare the reboot of %r" % provider_id)
        try:
            result = self.exec(provider_id, self.reboot_command, timeout=self.connect_timeout + 10.0)
        except TransientError:
            return              # the connection went down with the machine: what a reboot does
        if result.rc != 0 and not result.timed_out:
            self._run(host, RELEASE, [self.state_dir, host.name, want, "reboot-from", "-"], "cancel the reboot")
            raise PermanentError("ssh server %r: %s exited with code %d: %s"
                                 % (provider_id, self.reboot_command[0], result.rc, result.stderr.strip()[-500:]))

    # -- observe -------------------------------------------------------------------------------

    def list_servers(self, tags: Mapping[str, str] | None = None) -> list[ProviderServer]:
        """Every slot adopted for this fleet. A machine that cannot be read makes it fail
        (TransientError): a server left out would look deleted to the engine, and its slot would
        never be released."""
        return self._list(tags, every_fleet=False)

    def _list(self, tags: Mapping[str, str] | None, every_fleet: bool) -> list[ProviderServer]:
        views = self._probe(self.hosts, "-", touch=False)
        raise_unreadable(views, "list its servers")
        servers = []
        for host in self.hosts:
            view = views[host.name]
            if view["claim"] == "-":
                continue
            server = self._server(host, view["claim"], view)
            if all(server.tags.get(k) == v for k, v in (tags or {}).items()) and \
                    (every_fleet or self.in_fleet(server.tags)):
                servers.append(server)
        return servers

    def current_server_count(self) -> int:
        """Adopted slots of every fleet, stopped ones too (they are released only when deleted)."""
        return len(self._list(None, every_fleet=True))

    def last_heartbeat(self, provider_id: str) -> float | None:
        host, want = self._parse_id(provider_id)
        try:
            view = self._probe([host], want, touch=True)[host.name]
        except AppGraphError:
            view = None
        if isinstance(view, dict) and view["claim"] == want:
            return self._remember_heartbeat(provider_id)
        if isinstance(view, dict):
            return None     # released: no server to hear from
        try:
            return os.stat(self._heartbeat_path(provider_id)).st_mtime
        except FileNotFoundError:
            return None

    def _remember_heartbeat(self, provider_id: str) -> float:
        now = self.clock()
        path = self._heartbeat_path(provider_id)
        os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
        atomic_write(path, b"")
        os.utime(path, (now, now))
        return now

    def _heartbeat_path(self, provider_id: str) -> str:
        key = hashlib.sha256(("%s\0%s" % (self.identity(), provider_id)).encode()).hexdigest()[:24]
        return os.path.join(self.client.control_dir, "heartbeats", key)

    # -- commands ------------------------------------------------------------------------------

    def exec(self, provider_id: str, argv: list[str], env: Mapping[str, str] | None = None,
             timeout: float | None = None, cwd: str | None = None) -> ExecResult:
        """Run ``argv`` on the machine, in the slot directory (a relative ``cwd`` starts there);
        stdout/stderr are the last 64 KiB. ``timeout`` is enforced on the machine."""
        check_command(argv, env, timeout, cwd)
        host, want = self._parse_id(provider_id)
        limit = "" if timeout is None else "%.3f" % max(float(timeout), 0.001)
        wait = None if timeout is None else float(timeout) + KILL_GRACE + self.connect_timeout + 10.0
        answer = self.client.run(host, exec_script(env or {}),
                                 [self.state_dir, host.name, want, cwd or "", limit, "%g" % KILL_GRACE] + list(argv),
                                 timeout=wait, what="run %s" % argv[0])
        word, _space, rest = answer.lines[0].partition(" ")
        if word == "ran":
            rc, timed_out, out_size, err_size = (int(x) for x in rest.split())
            payload = answer.payload
            self._remember_heartbeat(provider_id)
            return ExecResult(rc=rc, stdout=payload[:out_size].decode("utf-8", "replace"),
                              stderr=payload[out_size:out_size + err_size].decode("utf-8", "replace"),
                              timed_out=bool(timed_out))
        reasons = {"not-adopted": "it is no longer adopted (its slot %s carries no claim of it)" % host.name,
                   "stopped": "it is stopped", "no-cwd": "cwd %r is not a directory there" % cwd,
                   "no-tmp": "mktemp -d failed there", "no-timeout": "it has no 'timeout' command (GNU coreutils)"}
        raise PermanentError("cannot run %s on ssh server %r (%s): %s"
                             % (argv[0], provider_id, host.label, reasons.get(word, answer.lines[0])))

    def ansible_vars(self, provider_id: str, address: str | None = None) -> dict:
        """Ansible's own ``ssh`` connection to the slot's machine, with this provider's user, port,
        key and host key checking; ``appgraph_server_dir`` is the slot directory (from the home)."""
        host, _want = self._parse_id(provider_id)
        found = {"ansible_connection": "ssh", "ansible_host": host.address, "ansible_port": host.port,
                 "ansible_user": host.user, "ansible_ssh_common_args": self.client.ansible_args(),
                 "appgraph_server_dir": "%s/%s" % (self.state_dir.rstrip("/"), host.name)}
        if self.client.private_key_file:
            found["ansible_ssh_private_key_file"] = self.client.private_key_file
        if self.python_interpreter:
            found["ansible_python_interpreter"] = self.python_interpreter
        return found

    # -- helpers -------------------------------------------------------------------------------

    def _run(self, host: Host, script: str, args: list, what: str) -> str:
        answer = self.client.run(host, script, args, timeout=self.connect_timeout + 30.0, what=what)
        return answer.lines[0]

    def _parse_id(self, provider_id: str) -> tuple[Host, str]:
        name, _colon, want = provider_id.rpartition(":") if isinstance(provider_id, str) else ("", "", "")
        if not re.match(r"^[0-9a-f]{16}$", want) or name not in self.by_name:
            raise PermanentError("%r is not a server of this ssh provider (ids are <host name>:<16 hex>; hosts: %s)"
                                 % (provider_id, ", ".join(sorted(self.by_name))))
        return self.by_name[name], want

    def _one(self, host: Host, want: str) -> dict:
        view = self._probe([host], want, touch=False)[host.name]
        if isinstance(view, Exception):
            raise view
        return view

    def _probe(self, hosts: list, want: str, touch: bool) -> dict:
        """``{host name: view or exception}``: one ssh call per machine, machines in parallel.
        A view is ``{claim, stopped, reboot_from, boot, info}``."""
        by_machine: dict = {}
        for host in hosts:
            by_machine.setdefault(host.connection, []).append(host)

        def probe(slots: list) -> dict:
            args = [self.state_dir]
            for host in slots:
                args += [host.name, want, "1" if touch else "0"]
            try:
                lines = self.client.run(slots[0], PROBE, args, timeout=self.connect_timeout + 30.0,
                                        what="read the state of %s" % ", ".join(h.name for h in slots)).lines
            except AppGraphError as exc:
                return {host.name: exc for host in slots}
            return slot_views(slots, lines)

        groups = list(by_machine.values())
        if len(groups) == 1:
            return probe(groups[0])
        views: dict = {}
        with ThreadPoolExecutor(max_workers=min(PROBE_WORKERS, len(groups))) as pool:
            for result in pool.map(probe, groups):
                views.update(result)
        return views

    def _server(self, host: Host, claim: str, view: dict, directory: str = "") -> ProviderServer:
        info = view.get("info") or {}
        state = STOPPED if view.get("stopped") else (RUNNING if info else STARTING)
        extra = {"host": host.name, "user": host.user, "port": host.port, "server_type": info.get("server_type"),
                 "state_dir": self.state_dir}
        if directory:
            extra["dir"] = directory
        return ProviderServer(provider_id=provider_id_of(host, claim), name=str(info.get("name") or host.name),
                              state=state, address=host.address, tags=dict(info.get("tags") or {}),
                              client_token=str(info.get("client_token") or ""),
                              created_at=float(info.get("created_at") or 0.0), extra=extra)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
