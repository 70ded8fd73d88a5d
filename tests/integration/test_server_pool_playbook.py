# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""server_pool, server_pool_info and reconcile through real ``ansible-playbook`` runs, with the
``local`` provider (real agent processes, stopped at the end whatever happens)."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider, pid_alive
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS

from .helpers import PLAYBOOKS, run_playbook


def pool_report(run) -> dict:
    match = re.search(r"POOL (\{.*?\})\"", run.stdout.replace('\\"', '"'))
    assert match, run
    return json.loads(match.group(1))


def stored(store) -> dict:
    with Store(str(store)) as db:
        return dict(db.db.query("SELECT name, status FROM servers ORDER BY name"))


@pytest.fixture
def root(local_root):
    return local_root


def test_a_local_pool_from_a_playbook(tmp_path, root):
    store = tmp_path / "store.db"
    run = run_playbook(tmp_path, "pools_local.yml", "--diff", root=root, count=2)
    assert run.rc == 0 and run.recap["changed"] == 1, run
    assert pool_report(run) == {"counts": {"running": 2}, "started": ["web-1", "web-2"], "stopped": [],
                                "info": {"running": 2}}
    assert "+++ after" in run.stdout and '+        "running": 2' in run.stdout, run      # --diff: counts
    pids = [s.extra["pid"] for s in LocalProvider(root=root).use_fleet(ALL_FLEETS).list_servers()]
    assert len(pids) == 2 and all(pid_alive(p) for p in pids)

    again = run_playbook(tmp_path, "pools_local.yml", root=root, count=2)
    assert again.rc == 0 and again.recap["changed"] == 0, again

    before = stored(store)
    plan = run_playbook(tmp_path, "pools_local.yml", "--check", root=root, count=1)
    assert plan.rc == 0 and plan.recap["changed"] == 1, plan
    assert pool_report(plan)["stopped"] == ["web-1"] and pool_report(plan)["counts"] == {"running": 1}
    assert stored(store) == before and all(pid_alive(p) for p in pids)

    run = run_playbook(tmp_path, "pools_local.yml", root=root, count=1)
    assert run.rc == 0 and pool_report(run)["stopped"] == ["web-1"], run
    assert stored(store) == {"web-1": "deleted", "web-2": "running"} and not pid_alive(pids[0])

    run = run_playbook(tmp_path, "pools_local.yml", root=root, state="absent")
    assert run.rc == 0 and pool_report(run)["counts"] == {}, run
    assert LocalProvider(root=root).use_fleet(ALL_FLEETS).list_servers() == [] and not pid_alive(pids[1])

    swept = run_playbook(tmp_path, str(PLAYBOOKS.parent.parent.parent / "playbooks" / "reconcile.yml"),
                         appgraph_prune_after=0)
    assert swept.rc == 0 and '"pruned": 2' in swept.stdout, swept
    assert stored(store) == {}


def test_credentials_are_masked_and_check_mode_calls_nothing(tmp_path):
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    run = run_playbook(tmp_path, "pools_secret.yml", "-vvv", key_id="AKIAEXAMPLE123", secret=secret)
    assert run.rc == 0 and run.recap["changed"] == 1, run
    assert secret not in run.stdout and "AKIAEXAMPLE123" not in run.stdout, run
    assert '"aws_secret_access_key": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in run.stdout, run
    assert '"region": "eu-west-3"' in run.stdout and '"started": ["cloud-1", "cloud-2"]' in run.stdout, run
