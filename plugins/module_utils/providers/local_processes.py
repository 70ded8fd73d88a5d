# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""POSIX process and file helpers of the ``local`` provider (``local.py``).

Processes are read from ``/proc`` where there is one: a pid is "alive" only while it is the
process that started at the recorded clock tick (a recycled pid is someone else), and a zombie
counts as gone. Files are small JSON or text files written atomically (``files.atomic_write``),
read as "missing" rather than failing when they are absent or half a directory is gone.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

from ansible_collections.appgraph.lifecycle.plugins.module_utils.files import atomic_write

POLL = 0.01  # seconds between checks while ``wait_gone`` waits for a process to go


# -- processes ---------------------------------------------------------------------------------

def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, session id, start time in clock ticks) from /proc, or None if there is no such pid."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return fields[0].decode(), int(fields[3]), int(fields[19])


def start_ticks(pid: int) -> int | None:
    if not os.path.isdir("/proc/self"):
        return None
    stat = proc_stat(pid)
    return stat[2] if stat else None


def pid_alive(pid: int, start_ticks: int | None = None) -> bool:
    """Whether ``pid`` runs and is the process that started at ``start_ticks`` (when known).

    Public: tests and the benchmark check processes the same way the provider does.

    A zombie counts as gone (and is reaped if it is our child: agents are children of the
    controller that launched them until that controller exits).
    """
    if os.path.isdir("/proc/self"):
        stat = proc_stat(pid)
        if stat is None or (start_ticks is not None and stat[2] != start_ticks):
            return False
        if stat[0] in ("Z", "X"):
            reap(pid)
            return False
        return True
    reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: its parent (or init) reaps it


def wait_gone(pid: int, start_ticks: int | None, timeout: float) -> bool:
    """Whether the process ``pid`` (started at ``start_ticks``) is gone within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid, start_ticks):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


def signal_pid(pid: int | None, signum: int) -> None:
    if pid is None:
        return
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def kill_session(sid: int | None) -> None:
    """SIGKILL the agent and every process left in its session (its commands' process groups).

    The agent is a session leader, and the commands it runs stay in its session (each in a process
    group of its own), so on Linux the session finds them even when the agent cannot be asked.
    """
    if sid is None:
        return
    for pid in session_members(sid):
        signal_pid(pid, signal.SIGKILL)
    signal_pid(sid, signal.SIGKILL)


def session_members(sid: int) -> list[int]:
    try:
        names = os.listdir("/proc")
    except FileNotFoundError:
        return []
    members = []
    for name in names:
        if name.isdigit() and int(name) != sid:
            stat = proc_stat(int(name))
            if stat is not None and stat[1] == sid:
                members.append(int(name))
    return members


# -- files -------------------------------------------------------------------------------------

def write_json(path: str, data: dict) -> None:
    atomic_write(path, json.dumps(data, sort_keys=True).encode())


def read_json(path: str) -> dict | None:
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def log_tail(path: str, lines: int = 5) -> str:
    text = read_text(path)
    if not text:
        return ""
    return "; last lines of %s:\n%s" % (path, "\n".join(text.splitlines()[-lines:]))


def module_source(module: Any) -> str:
    """The source of ``module``, from a file or from the zip Ansible ships modules in."""
    loader = getattr(module, "__loader__", None)
    source = loader.get_source(module.__name__) if loader is not None else None
    if source is None:
        with open(module.__file__, encoding="utf-8") as handle:
            source = handle.read()
    return source
