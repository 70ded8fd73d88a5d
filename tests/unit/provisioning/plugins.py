# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sub-provisioners the tests load through real ``appgraph.provisioners`` entry points: a database
that fails, one that blocks until a file appears (a process to kill in the middle), one whose export
dump is a pipe that stalls (an export to kill in the middle), and storage trees that write down every
undo (to count them) or refuse to be undone."""

from __future__ import annotations

import os
import threading
import time

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import PermanentError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.sqlite_db import SQLiteDatabase
from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.storage import TenantTree


def wait_for(path: str, limit: float = 60.0) -> None:
    """Until ``path`` exists (the test's go-file), a minute at most: a test that fails never hangs."""
    deadline = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)


class FailingDatabase(SQLiteDatabase):
    """Makes its file, then fails: what it made must be undone too."""

    name = "failing"

    def provision(self, request, parts):
        super().provision(request, parts)
        raise PermanentError("the database server refused the tenant")


class BlockingDatabase(SQLiteDatabase):
    """Writes ``<directory>/blocked`` once inside its step, then waits (up to a minute) for
    ``<directory>/go``: the crash tests kill its process there."""

    name = "blocking"

    def provision(self, request, parts):
        part = super().provision(request, parts)
        directory = os.path.dirname(part["path"])
        with open(os.path.join(directory, "blocked"), "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        wait_for(os.path.join(directory, "go"))
        return part


class HeldDumpDatabase(SQLiteDatabase):
    """A SQLite database whose export, while ``<directory>/<instance id>.hold`` exists, is served
    through a named pipe, as a database server streams its dump: read once whole (to hash it), then a
    second time (into the archive), where it stalls half way, once ``<instance id>.held`` is written,
    until ``<instance id>.go`` appears (up to a minute). With ``.hold`` saying ``dump``, the first read
    stalls instead (the archive not begun yet). The crash tests kill the exporting process there."""

    name = "held_dump"

    def export(self, request, part, parts, path):
        directory = os.path.dirname(part["path"])
        hold = os.path.join(directory, request.instance_id + ".hold")
        if not os.path.exists(hold):
            super().export(request, part, parts, path)
            return
        with open(hold, encoding="utf-8") as handle:
            stall_at = 0 if handle.read().strip() == "dump" else 1
        super().export(request, part, parts, path + ".whole")
        with open(path + ".whole", "rb") as handle:
            body = handle.read()
        os.remove(path + ".whole")
        os.mkfifo(path, 0o600)
        marker = os.path.join(directory, request.instance_id)
        threading.Thread(target=_serve, args=(path, body, stall_at, marker), daemon=True).start()


def _serve(fifo: str, body: bytes, stall_at: int, marker: str) -> None:
    for reading in range(2):
        pipe = open(fifo, "wb")  # pylint: disable=consider-using-with  # waits for the reader
        if reading == stall_at:
            pipe.write(body[:len(body) // 2])
            pipe.flush()
            with open(marker + ".held", "w", encoding="utf-8") as handle:
                handle.write(str(os.getpid()))
            wait_for(marker + ".go")
            pipe.write(body[len(body) // 2:])
        else:
            pipe.write(body)
        # A new pipe under the name before this reader sees its end: the next reader (the archive)
        # opens that one, never this one again.
        os.remove(fifo)
        os.mkfifo(fifo, 0o600)
        pipe.close()


class CountedTree(TenantTree):
    """A tree whose every undo is a line in ``<path>.undone`` (kept after the tree is gone)."""

    name = "counted_tree"

    def deprovision(self, request, part, parts, keep_data=False):
        with open(part["path"] + ".undone", "a", encoding="utf-8") as handle:
            handle.write("undo\n")
        return super().deprovision(request, part, parts, keep_data)


class StubbornTree(TenantTree):
    """A tree that cannot be undone while ``<path>.stuck`` exists."""

    name = "stubborn_tree"

    def deprovision(self, request, part, parts, keep_data=False):
        if os.path.exists(part["path"] + ".stuck"):
            raise PermanentError("the storage server is read-only")
        return super().deprovision(request, part, parts, keep_data)


class BlockingTree(TenantTree):
    """A tree whose undo writes ``<path>.blocked`` and waits (up to a minute) for ``<path>.go``."""

    name = "blocking_tree"

    def deprovision(self, request, part, parts, keep_data=False):
        with open(part["path"] + ".blocked", "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        wait_for(part["path"] + ".go")
        return super().deprovision(request, part, parts, keep_data)
