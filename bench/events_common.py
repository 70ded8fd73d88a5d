# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the event-source benchmarks share: a store (a temporary SQLite file, or a PostgreSQL
database of its own made on the server given), and a real ansible-rulebook whose `debug` action
prints one marked line per event, read as it comes with the time it came."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=wrong-import-position
from _common import REPO, dies_with_us  # noqa: E402

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store  # noqa: E402

BIN = os.path.dirname(sys.executable)

RULEBOOK = """\
- name: bench
  hosts: localhost
  sources:
    - name: outbox
      appgraph.lifecycle.events:
        kinds: [%(kind)s]
        since: latest
        feedback: true
        poll_interval: %(poll)s
  rules:
    - name: every event
      condition: event.kind == "%(kind)s"
      actions:
        - debug:
            msg: "MARK {{ event.data.n }}"
"""


@contextmanager
def bench_store(server: str | None):
    """A store for one run: a temporary SQLite file, or a new database on ``server`` (dropped after)."""
    if not server:
        with tempfile.TemporaryDirectory(prefix="appgraph-bench-") as folder:
            path = os.path.join(folder, "store.db")
            Store(path).close()
            yield path
        return
    import psycopg  # pylint: disable=import-outside-toplevel
    name = "appgraph_bench_%s" % uuid.uuid4().hex[:8]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute("CREATE DATABASE %s" % name)
    dsn = server.rsplit("/", 1)[0] + "/" + name
    Store(dsn).close()
    try:
        yield dsn
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute("DROP DATABASE %s WITH (FORCE)" % name)


def append(store: Store, kind: str, numbers) -> float:
    """One transaction with an event per number; the time right after its commit."""
    with store.transaction(None) as tx:
        tx.append_events([(None, kind, {"n": n}) for n in numbers])
    return time.time()


class Marks:
    """A running ansible-rulebook; ``next(timeout)`` is ``(n, time seen)`` of its next MARK line."""

    def __init__(self, dsn: str, kind: str, poll: float, workdir: str):
        rulebook = os.path.join(workdir, "bench.yml")
        with open(rulebook, "w", encoding="utf-8") as handle:
            handle.write(RULEBOOK % {"kind": kind, "poll": poll})
        env = dict(os.environ, APPGRAPH_STORE=dsn, XDG_STATE_HOME=os.path.join(workdir, "state"),
                   PYTHONUNBUFFERED="1", ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collection"),
                   PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        self.proc = subprocess.Popen([os.path.join(BIN, "ansible-rulebook"), "-r", rulebook, "--persistence-id",
                                      "bench-%s" % uuid.uuid4().hex[:6]], cwd=workdir, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=dies_with_us)  # pylint: disable=subprocess-popen-preexec-fn
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        mark = re.compile(rb"^MARK (-?\d+)\s*$")
        for line in self.proc.stdout:
            found = mark.match(line)
            if found:
                self.lines.put((int(found.group(1)), time.time()))

    def next(self, timeout: float = 60.0):
        return self.lines.get(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def warm_up(store: Store, marks: Marks, kind: str) -> None:
    """Events until the rulebook's source reads (since: latest misses what precedes its start)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        append(store, kind, [-1])
        try:
            marks.next(timeout=2)
            break
        except queue.Empty:
            continue
    else:
        raise SystemExit("the rulebook did not start in 180 s")
    while True:                    # drop the other warm-up marks
        try:
            marks.next(timeout=1.5)
        except queue.Empty:
            return
