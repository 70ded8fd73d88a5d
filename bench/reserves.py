# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmarks of warm reserves (issue 10). Prints figures; asserts nothing.

    .venv/bin/python bench/reserves.py claims [--store postgresql://...]   # 8 processes x 200 claims racing
    .venv/bin/python bench/reserves.py playbook                            # reserve_claim task vs a cold create
    .venv/bin/python bench/reserves.py refill                              # 10 clones at concurrency 10 vs 1

- **claims**: a reserve of 1,600 ready bare clones (written by the engine's own ``write_clone`` in
  one transaction: no provider is involved in a claim), then 8 worker processes, started together,
  each claiming 200 names on its own open store connection. Per claim: ``claim()`` as the module
  calls it (the serialised transaction, then the read of the clone's exports). Reports p50, p99 and
  the maximum, and checks the store afterwards: no clone claimed twice, one clone per name.
- **playbook**: the examples/reserve site (build >= 2 s) on the ``local`` provider; one
  ``ansible-playbook`` run whose only task is ``reserve_claim`` from a filled reserve, against one
  whose only task is ``reserve_claim`` on an empty reserve (the fallback: a cold create of the same
  template). Wall time of each whole run, side by side, and the ratio.
- **refill**: ``reserve`` building one clone of the same site, then ten at ``refill_concurrency`` 10,
  each on a fresh reserve; the ratio of the two. ``--template local`` (default): the examples/reserve
  site on ``local`` servers, i.e. ten servers' builds sharing this machine's cores with the engine;
  ``--template remote``: servers of an in-memory provider whose site takes 1 s per operation (a
  deploy and a start: a 2 s build that runs elsewhere, as on ec2), i.e. what the engine and the store
  add. Server polls back off from 0.1 s (``backoff_initial``) in both, for both sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=wrong-import-position
import _common  # noqa: E402,F401 pylint: disable=unused-import
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import AppGraphError  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ProviderServer  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves import claim as claims  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.clones import move, write_clone  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.service import ReserveService  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.states import READY  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import reserves as sql  # noqa: E402

REPO = _common.REPO
SITE = os.path.join(REPO, "examples", "reserve", "site.app.yml")
BIN = os.path.dirname(sys.executable)


class Instant:
    """In memory: a server runs as soon as it is made (the claims bench never builds)."""

    def __init__(self):
        self.lock = threading.Lock()

    def identity(self):
        return "bench:instant"

    def create_server(self, spec):
        return ProviderServer("id-" + spec.name, spec.name, "running", "127.0.0.1", dict(spec.tags),
                              spec.client_token, time.time())

    def has_started(self, provider_id):
        return True

    def list_servers(self, tags=None):
        return []

    def stop_server(self, provider_id):
        pass

    def has_stopped(self, provider_id):
        return True

    def delete_server(self, provider_id):
        pass

    def has_been_deleted(self, provider_id):
        return True


REMOTE_SITE = """\
application: remote
components:
  VM:   {installer: server, children: [Site]}
  Site: {installer: latency, options: {latency: 1.0}, exports: {ip: null, port: 8080}}
instances:
  - {name: vm, component: VM, children: [{name: site, component: Site}]}
"""


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# -- claims ------------------------------------------------------------------------------------------------

def fill(service, reserve, count):
    """``count`` ready bare clones, written in one transaction."""
    service.ensure(reserve, {"full_size": 0, "minimum_size": 0, "refill_window": ""}, provider="instant")
    with service.store() as store, sql.reserve_transaction(store, reserve) as tx:
        row = sql.reserve(tx.db, reserve)
        settings = dict(row.settings, full_size=count)
        sql.put_reserve(tx, reserve, settings, row.provider, row.provider_options, row.provider_identity, None,
                        None, row.template_digest, 1)
        for number in range(1, count + 1):
            clone = write_clone(tx, service, row, "%s-clone-%d" % (reserve, number), number)
            move(tx, clone, READY, None, ready_at=tx.now + number * 1e-6, lease_owner=None, lease_expires=None)


def worker(dsn, reserve, names, go):
    service = ReserveService(dsn, provider_factory=lambda _n, _o: Instant())
    out = {"claims": {}, "errors": {}, "seconds": []}
    with service.store() as store:
        with open("%s.ready.%d" % (go, os.getpid()), "w", encoding="utf-8"):
            pass
        while not os.path.exists(go):
            time.sleep(0.0005)
        for name in names:
            started = time.perf_counter()
            try:
                out["claims"][name] = claims.claim(service, reserve, name, fallback=False, store=store)["server"]["name"]
            except AppGraphError as exc:
                out["errors"][name] = str(exc)
            out["seconds"].append(time.perf_counter() - started)
    json.dump(out, sys.stdout)


def bench_claims(dsn, processes, per_process, folder):
    reserve = "bench%d" % os.getpid()
    service = ReserveService(dsn, provider_factory=lambda _n, _o: Instant())
    fill(service, reserve, processes * per_process)
    go = os.path.join(folder, "go")
    procs = []
    for p in range(processes):
        names = ["%s-p%d-%d" % (reserve, p, i) for i in range(per_process)]
        procs.append(subprocess.Popen([sys.executable, __file__, "worker", "--store", dsn, "--reserve", reserve,
                                       "--names", json.dumps(names), "--go", go], stdout=subprocess.PIPE, text=True))
    while len([f for f in os.listdir(folder) if f.startswith("go.ready.")]) < processes:
        time.sleep(0.01)
    started = time.perf_counter()
    open(go, "w", encoding="utf-8").close()
    outputs = [json.loads(proc.communicate()[0]) for proc in procs]
    wall = time.perf_counter() - started
    seconds = [s for out in outputs for s in out["seconds"]]
    got = [clone for out in outputs for clone in out["claims"].values()]
    errors = sum(len(out["errors"]) for out in outputs)
    with service.store() as store:
        rows = sql.clones(store.db, reserve)
        stored = {c.alias: c.name for c in rows if c.alias}
        dialect = store.db.dialect
    names = {alias for out in outputs for alias in out["claims"]}
    print("claims %s: %d processes x %d claims, %d ok, %d errors, wall %.2f s (%.0f claims/s)"
          % (dialect, processes, per_process, len(got), errors, wall, len(got) / wall))
    figures = (percentile(seconds, 0.5), percentile(seconds, 0.9), percentile(seconds, 0.99), max(seconds),
               statistics.mean(seconds))
    print("  latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms, mean %.2f ms" % tuple(x * 1e3 for x in figures))
    print("  double claims: %d (clones handed out twice); names with a clone: %d of %d; stored aliases match: %s"
          % (len(got) - len(set(got)), len(stored), len(names), all(stored.get(a) for a in names)))
    with service.store() as store, store.transaction(None) as tx:       # leave a shared store clean
        tx.db.execute("DELETE FROM clones WHERE reserve = ?", (reserve,))
        tx.db.execute("DELETE FROM servers WHERE server_type = ?", (reserve,))
        tx.db.execute("DELETE FROM reserves WHERE name = ?", (reserve,))


# -- playbook ------------------------------------------------------------------------------------------------

PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - appgraph.lifecycle.reserve_claim: {reserve: "%s", name: "%s"}
      register: claimed
    - ansible.builtin.debug: {msg: "CLAIM {{ claimed.claim }} {{ claimed.claim_seconds }}"}
"""
# The same playbook without the claim: what ansible-playbook costs by itself.
BASELINE = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.debug: {msg: "CLAIM none %s %s"}
"""


def playbook(folder, store, root, reserve, name, text=PLAYBOOK):
    path = os.path.join(folder, "%s.yml" % name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text % (reserve, name))
    env = dict(os.environ, APPGRAPH_STORE=store, APPGRAPH_LOCAL_ROOT=root, ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collection"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    started = time.perf_counter()
    run = subprocess.run([os.path.join(BIN, "ansible-playbook"), path], cwd=folder, env=env, capture_output=True,
                         text=True, check=False)
    took = time.perf_counter() - started
    line = next((text for text in run.stdout.splitlines() if "CLAIM " in text), "no CLAIM line: %s" % run.stdout[-500:])
    return took, line.split("CLAIM ", 1)[-1].strip('" ')


def bench_playbook(folder, rounds):
    store, root = os.path.join(folder, "store.db"), os.path.join(folder, "servers")
    service = ReserveService(store)
    options = {"root": root}
    service.ensure("warm", {"full_size": rounds, "refill_window": ""}, provider_options=options, src=SITE)
    service.ensure("cold", {"full_size": 0, "minimum_size": 0, "refill_window": ""}, provider_options=options,
                   src=SITE)
    try:
        for i in range(rounds):
            base = playbook(folder, store, root, "none", "base-%d" % i, BASELINE)[0]
            warm = playbook(folder, store, root, "warm", "warm-%d" % i)
            cold = playbook(folder, store, root, "cold", "cold-%d" % i)
            print("playbook round %d: ansible-playbook alone %.2f s | reserve_claim from the reserve %.2f s (%s) | "
                  "cold create %.2f s (%s) | ratio %.1f x; the tasks alone (minus the playbook alone) %.2f s vs "
                  "%.2f s: %.1f x" % (i + 1, base, warm[0], warm[1], cold[0], cold[1], cold[0] / warm[0],
                                      warm[0] - base, cold[0] - base, (cold[0] - base) / max(warm[0] - base, 1e-3)))
    finally:
        for i in range(rounds):
            for reserve, kind in (("warm", "warm"), ("cold", "cold")):
                service.release(reserve, "%s-%d" % (kind, i))
        service.absent("warm")
        service.absent("cold")


# -- refill --------------------------------------------------------------------------------------------------

def bench_refill(folder, count, concurrency, template):
    store = os.path.join(folder, "store.db")
    if template == "remote":
        src, provider, options = os.path.join(folder, "remote.app.yml"), "instant", {}
        with open(src, "w", encoding="utf-8") as handle:
            handle.write(REMOTE_SITE)
        service = ReserveService(store, provider_factory=lambda _n, _o: Instant(), backoff_initial=0.1, backoff_max=1.0)
    else:
        src, provider, options = SITE, "local", {"root": os.path.join(folder, "servers")}
        service = ReserveService(store, backoff_initial=0.1, backoff_max=1.0)
    figures = {}
    try:
        for reserve, size in (("one", 1), ("many", count)):
            started = time.perf_counter()
            result = service.ensure(reserve, {"full_size": size, "refill_window": "", "refill_concurrency": concurrency},
                                    provider=provider, provider_options=options, src=src)
            figures[reserve] = time.perf_counter() - started
            assert not result["failed"], result["failed"]
            print("refill %s %-4s: %2d clone(s) at refill_concurrency %d in %.2f s" % (
                template, reserve, size, concurrency, figures[reserve]))
        print("refill %s ratio: %d clones / 1 clone = %.2f x (target <= 1.2 x)" % (
            template, count, figures["many"] / figures["one"]))
    finally:
        service.absent("one")
        service.absent("many")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["claims", "playbook", "refill", "worker"])
    parser.add_argument("--store", help="claims: a SQLite path or a postgresql:// URL (default: a temporary file)")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clones", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--template", choices=["local", "remote"], default="local")
    parser.add_argument("--reserve")
    parser.add_argument("--names")
    parser.add_argument("--go")
    args = parser.parse_args(argv)
    if args.what == "worker":
        worker(args.store, args.reserve, json.loads(args.names), args.go)
        return
    folder = tempfile.mkdtemp(prefix="appgraph-bench-reserves-")
    try:
        if args.what == "claims":
            bench_claims(args.store or os.path.join(folder, "store.db"), args.processes, args.claims, folder)
        elif args.what == "playbook":
            bench_playbook(folder, args.rounds)
        else:
            bench_refill(folder, args.clones, args.concurrency, args.template)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
