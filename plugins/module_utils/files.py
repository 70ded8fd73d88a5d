# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where appgraph keeps files by default, and writing files so that a reader sees the old content
or the new one, never half of one."""

from __future__ import annotations

import os

# The per-user folder of everything appgraph keeps by default (the store, local servers, work files).
STATE_DIR = os.path.join("~", ".local", "state", "appgraph")


def state_path(*parts: str) -> str:
    """``~/.local/state/appgraph/<parts>`` (not expanded: callers expand it when they use it)."""
    return os.path.join(STATE_DIR, *parts)


def atomic_write(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it.

    The temporary name is unique per call (several processes may write one path at once), the
    file gets ``mode`` before anything is in it, and it is removed again if the write fails."""
    tmp = "%s.tmp-%s" % (path, os.urandom(6).hex())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)          # exactly ``mode``, whatever the umask
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
