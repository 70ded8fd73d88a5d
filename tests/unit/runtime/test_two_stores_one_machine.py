# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two PostgreSQL stores on one machine, each with an application of the same name: each runs its
own recipes only.

Reproduced on the old code (CI, four racing playbooks beside other tests): the work directory of
``noop`` roots was one per machine for every PostgreSQL store, keyed by the application's name
alone, so one store's deploy copied its recipes over the other's and the other then ran them: the
second store's ``stop`` recorded nothing of its own, the first's log showed starts twice.
"""

from __future__ import annotations

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.recorded import counts, operations, write_recorded_app


def converge(dsn, src, state):
    with Store(dsn) as store:
        result = ensure_application(store, src=src, state=state, parallelism=4)
    assert result["failed_operations"] == [], result
    return result


def scripted_paths(dsn):
    with Store(dsn) as store:
        return sorted(p for p, r in store.instance_rows("recorded").items() if r.component != "Host")


def test_each_store_runs_its_own_recipes(tmp_path, postgresql_databases, monkeypatch):
    monkeypatch.setenv("APPGRAPH_WORK_DIR", str(tmp_path / "work"))    # one machine: one work directory
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    stores = {first: postgresql_databases(), second: postgresql_databases()}
    sources = {folder: write_recorded_app(folder, hosts=2, dbs=1) for folder in (first, second)}
    for folder in (first, second):
        converge(stores[folder], sources[folder], "started")
    converge(stores[first], sources[first], "stopped")

    paths = scripted_paths(stores[first])
    mine, theirs = counts(operations(first)), counts(operations(second))
    assert {(p, op): mine[(p, op)] for p in paths for op in ("deploy", "start", "stop")} == \
        {(p, op): 1 for p in paths for op in ("deploy", "start", "stop")}
    assert {(p, op): theirs[(p, op)] for p in paths for op in ("deploy", "start", "stop")} == \
        {(p, op): 0 if op == "stop" else 1 for p in paths for op in ("deploy", "start", "stop")}
