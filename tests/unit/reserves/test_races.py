# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Racing claimers: several processes claiming from one reserve on one store (SQLite and
PostgreSQL) never get the same clone, and a name claimed by several of them gets exactly one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import reserves as sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
PROCESSES, CLAIMS, SHARED = 4, 20, 5


def race(dsn, reserve, folder, jobs):
    """Start one worker per job, let them all go at once, return their outputs."""
    go = str(folder / "go")
    procs = [subprocess.Popen([sys.executable, WORKER, dsn, reserve, json.dumps({"claim": names, "go": go})],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for names in jobs]
    deadline = time.monotonic() + 60
    while len([f for f in os.listdir(folder) if f.startswith("go.ready.")]) < len(procs):
        assert time.monotonic() < deadline, "the workers did not get ready"
        time.sleep(0.01)
    open(go, "w", encoding="utf-8").close()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    return outputs


def test_racing_claimers_never_share_a_clone(service, dsn, name, tmp_path):
    shared = ["%s-shared-%d" % (name, i) for i in range(SHARED)]
    own = [["%s-p%d-%d" % (name, p, i) for i in range(CLAIMS)] for p in range(PROCESSES)]
    wanted = PROCESSES * CLAIMS + SHARED
    service.ensure(name, {"full_size": wanted + 3, "refill_concurrency": 50}, provider="instant")
    # every worker claims its own names and, in between, the shared ones (in another order each)
    jobs = [names[:CLAIMS // 2] + shared[p:] + shared[:p] + names[CLAIMS // 2:] for p, names in enumerate(own)]
    outputs = race(dsn, name, tmp_path, jobs)
    assert all(out["errors"] == {} for out in outputs), [out["errors"] for out in outputs]
    got = {}
    for out in outputs:
        for alias, clone in out["claims"].items():
            assert got.setdefault(alias, clone) == clone, "%s got two clones" % alias    # one clone per name
    assert len(got) == wanted
    assert max(Counter(got.values()).values()) == 1, "a clone was handed out twice"
    with Store(dsn) as store:
        rows = sql.clones(store.db, name)
    claimed = {c.alias: c.name for c in rows if c.state == "claimed"}
    assert claimed == got
    assert sum(1 for c in rows if c.state == "ready") == 3
    status = service.status(name)["reserves"][0]
    assert status["hits"] == wanted and status["misses"] == 0
