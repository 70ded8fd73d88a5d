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
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=wrong-import-position
import _common  # noqa: E402,F401 pylint: disable=unused-import
from ansible_collections.appgraph.lifecycle.plugins.module_utils import pools  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ProviderServer  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import Store  # noqa: E402

START_TIME = 1.0


class SlowStart:
    """In memory; a server answers ``has_started`` START_TIME seconds after its ``create_server``."""

    def __init__(self):
        self.lock = threading.Lock()
        self.made = {}          # provider id -> monotonic time of the first create_server
        self.calls = 0

    def identity(self):
        return "bench:slow-start"

    def create_server(self, spec):
        provider_id = "id-" + spec.name
        with self.lock:
            self.calls += 1
            self.made.setdefault(provider_id, time.monotonic())
        return ProviderServer(provider_id, spec.name, "starting", "127.0.0.1", dict(spec.tags), spec.client_token,
                              time.time())

    def has_started(self, provider_id):
        with self.lock:
            self.calls += 1
            made = self.made[provider_id]
        return time.monotonic() - made >= START_TIME

    def stop_server(self, provider_id):
        pass

    def has_stopped(self, provider_id):
        return True

    def delete_server(self, provider_id):
        with self.lock:
            self.made.pop(provider_id, None)

    def has_been_deleted(self, provider_id):
        return True


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 50, 200])
    parser.add_argument("--satisfied", type=int, default=1000, help="size of the satisfied-pool figure")
    parser.add_argument("--backoff", type=float, default=0.05, help="verify backoff (initial = max), seconds")
    parser.add_argument("--store", help="a postgresql:// URL (default: a new SQLite file); the bench's rows are "
                        "removed at the end")
    return parser.parse_args(argv)


class CountingDb:
    """Counts the statements a store connection runs (after it was opened)."""

    def __init__(self, db, seen):
        self._db, self._seen = db, seen

    def __getattr__(self, name):
        return getattr(self._db, name)

    def query(self, sql, params=()):
        self._seen.append(sql)
        return self._db.query(sql, params)

    def execute(self, sql, params=()):
        self._seen.append(sql)
        return self._db.execute(sql, params)


def ensure_figure(store, count, concurrency, backoff):
    provider = SlowStart()
    service = pools.PoolService(store, provider_factory=lambda name, options: provider, concurrency=concurrency,
                                backoff_initial=backoff, backoff_max=backoff)
    pool = "bench-c%d-%s" % (concurrency, os.urandom(3).hex())
    began = time.perf_counter()
    result = service.ensure(pool, count, "slow")
    elapsed = time.perf_counter() - began
    if result.failed or result.counts != {"running": count}:
        raise RuntimeError("ensure(%d) did not get %d running servers: %s" % (count, count, result.failed[:3]))
    bound = START_TIME * math.ceil(count / concurrency)
    print("ensure(%d) concurrency %d: %.3f s; bound %.3f s; ratio %.3f; provider calls %d"
          % (count, concurrency, elapsed, bound, elapsed / bound, provider.calls))
    service.absent(pool)
    forget(store, pool)
    return elapsed, bound


def satisfied_figure(store, count, backoff):
    provider = SlowStart()
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
    provider.calls, built[:] = 0, []
    seen = []
    real_store = pools.Store

    class Counting(real_store):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.db = CountingDb(self.db, seen)

    pools.Store = Counting
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
                                                     len(seen) // 7, provider.calls, len(built)))
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
