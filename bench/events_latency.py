# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Latency from the commit of an event to the start of the rulebook's action for it, through the
``appgraph.lifecycle.events`` source and a real ansible-rulebook (feedback on).

    .venv/bin/python bench/events_latency.py                          # SQLite, polled (0.5 s default)
    .venv/bin/python bench/events_latency.py --poll-interval 0.1
    .venv/bin/python bench/events_latency.py --store postgresql://postgres@127.0.0.1:5432/postgres  # NOTIFY

One event at a time, each after a random pause (so commits fall anywhere in a poll period); the
action is a `debug` whose line the benchmark reads from the rulebook's output as it comes. Prints
median, p95, min and max; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=wrong-import-position
from events_common import Marks, append, bench_store, warm_up  # noqa: E402

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--store", help="a PostgreSQL server to make a database on (default: a SQLite file)")
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--poll-interval", type=float, default=0.5)
    args = parser.parse_args()
    kind = "bench_latency"
    with bench_store(args.store) as dsn, tempfile.TemporaryDirectory(prefix="appgraph-bench-") as workdir, \
            Store(dsn) as store:
        marks = Marks(dsn, kind, args.poll_interval, workdir)
        try:
            warm_up(store, marks, kind)
            latencies = []
            rng = random.Random(7)
            for n in range(args.count):
                time.sleep(rng.uniform(0, args.poll_interval))
                committed = append(store, kind, [n])
                seen_n, seen_at = marks.next()
                while seen_n != n:
                    seen_n, seen_at = marks.next()
                latencies.append(seen_at - committed)
        finally:
            marks.stop()
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(round(0.95 * len(latencies))) - 1)]
    print("store %s, poll_interval %.2f s, %d events: commit -> action median %.1f ms, p95 %.1f ms "
          "(min %.1f, max %.1f)" % ("postgresql (NOTIFY)" if args.store else "sqlite (polling)", args.poll_interval,
                                    len(latencies), 1000 * statistics.median(latencies), 1000 * p95,
                                    1000 * latencies[0], 1000 * latencies[-1]))


if __name__ == "__main__":
    main()
