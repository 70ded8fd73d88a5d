# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throughput of the ``appgraph.lifecycle.events`` source into a real ansible-rulebook (feedback
on): 10,000 events committed in transactions of 100, each taken by a rule whose `debug` action
prints its number.

    .venv/bin/python bench/events_throughput.py
    .venv/bin/python bench/events_throughput.py --store postgresql://postgres@127.0.0.1:5432/postgres

Events/s are counted from the first commit to the last action line; lost = numbers never seen,
out of order = lines whose number is below the one before. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import queue
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=wrong-import-position
from events_common import Marks, append, bench_store, warm_up  # noqa: E402

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store  # noqa: E402


SOURCE = importlib.import_module("ansible_collections.appgraph.lifecycle.extensions.eda.plugins.event_source.events")


def source_alone(dsn: str, count: int, workdir: str) -> float:
    """Events/s of the source by itself: into an asyncio queue of one, each handed back as feedback."""
    with Store(dsn) as store:
        for first in range(0, count, 100):
            append(store, "bench_alone", range(first, min(first + 100, count)))

    async def run() -> float:
        events, feedback = asyncio.Queue(1), asyncio.Queue(1)
        settings = SOURCE.settings_from({"store": dsn, "since": "earliest", "kinds": ["bench_alone"], "feedback": True,
                                         "cursor": os.path.join(workdir, "alone.cursor")}, environ={})
        task = asyncio.ensure_future(SOURCE.OutboxSource(events, settings, feedback).run())
        started = time.perf_counter()
        for _n in range(count):
            await feedback.put(await events.get())
        elapsed = time.perf_counter() - started
        task.cancel()
        return count / elapsed
    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--store", help="a PostgreSQL server to make a database on (default: a SQLite file)")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--poll-interval", type=float, default=0.5)
    args = parser.parse_args()
    kind = "bench_throughput"
    seen: list = []
    with bench_store(args.store) as dsn, tempfile.TemporaryDirectory(prefix="appgraph-bench-") as workdir, \
            Store(dsn) as store:
        marks = Marks(dsn, kind, args.poll_interval, workdir)
        try:
            warm_up(store, marks, kind)
            started = time.time()
            for first in range(0, args.count, 100):
                append(store, kind, range(first, min(first + 100, args.count)))
            committed = time.time()
            last_at = started
            while len(seen) < args.count:
                try:
                    n, last_at = marks.next(timeout=30)
                except queue.Empty:
                    break
                seen.append(n)
        finally:
            marks.stop()
        alone = source_alone(dsn, args.count, workdir)
    lost = set(range(args.count)) - set(seen)
    out_of_order = sum(1 for a, b in zip(seen, seen[1:]) if b < a)
    elapsed = last_at - started
    print("store %s, %d events (committed in %.2f s): %.0f events/s through the rulebook (%.2f s), "
          "%d lost, %d out of order, %d twice" % ("postgresql" if args.store else "sqlite", args.count,
                                                  committed - started, len(seen) / elapsed if elapsed else 0,
                                                  elapsed, len(lost), out_of_order, len(seen) - len(set(seen))))
    print("store %s, the source alone (no rule engine): %.0f events/s" % ("postgresql" if args.store else "sqlite",
                                                                          alone))


if __name__ == "__main__":
    main()
