"""Provisioning (issue 11): figures for bench/RESULTS.md.

    .venv/bin/python bench/provisioning.py [--runs 5] [--files-mb 200] [--db-mb 50] [--skip-playbook]
                                           [--baseline <another checkout of the collection>]

1. Provision one tenant (a server claimed from a warm reserve of local servers, its storage tree, a
   SQLite database) as one ``appgraph.lifecycle.provision`` task: the whole ``ansible-playbook`` run,
   and the engine alone (``ProvisionManager.provision`` in this process); medians.
2. Export and import of a tenant with ``--files-mb`` of files (half random, half text) and a
   ``--db-mb`` SQLite database, against the physical reference on the same data (``tar -cz`` +
   ``sqlite3 .backup`` to export; ``tar -xz`` + ``sqlite3 .restore`` to import; and uncompressed,
   a ``.tar`` snapshot against ``tar -c`` / ``tar -x``): MB/s (of the
   tenant's bytes, timed inside the service) and the ratio; the peak RSS of the process that exports
   or imports (a child, measured by wait4). The tenant is on a pool's running server, so that an
   import moves data and makes no server. With ``--baseline``, every export and import is also run by
   the collection of that checkout (its ``bench/provisioning.py --child``), interleaved with this
   one's on the same tenant, so that a change is measured side by side under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

import _common  # noqa: F401  (collection/ on sys.path)

from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.config import load_config
from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.manager import ProvisionManager
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.service import ReserveService
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.pools import PoolService
from ansible_collections.appgraph.lifecycle.tests.conftest import stop_local_servers

MB = 1024 * 1024
FAST = {"backoff_initial": 0.02, "backoff_max": 0.2}
BIN = os.path.dirname(sys.executable)


def write_config(folder: str, root: str, source: dict) -> str:
    doc = {"provisioners": {"df": {"provides": {
        "instance": {"name": "server", "options": dict(source, provider_options={"root": root})},
        "storage": "tree", "database": {"name": "sqlite", "options": {"directory": os.path.join(folder, "db")}}}}},
        "snapshots": {"directory": os.path.join(folder, "snapshots")}}
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "provisioners.yml")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(doc, handle)
    return path


# -- 1. provision one tenant from a warm reserve -------------------------------------------------------------


def provision_figures(folder: str, runs: int, skip_playbook: bool) -> dict:
    root, store = os.path.join(folder, "servers"), os.path.join(folder, "store.db")
    config = write_config(folder, root, {"source": "reserve", "reserve": "tenants"})
    reserves = ReserveService(store, **FAST)
    reserves.ensure("tenants", {"full_size": 2 * runs + 1, "minimum_size": 0, "refill_window": ""},
                    provider="local", provider_options={"root": root})
    manager = ProvisionManager(store, load_config(config), polling=FAST)
    engine, playbook = [], []
    try:
        for i in range(runs):
            start = time.perf_counter()
            result = manager.provision("acme", "engine-%d" % i)
            engine.append(time.perf_counter() - start)
            assert result["provision"]["state"] == "provisioned", result
        env = dict(os.environ, APPGRAPH_STORE=store, ANSIBLE_LOCALHOST_WARNING="False",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(_common.REPO, "collection"))
        for i in range(0 if skip_playbook else runs):
            start = time.perf_counter()
            done = subprocess.run([os.path.join(BIN, "ansible-playbook"),
                                   os.path.join(_common.REPO, "playbooks", "provision.yml"), "-e",
                                   json.dumps({"owner_id": "acme", "instance_id": "play-%d" % i,
                                               "provisioners": config})],
                                  env=env, capture_output=True, text=True, check=False)
            playbook.append(time.perf_counter() - start)
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        stop_local_servers(root)
    return {"engine_median_s": statistics.median(engine),
            "playbook_median_s": statistics.median(playbook) if playbook else None}


# -- 2. export and import throughput and memory ----------------------------------------------------------------


def make_tenant(tree: str, db: str, files_mb: int, db_mb: int) -> int:
    """Half random, half text files under ``tree``; a SQLite database of ``db_mb``; the bytes made."""
    rng = random.Random(7)
    made = 0
    words = [("w%d" % i).encode() for i in range(5000)]
    for i in range(files_mb // 2):
        folder = os.path.join(tree, "public" if i % 2 else "packages", "d%02d" % (i % 17))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "r%d.bin" % i), "wb") as handle:
            handle.write(os.urandom(MB))
        with open(os.path.join(folder, "t%d.txt" % i), "wb") as handle:
            handle.write(b" ".join(rng.choice(words) for _word in range(MB // 5))[:MB])
        made += 2 * MB
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, body BLOB, note TEXT)")
    with conn:
        for _row in range(db_mb * 4):
            conn.execute("INSERT INTO blobs (body, note) VALUES (?, ?)", (os.urandom(200 * 1024), "note " * 2000))
    conn.close()
    return made + os.path.getsize(db)


def child(argv: list) -> None:
    """``--child export|import <store> <config> [<snapshot>]``: one service in this process."""
    service, store, config = argv[:3]
    manager = ProvisionManager(store, load_config(config), polling=FAST)
    start = time.perf_counter()
    if service == "export":
        path = manager.export("shop", argv[3])["snapshot"]["path"]
        print(json.dumps({"path": path, "seconds": time.perf_counter() - start}))
    else:
        result = manager.import_snapshot("acme", "shop", argv[3])
        assert result["provision"]["state"] == "provisioned", result
        print(json.dumps({"seconds": time.perf_counter() - start}))


def in_child(script: str, *args) -> tuple:
    """(seconds of the service, peak RSS in MB, its answer) of one ``child`` run of ``script`` (this
    file, or the baseline's)."""
    proc = subprocess.Popen([sys.executable, script, "--child"] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_common.dies_with_us)
    out, err = proc.stdout.read(), proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err.decode()
    answer = json.loads(out.decode())
    return answer["seconds"], usage.ru_maxrss / 1024.0, answer


def reference(tree: str, db: str, folder: str, gzip: bool) -> tuple:
    """(export s, import s): tar -c[z] + sqlite3 .backup, then tar -x[z] + sqlite3 .restore."""
    archive, backup = os.path.join(folder, "ref.tar.gz"), os.path.join(folder, "ref.sqlite")
    z = "z" if gzip else ""
    start = time.perf_counter()
    subprocess.run(["tar", "-c%sf" % z, archive, "-C", tree, "."], check=True)
    subprocess.run(["sqlite3", db, ".backup '%s'" % backup], check=True)
    exported = time.perf_counter() - start
    target = os.path.join(folder, "ref-tree")
    os.makedirs(target)
    start = time.perf_counter()
    subprocess.run(["tar", "-x%sf" % z, archive, "-C", target], check=True)
    subprocess.run(["sqlite3", os.path.join(folder, "ref-restored.sqlite"), ".restore '%s'" % backup], check=True)
    imported = time.perf_counter() - start
    for path in (archive, backup, os.path.join(folder, "ref-restored.sqlite")):
        os.remove(path)
    shutil.rmtree(target)
    return exported, imported


def transfer_figures(folder: str, runs: int, files_mb: int, db_mb: int, gzip: bool = True,
                     baseline: str | None = None) -> dict:
    root, store = os.path.join(folder, "servers"), os.path.join(folder, "store.db")
    # A pool's running server: an import then moves data only (no server is made).
    config = write_config(folder, root, {"source": "pool", "pool": "bench"})
    PoolService(store, **FAST).ensure("bench", 1, "local", {"root": root})
    manager = ProvisionManager(store, load_config(config), polling=FAST)
    try:
        parts = manager.provision("acme", "shop")["provision"]["parts"]
        parts = manager.status("shop")["provisions"][0]["parts"]
        size = make_tenant(parts["storage"]["path"], parts["database"]["path"], files_mb, db_mb)
        sides = {"": os.path.abspath(__file__)}
        if baseline:
            sides["baseline_"] = os.path.join(os.path.abspath(baseline), "bench", "provisioning.py")
        timed = {side: ([], [], []) for side in sides}            # exports, imports, peak RSS
        ref_exports, ref_imports = [], []
        for _run in range(runs):
            for side, script in sides.items():
                exports, imports, rss = timed[side]
                destination = os.path.join(folder, "snapshots", "shop.tar" + (".gz" if gzip else ""))
                seconds, peak, answer = in_child(script, "export", store, config, destination)
                exports.append(seconds)
                rss.append(peak)
                snapshot = answer["path"]
                manager.deprovision("shop")
                seconds, peak, _out = in_child(script, "import", store, config, snapshot)
                imports.append(seconds)
                rss.append(peak)
                os.remove(snapshot)
            parts = manager.status("shop")["provisions"][0]["parts"]
            ref_export, ref_import = reference(parts["storage"]["path"], parts["database"]["path"], folder, gzip)
            ref_exports.append(ref_export)
            ref_imports.append(ref_import)
    finally:
        stop_local_servers(root)
    mb = size / MB
    figures = {"tenant_mb": round(mb, 1), "reference_export_mb_s": mb / statistics.median(ref_exports),
               "reference_import_mb_s": mb / statistics.median(ref_imports)}
    for side, (exports, imports, rss) in timed.items():
        figures.update({side + "export_mb_s": mb / statistics.median(exports),
                        side + "import_mb_s": mb / statistics.median(imports),
                        side + "export_vs_reference": statistics.median(ref_exports) / statistics.median(exports),
                        side + "import_vs_reference": statistics.median(ref_imports) / statistics.median(imports),
                        side + "peak_rss_mb": max(rss)})
    return figures


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files-mb", type=int, default=200)
    parser.add_argument("--db-mb", type=int, default=50)
    parser.add_argument("--skip-playbook", action="store_true")
    parser.add_argument("--baseline", help="another checkout of the collection, measured side by side")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-provisioning-")
    try:
        one = provision_figures(os.path.join(folder, "one"), args.runs, args.skip_playbook)
        print("provision one tenant (warm reserve, tree, SQLite): engine median %.3f s; ansible-playbook median %s"
              % (one["engine_median_s"], "%.2f s" % one["playbook_median_s"] if one["playbook_median_s"] else "-"))
        for gzip in (True, False):
            moved = transfer_figures(os.path.join(folder, "gzip" if gzip else "tar"), max(1, args.runs // 2),
                                     args.files_mb, args.db_mb, gzip, args.baseline)
            z = "z" if gzip else ""
            for side in ("", "baseline_") if args.baseline else ("",):
                print("%s%s: export %.1f MB/s (tar -c%s + sqlite3 .backup %.1f MB/s, ratio %.2f); import %.1f MB/s "
                      "(tar -x%s + sqlite3 .restore %.1f MB/s, ratio %.2f); tenant %.1f MB; peak RSS %.1f MB"
                      % ("gzip" if gzip else "none", " (baseline)" if side else "", moved[side + "export_mb_s"], z,
                         moved["reference_export_mb_s"], moved[side + "export_vs_reference"],
                         moved[side + "import_mb_s"], z, moved["reference_import_mb_s"],
                         moved[side + "import_vs_reference"], moved["tenant_mb"], moved[side + "peak_rss_mb"]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
