# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A provision killed (-9) in the middle is rolled back by reconcile or by the next call; two
processes provisioning one instance id make it once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import provisions as sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

from .helpers import events_of, manager, write_config

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


def start_worker(store: str, config: str, job: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, WORKER, store, config, json.dumps(job)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def killed_in_the_database_step(tmp_path, local_root):
    """A provision whose process was killed -9 inside its database step: (store, config, row)."""
    store, databases = str(tmp_path / "store.db"), tmp_path / "databases"
    config = write_config(tmp_path, local_root, database={"name": "blocking", "options": {"directory": str(databases)}})
    worker = start_worker(store, config, {"provision": ["acme", "shop1"]})
    wait_until(lambda: (databases / "blocked").exists() or worker.poll() is not None, timeout=60,
               what="the worker to reach its database step")
    assert worker.poll() is None, worker.communicate()
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    (databases / "blocked").unlink()
    with Store(store) as opened:
        row = sql.read(opened.db, "shop1")
    assert row.state == "provisioning" and row.parts["database"]["status"] == "making"
    assert row.parts["instance"]["status"] == "made" and row.parts["storage"]["status"] == "made"
    return store, config, row


def test_reconcile_rolls_back_a_provision_killed_in_the_middle(tmp_path, local_root):
    store, config, row = killed_in_the_database_step(tmp_path, local_root)
    m = manager(store, config)
    done = m.reconcile()
    assert done["recovered"] == [{"instance_id": "shop1", "state": "provisioning_error"}] and done["failed"] == []
    after = m.status("shop1")["provisions"][0]
    statuses = {r: p["status"] for r, p in after["parts"].items()}
    assert statuses == dict.fromkeys(("instance", "storage", "database"), "undone")
    assert "interrupted" in after["error"] and after["state"] == "provisioning_error"
    assert not os.path.exists(row.parts["database"]["path"])
    assert not os.path.exists(row.parts["storage"]["path"])
    assert m.reconcile()["recovered"] == []          # once


def test_the_next_call_rolls_back_and_provisions_again(tmp_path, local_root):
    store, config, _row = killed_in_the_database_step(tmp_path, local_root)
    (tmp_path / "databases" / "go").write_text("", encoding="utf-8")      # the database step passes now
    result = manager(store, config).provision("acme", "shop1")
    assert result["provision"]["state"] == "provisioned", result.get("error")
    kinds = [e.kind for e in events_of(store, "shop1")]
    assert kinds.count("provisioned") == 1 and kinds.count("instance.provisioned") == 2


def test_two_processes_provisioning_one_instance_make_it_once(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    config = write_config(tmp_path, local_root)
    manager(store, config)              # the store made before the race
    go = str(tmp_path / "go")
    workers = [start_worker(store, config, {"provision": ["acme", "shop1"], "go": go}) for _worker in range(2)]
    (tmp_path / "go").write_text("", encoding="utf-8")
    outs = [json.loads(w.communicate(timeout=120)[0]) for w in workers]
    made = [o for o in outs if "result" in o and o["result"]["changed"]]
    assert len(made) == 1, outs
    other = [o for o in outs if o is not made[0]][0]
    assert ("error" in other and other["error"][0] == "ConflictError") or other["result"]["changed"] is False, outs
    with Store(store) as opened:
        assert opened.db.query("SELECT COUNT(*) FROM servers")[0][0] == 1
    assert [e.kind for e in events_of(store, "shop1")].count("provisioned") == 1


def test_a_deprovision_killed_in_the_middle_is_finished_by_the_next_call(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    config = write_config(tmp_path, local_root, storage={"name": "blocking_tree", "options": {"root": str(tmp_path)}})
    m = manager(store, config)
    parts = m.provision("acme", "shop1")["provision"]["parts"]
    tree = str(tmp_path / "tenants" / "shop1")
    worker = start_worker(store, config, {"deprovision": "shop1"})
    wait_until(lambda: os.path.exists(tree + ".blocked") or worker.poll() is not None, timeout=60,
               what="the worker to reach the storage's undo")
    assert worker.poll() is None, worker.communicate()
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    with Store(store) as opened:
        row = sql.read(opened.db, "shop1")
    assert row.state == "deprovisioning" and row.parts["database"]["status"] == "removed"
    assert row.parts["storage"]["status"] == "made" and os.path.isdir(tree)
    with open(tree + ".go", "w", encoding="utf-8"):
        pass
    done = m.deprovision("shop1")
    assert done["provision"]["state"] == "deprovisioned"
    assert not os.path.exists(tree) and not os.path.exists(parts["database"]["path"])
    kinds = [e.kind for e in events_of(store, "shop1")]
    assert kinds.count("database.deprovisioned") == 1 and kinds.count("deprovisioned") == 1
