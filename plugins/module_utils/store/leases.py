# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lease owners: who runs an operation now, and whether that owner can still finish it."""

from __future__ import annotations

import os
import socket
import uuid


def new_owner() -> str:
    """A lease owner name: host, process id, and a nonce (pids are reused)."""
    return "%s:%d:%s" % (socket.gethostname(), os.getpid(), uuid.uuid4().hex[:8])


def lease_is_live(owner: str | None, expires: float | None, now: float) -> bool:
    if not owner or expires is None or expires <= now:
        return False
    return not process_is_gone(owner)


def process_is_gone(owner: str | None) -> bool:
    """Whether ``owner`` ran on this host and its process is gone: nobody will finish its work.
    (Of another host's owner nothing is known: False.)"""
    pid = _local_pid(owner)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:         # a process of another user has that pid
        pass
    return False


def running_here(owner: str | None) -> bool:
    """Whether ``owner`` ran on this host and a process of its pid still runs (the pid may have been
    reused: a caller that must never touch a live run's files waits for it to end as well)."""
    return _local_pid(owner) is not None and not process_is_gone(owner)


def _local_pid(owner: str | None) -> int | None:
    host, _sep, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    return int(pid) if host == socket.gethostname() and pid.isdigit() else None
