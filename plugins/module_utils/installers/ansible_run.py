# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One ``ansible-runner`` run over many hosts, and what became of each host.

``run_playbook`` writes a private data directory (``project/main.yml``, ``inventory/hosts.json``),
runs ``ansible_runner.run`` on it (its ``ansible-playbook`` in a process group of its own, killed
as a whole by ansible-runner when the deadline passes), and reads the job events back: a host
failed when the stats count a failure or an unreachable task for it, or when the run ended without
stats (killed, a syntax error). The directory is kept: its ``artifacts/<ident>/stdout`` is the
whole log of the run.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata

from ..files import atomic_write
from .ansible_supervisor import PARENT_ENV
from .ansible_vars import inventory_file

TAIL_LINES = 40
# A run's hosts are instances, many per server: the collection's strategy runs a task's hosts in
# threads of a few workers instead of forking one per host (a play may still name its own). It
# builds on ansible-core's internals, which carry no compatibility promise for third-party
# strategies: it is used with the ansible-core releases it was tested with, linear otherwise.
STRATEGY = "appgraph.lifecycle.batched"
STRATEGY_TESTED_WITH = ("2.19.",)
FALLBACK_STRATEGY = "ansible.builtin.linear"
STRATEGY_ENV = "APPGRAPH_ANSIBLE_STRATEGY"     # another one for every run (ansible.builtin.linear)
POLL = 0.1                  # seconds between ansible-runner's looks at the deadline


@dataclass
class HostOutcome:
    ok: bool
    message: str = ""
    log: str = ""                       # this host's lines of the run's output
    changed: bool = False


@dataclass
class RunOutcome:
    ident: str
    directory: str
    rc: int | None
    status: str
    hosts: dict = field(default_factory=dict)   # host -> HostOutcome
    log_file: str = ""
    output_tail: str = ""
    timed_out: bool = False


OWN_PLUGIN = os.path.join("ansible_collections", "appgraph", "lifecycle", "plugins", "connection", "sandbox.py")
SUPERVISOR = os.path.join("ansible_collections", "appgraph", "lifecycle", "plugins", "module_utils", "installers",
                          "ansible_supervisor.py")
DEFAULT_COLLECTION_PATHS = ("~/.ansible/collections", "/usr/share/ansible/collections")


def collection_root() -> str | None:
    """The folder holding ``ansible_collections`` when this file is under it on disk. Not when a
    module runs it from Ansible's zipped payload, which carries module_utils but no plugins."""
    here = os.path.abspath(__file__)
    marker = os.sep + "ansible_collections" + os.sep
    index = here.rfind(marker)
    root = here[:index] if index >= 0 else None
    return root if root and os.path.isfile(os.path.join(root, OWN_PLUGIN)) else None


def collections_path(environ=None) -> str:
    """Where the runs find collections: this collection's own install location first (its
    ``sandbox`` connection), then what the caller had, then Ansible's defaults."""
    environ = os.environ if environ is None else environ
    given = []
    for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"):
        given.extend(p for p in (environ.get(name) or "").split(os.pathsep) if p)
    candidates = [collection_root()] + given + [os.path.expanduser(p) for p in DEFAULT_COLLECTION_PATHS] + \
        [p for p in sys.path if p and os.path.isfile(os.path.join(p, OWN_PLUGIN))]
    paths: list = []
    for path in candidates:
        if path and path not in paths:
            paths.append(path)
    own = [p for p in paths if os.path.isfile(os.path.join(p, OWN_PLUGIN))]
    return os.pathsep.join(own[:1] + [p for p in paths if p not in own[:1]])


def search_path(environ=None) -> str:
    """``PATH`` with this Python's folder first: the ``ansible-playbook`` that ansible-runner starts
    is the one of this Python's (virtual) environment, whatever the caller's ``PATH`` says."""
    environ = os.environ if environ is None else environ
    here = os.path.dirname(sys.executable)
    rest = [p for p in (environ.get("PATH") or os.defpath).split(os.pathsep) if p and p != here]
    return os.pathsep.join([here] + rest)


def run_strategy(environ=None, core_version=None) -> str:
    """The strategy of the runs: ``$APPGRAPH_ANSIBLE_STRATEGY``, else the collection's own with an
    ansible-core it was tested with, else linear."""
    environ = os.environ if environ is None else environ
    if environ.get(STRATEGY_ENV):
        return environ[STRATEGY_ENV]
    if core_version is None:
        try:
            core_version = metadata.version("ansible-core")     # the ansible-playbook the runs start
        except metadata.PackageNotFoundError:
            core_version = ""
    return STRATEGY if str(core_version).startswith(STRATEGY_TESTED_WITH) else FALLBACK_STRATEGY


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join((text or "").rstrip("\n").splitlines()[-lines:])


def run_playbook(directory: str, playbook: list, hosts: dict, *, forks: int, deadline: float | None,
                 check: bool = False, diff: bool = False, roles_path=(), monotonic=time.monotonic,
                 runner=None) -> RunOutcome:
    """Run ``playbook`` (a list of plays) over ``hosts`` ({name: variables}) from ``directory``."""
    if runner is None:
        import ansible_runner  # pylint: disable=import-outside-toplevel
        runner = ansible_runner.run
    os.makedirs(os.path.join(directory, "project"), 0o700, exist_ok=True)
    os.makedirs(os.path.join(directory, "inventory"), 0o700, exist_ok=True)
    atomic_write(os.path.join(directory, "project", "main.yml"),
                 json.dumps(playbook, indent=1).encode("utf-8"), mode=0o600)
    name, text = inventory_file(hosts)
    atomic_write(os.path.join(directory, "inventory", name), text.encode("utf-8"), mode=0o600)
    # ANSIBLE_STDOUT_CALLBACK: under ansible-runner (AWX, a test) the module inherits its
    # awx_display, which this run's awx_display would then wrap in itself.
    envvars = {"ANSIBLE_COLLECTIONS_PATH": collections_path(), "PATH": search_path(),
               "ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_RETRY_FILES_ENABLED": "False",
               "ANSIBLE_NOCOLOR": "True", "ANSIBLE_PIPELINING": "True", "ANSIBLE_LOCALHOST_WARNING": "False",
               "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False", "ANSIBLE_HOST_PATTERN_MISMATCH": "ignore",
               "ANSIBLE_STRATEGY": run_strategy()}
    if roles_path:
        envvars["ANSIBLE_ROLES_PATH"] = os.pathsep.join(roles_path)
    cmdline = " ".join(flag for flag, wanted in (("--check", check), ("--diff", diff)) if wanted)

    killed: list = []

    def out_of_time() -> bool:
        if deadline is None or monotonic() < deadline:
            return False
        if not killed:
            # ansible-runner kills ansible-playbook's process group only, and every worker of
            # ansible-core 2.19 runs in a session of its own: end the whole tree first.
            killed.append(kill_tree(os.path.join(directory, "inventory")))
        return True

    ident = "run"
    inventory = os.path.join(directory, "inventory")
    launcher = supervised(directory, inventory, envvars["ANSIBLE_COLLECTIONS_PATH"])
    if launcher:
        # ansible-runner names the playbook itself only when it starts ansible-playbook
        envvars[PARENT_ENV] = str(os.getpid())
        cmdline = " ".join(part for part in (cmdline, "main.yml") if part)
    result = runner(private_data_dir=directory, playbook="main.yml", inventory=inventory,
                    forks=max(1, forks), cmdline=cmdline or None, envvars=envvars, quiet=True, ident=ident,
                    cancel_callback=out_of_time, binary=launcher,
                    settings={"pexpect_timeout": POLL})
    return read_outcome(result, directory, ident, list(hosts), timed_out=bool(killed) or out_of_time())


def supervised(directory: str, marker: str, collections: str) -> str | None:
    """A launcher in ``directory`` that starts ``ansible-playbook`` under ``ansible_supervisor``
    (so that the run dies with this process); None when the collection is not on disk to run it
    from (``collections``: the run's collections path), or there is no ``ansible-playbook``
    (ansible-runner then says so itself)."""
    root = next((p for p in collections.split(os.pathsep) if os.path.isfile(os.path.join(p, SUPERVISOR))),
                None)
    program = shutil.which("ansible-playbook", path=search_path())
    if root is None or program is None:
        return None
    boot = ("import sys; sys.path.insert(0, %r); "
            "from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.ansible_supervisor "
            "import main; sys.exit(main())" % root)
    launcher = os.path.join(directory, "ansible-playbook")
    text = "#!/bin/sh\nexec %s -c %s %s %s \"$@\"\n" % tuple(shlex.quote(p) for p in (sys.executable, boot, program,
                                                                                      marker))
    atomic_write(launcher, text.encode("utf-8"), mode=0o700)
    return launcher


def _processes() -> dict:
    """``{pid: (parent pid, command line)}`` of every process this user may see (Linux's /proc)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as handle:
                stat = handle.read().decode("utf-8", "replace")
            with open("/proc/%s/cmdline" % name, "rb") as handle:
                cmdline = handle.read().decode("utf-8", "replace")
        except OSError:
            continue            # gone meanwhile
        found[int(name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    return found


def _descendants(processes: dict, roots) -> set:
    children: dict = {}
    for pid, (parent, _cmdline) in processes.items():
        children.setdefault(parent, []).append(pid)
    found, stack = set(), list(roots)
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, ()))
    return found


def kill_tree(marker: str) -> int:
    """SIGKILL every process of this process's whose command line names ``marker`` (the run's
    ansible-playbook), and all their descendants: frozen first (SIGSTOP), so that none forks a
    child nobody sees; return how many."""
    frozen: set = set()
    for _round in range(3):
        processes = _processes()
        mine = _descendants(processes, [os.getpid()])
        roots = [pid for pid in mine if marker in processes[pid][1] and pid != os.getpid()]
        tree = _descendants(processes, roots) - frozen - {os.getpid()}
        if not tree:
            break
        for pid in tree:
            _signal(pid, signal.SIGSTOP)
        frozen |= tree
    for pid in frozen:
        _signal(pid, signal.SIGKILL)
    return len(frozen)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def read_outcome(result, directory: str, ident: str, hosts: list, timed_out: bool = False) -> RunOutcome:
    """Each host's outcome from the run's events (``result`` is ansible-runner's Runner)."""
    events = list(result.events)
    log_file = os.path.join(directory, "artifacts", ident, "stdout")
    outcome = RunOutcome(ident=ident, directory=directory, rc=result.rc, status=result.status, log_file=log_file,
                         output_tail=tail(_read(log_file)), timed_out=timed_out)
    stats = next((e.get("event_data") or {} for e in events if e.get("event") == "playbook_on_stats"), None)
    lines, failures = _per_host(events)
    for host in hosts:
        log = "\n".join(lines.get(host, []))
        if stats is None:
            why = "the run was killed at the operation's deadline" if timed_out else \
                "the run ended without finishing (ansible-runner status %s, rc %s)" % (result.status, result.rc)
            outcome.hosts[host] = HostOutcome(False, why, log or outcome.output_tail)
        elif host in (stats.get("failures") or {}) or host in (stats.get("dark") or {}):
            outcome.hosts[host] = HostOutcome(False, failures.get(host, "a task failed"), log)
        else:
            outcome.hosts[host] = HostOutcome(True, "", log, bool((stats.get("changed") or {}).get(host)))
    return outcome


def _per_host(events) -> tuple:
    """``({host: [output lines]}, {host: first failure})`` from the job events."""
    lines: dict = {}
    failures: dict = {}
    for event in events:
        data = event.get("event_data") or {}
        host = data.get("host")
        if not host:
            continue
        if event.get("stdout"):
            lines.setdefault(host, []).append(event["stdout"])
        kind = event.get("event")
        if host not in failures and (kind == "runner_on_unreachable"
                                     or (kind == "runner_on_failed" and not data.get("ignore_errors"))):
            failures[host] = "%s task %r: %s" % ("unreachable in" if kind == "runner_on_unreachable" else "failed",
                                                 data.get("task") or "?", _why(data.get("res") or {}))
    return lines, failures


def _why(res: dict) -> str:
    for key in ("msg", "stderr", "module_stderr", "stdout"):
        text = res.get(key)
        if text:
            return tail(str(text), 5)
    return "no message"


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""
