# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a ``local`` server is made of: its sandbox folder, what its files say of its agent, and
what may be asked of it (names, specs, commands)."""

from __future__ import annotations

import fcntl
import os
import re
from dataclasses import dataclass
from typing import Any

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.statuses import (
    RUNNING, STARTING, STOPPED, STOPPING)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
NAME_HINT = "use 1-100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit"


@dataclass(frozen=True)
class Sandbox:
    """Where one server's files are."""

    root: str
    name: str

    @property
    def dir(self) -> str:
        return os.path.join(self.root, self.name)

    def path(self, filename: str) -> str:
        return os.path.join(self.root, self.name, filename)


@dataclass(frozen=True)
class AgentView:
    """What the files say about a sandbox's agent right now."""

    pid: int | None = None
    start_ticks: int | None = None
    alive: bool = False
    port: int | None = None  # set once the agent listens (and only for the launched pid)
    token: str = ""
    ready: bool = False
    stop_requested_at: float | None = None


def lock_held(path: str) -> bool:
    """Whether another process holds the flock on ``path`` (the agent of a sandbox holds agent.lock)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)            # closing releases a lock we got
    return False


def state_of(agent: AgentView) -> str:
    if not agent.alive:
        return STOPPED
    if agent.stop_requested_at is not None:
        return STOPPING
    return RUNNING if agent.ready else STARTING


def check_spec(spec: ServerSpec) -> None:
    if not isinstance(spec.name, str) or not NAME_RE.match(spec.name):
        raise InputError("%r is not a valid local server name" % (spec.name,), key="name", hint=NAME_HINT)
    if not isinstance(spec.client_token, str) or not spec.client_token:
        raise InputError("must be a non-empty string", key="client_token")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in (spec.tags or {}).items()):
        raise InputError("tags must map strings to strings", key="tags")
    for key in spec.options or {}:
        raise InputError("unknown server option for provider 'local'", key=str(key),
                         hint="the local provider takes no per-server options")


def check_command(argv: Any, env: Any) -> None:
    if isinstance(argv, str) or not (isinstance(argv, (list, tuple)) and argv
                                     and all(isinstance(a, str) for a in argv)):
        raise InputError("must be a non-empty list of strings (never a shell string)", key="argv")
    if env is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise InputError("must map strings to strings", key="env")
