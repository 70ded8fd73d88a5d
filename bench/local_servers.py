# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the local provider: N real servers created, started, listed, used, stopped, deleted.

    .venv/bin/python bench/local_servers.py               # 50 servers
    .venv/bin/python bench/local_servers.py --count 1000  # the full figure (about 6 MB of RAM each)

Prints one figure per line. Every agent is stopped and the root removed at the end, even on error
or Ctrl-C (a root given with --root is emptied of the servers this run made, then left).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "collection"))

# pylint: disable=wrong-import-position
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider  # noqa: E402

POLL = 0.01


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="servers to start (default 50)")
    parser.add_argument("--workers", type=int, default=1, help="threads calling create_server (default 1)")
    parser.add_argument("--heartbeat-interval", type=float, default=60.0)
    parser.add_argument("--start-delay", type=float, default=0.0)
    parser.add_argument("--execs", type=int, default=200, help="exec round trips to time (default 200)")
    parser.add_argument("--root", help="directory of the sandboxes (default: a new temporary one)")
    return parser.parse_args(argv)


def timed(function, *args):
    began = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - began, result


def wait_all(check, ids, what):
    """Poll ``check`` over ``ids`` until every one is true (at most 10 minutes)."""
    pending, deadline = set(ids), time.monotonic() + 600
    while pending:
        pending = {i for i in pending if not check(i)}
        if pending and time.monotonic() > deadline:
            raise RuntimeError("%d servers never %s" % (len(pending), what))
        if pending:
            time.sleep(POLL)


def create_all(provider, names, workers):
    specs = [ServerSpec(name, "bench", "bench-" + name, {"bench": "yes"}) for name in names]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(provider.create_server, specs))


def memory(provider):
    """Average RSS and PSS (shared pages split between sharers) of the agents, in MiB."""
    rss, pss = [], []
    for server in provider.list_servers():
        fields = read_rollup(server.extra["pid"])
        if fields:
            rss.append(fields["Rss"] / 1024)
            pss.append(fields["Pss"] / 1024)
    return (statistics.mean(rss), statistics.mean(pss)) if rss else (0.0, 0.0)


def read_rollup(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid, encoding="ascii") as handle:
            lines = handle.read().splitlines()[1:]
    except (OSError, TypeError):
        return None
    return {line.split(":")[0]: int(line.split()[1]) for line in lines}


def exec_latency(provider, name, count):
    times = []
    for _round in range(count):
        times.append(timed(provider.exec, name, ["true"], {}, 10)[0])
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def stop_and_delete(provider, names):
    for name in names:
        provider.stop_server(name)
    wait_all(provider.has_stopped, names, "stopped")
    for name in names:
        provider.delete_server(name)
    wait_all(provider.has_been_deleted, names, "were deleted")


def run(args, root):
    provider = LocalProvider(root=root, heartbeat_interval=args.heartbeat_interval, start_delay=args.start_delay)
    names = ["bench-%04d" % i for i in range(args.count)]
    report = []

    def say(label, value):
        report.append((label, value))
        print("%-44s %s" % (label, value), flush=True)

    began = time.perf_counter()
    create_calls = timed(create_all, provider, names, args.workers)[0]
    say("create_server x%d (calls return)" % args.count, "%.2f s (%.1f ms each)"
        % (create_calls, 1000 * create_calls / args.count))
    wait_all(provider.has_started, names, "started")
    say("create -> all has_started", "%.2f s" % (time.perf_counter() - began))
    rss, pss = memory(provider)
    say("agent memory (avg RSS / PSS)", "%.1f MiB / %.1f MiB" % (rss, pss))
    cold, servers = timed(LocalProvider(root=root).list_servers)
    assert len(servers) == args.count, len(servers)
    say("list_servers, cold (new provider object)", "%.3f s" % cold)
    warm = sorted(timed(provider.list_servers)[0] for _round in range(3))[1]
    say("list_servers, warm (median of 3)", "%.3f s" % warm)
    if args.execs:
        median, p95 = exec_latency(provider, names[0], args.execs)
        say("exec ['true'] round trip x%d (median / p95)" % args.execs, "%.1f ms / %.1f ms" % (1000 * median, 1000 * p95))
    elapsed = timed(stop_and_delete, provider, names)[0]
    say("stop + has_stopped + delete, all", "%.2f s" % elapsed)
    return report


def cleanup(root, remove_root):
    """Stop whatever is still running under ``root`` (killing after 5 s), then remove it."""
    provider = LocalProvider(root=root, stop_timeout=5.0)
    names = [s.provider_id for s in provider.list_servers() if s.extra["pid"]]
    for name in names:
        provider.stop_server(name)
    deadline = time.monotonic() + 15
    while names and time.monotonic() < deadline:
        names = [n for n in names if not provider.has_stopped(n)]
        time.sleep(0.05)
    if names:
        print("WARNING: %d agents still running under %s" % (len(names), root), file=sys.stderr)
    elif remove_root:
        shutil.rmtree(root, ignore_errors=True)


def main(argv=None):
    args = parse_args(argv)
    root = args.root or tempfile.mkdtemp(prefix="appgraph-bench-local-")
    print("local provider benchmark: %d servers under %s (%d CPUs)" % (args.count, root, os.cpu_count() or 0))
    try:
        run(args, root)
    finally:
        cleanup(root, remove_root=args.root is None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
