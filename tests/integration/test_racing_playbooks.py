# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Four `ansible-playbook` runs at once converging one application on one store (as four AWX
nodes would): every recipe runs exactly once, never beside another operation of its instance."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.recorded import counts, operations, overlapping, write_recorded_app

from .helpers import BIN, PLAYBOOKS, ansible_env


@pytest.fixture(params=["sqlite", "postgresql"])
def store_dsn(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("fresh_postgresql")    # a database of its own: xdist runs files at once


def test_four_playbooks_at_once_run_every_operation_once(tmp_path, store_dsn):
    src = write_recorded_app(str(tmp_path), hosts=6, dbs=3, webs_per_host=1)
    command = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / "start.yml"), "-e", "app_file=%s" % src]
    env = ansible_env(tmp_path / "unused.db")
    env["APPGRAPH_STORE"] = store_dsn
    runs = [subprocess.Popen(command, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, stdin=subprocess.DEVNULL) for _run in range(4)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, outputs
    ops = operations(str(tmp_path))
    assert overlapping(ops) == []
    with Store(store_dsn) as store:
        rows = store.instance_rows("recorded")
    assert {r.state.state for r in rows.values()} == {"deployed_started"}
    scripted = [p for p, r in rows.items() if r.component != "Host"]
    ran = counts(ops)
    assert {(p, op): ran[(p, op)] for p in scripted for op in ("deploy", "start")} == \
        {(p, op): 1 for p in scripted for op in ("deploy", "start")}
    dbs = sorted(p for p, r in rows.items() if r.component == "Db")
    for path, row in rows.items():
        if row.component == "Api":
            assert sorted(row.applied_imports["Db"]) == dbs, path
    assert all(r.lease_owner is None for r in rows.values())
