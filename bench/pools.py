# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of server pools: ``ensure(200)`` on a provider whose servers take 1 s to start, and
``ensure(1000)`` when the pool is already there.

    .venv/bin/python bench/pools.py                       # concurrency 20, 50, 200; SQLite store
    .venv/bin/python bench/pools.py --store postgresql://...   # the same on PostgreSQL

Real time and real threads: ``has_started`` becomes true 1 s after ``create_server``. The bound of
``ensure(n)`` is ``start time x ceil(n / concurrency)`` (waves of ``concurrency`` servers, each
taking the start time); the verify backoff is 0.05 s (a setting of ``ServerService``), so polling
adds at most one period to a server's start. Prints one line per figure; asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=wrong-import-position
import _common  # noqa: E402,F401 pylint: disable=unused-import
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers import pools  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store  # noqa: E402
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider  # noqa: E402
from ansible_collections.appgraph.lifecycle.tests.helpers.store import counting_store  # noqa: E402

START_TIME = 1.0


def slow_start():
    """In memory; a server answers ``has_started`` START_TIME seconds after its ``create_server``."""
    return FakeProvider(identity="bench:slow-start", start_time=START_TIME)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 50, 200])
    parser.add_argument("--satisfied", type=int, default=1000, help="size of the satisfied-pool figure")
    parser.add_argument("--backoff", type=float, default=0.05, help="verify backoff (initial = max), seconds")
    parser.add_argument("--store", help="a postgresql:// URL (default: a new SQLite file); the bench's rows are "
                        "removed at the end")
    return parser.parse_args(argv)


def ensure_figure(store, count, concurrency, backoff):
    provider = slow_start()
    service = pools.PoolService(store, provider_factory=lambda name, options: provider, concurrency=concurrency,
                                backoff_initial=backoff, backoff_max=backoff)
    pool = "bench-c%d-%s" % (concurrency, os.urandom(3).hex())
    began = time.perf_counter()
    result = service.ensure(pool, count, "slow")
    elapsed = time.perf_counter() - began
    if result.failed_servers or result.counts != {"running": count}:
        raise RuntimeError("ensure(%d) did not get %d running servers: %s" % (count, count, result.failed_servers[:3]))
    bound = START_TIME * math.ceil(count / concurrency)
    print("ensure(%d) concurrency %d: %.3f s; bound %.3f s; ratio %.3f; provider calls %d"
          % (count, concurrency, elapsed, bound, elapsed / bound, len(provider.server_calls())))
    service.absent(pool)
    forget(store, pool)
    return elapsed, bound


def satisfied_figure(store, count, backoff):
    provider = slow_start()
    built = []

    def factory(name, options):
        built.append(name)
        return provider

    service = pools.PoolService(store, provider_factory=factory, concurrency=200, backoff_initial=backoff,
                                backoff_max=backoff)
    pool = "bench-sat-%s" % os.urandom(3).hex()
    began = time.perf_counter()
    service.ensure(pool, count, "slow")
    print("ensure(%d) from nothing, concurrency 200: %.2f s" % (count, time.perf_counter() - began))
    provider.calls.clear()
    built.clear()
    seen = []
    real_store = pools.Store
    pools.Store = counting_store(real_store, seen)
    try:
        times = []
        for _run in range(7):
            began = time.perf_counter()
            result = service.ensure(pool, count, "slow")
            times.append(time.perf_counter() - began)
            assert not result.changed
    finally:
        pools.Store = real_store
    print("ensure(%d) satisfied: median %.1f ms, best %.1f ms (7 runs); store queries per call %d; "
          "provider calls %d, providers built %d" % (count, statistics.median(times) * 1000, min(times) * 1000,
                                                     len(seen) // 7, len(provider.server_calls()), len(built)))
    service.absent(pool)
    forget(store, pool)


def forget(store, pool):
    """Remove the bench's rows (a PostgreSQL store may be shared with tests): its events stay."""
    with Store(store) as db, db.transaction(None) as tx:
        tx.db.execute("DELETE FROM servers WHERE server_type = ? AND application IS NULL", (pool,))
        tx.db.execute("DELETE FROM server_types WHERE name = ?", (pool,))


def main(argv=None):
    args = parse_args(argv)
    folder = None
    store = args.store
    if store is None:
        folder = tempfile.mkdtemp(prefix="appgraph-bench-pools-")
        store = os.path.join(folder, "store.db")
    try:
        with Store(store):
            pass
        print("store: %s; start time %.1f s; verify backoff %.3f s; load average %s"
              % ("PostgreSQL" if "://" in store else "SQLite", START_TIME, args.backoff,
                 " ".join("%.2f" % x for x in os.getloadavg())))
        for concurrency in args.concurrency:
            ensure_figure(store, args.count, concurrency, args.backoff)
        if args.satisfied:
            satisfied_figure(store, args.satisfied, args.backoff)
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
