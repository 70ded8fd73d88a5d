# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules driven from Python through ansible-runner, as AWX and scripts do."""

from __future__ import annotations

import os

import pytest

from .helpers import BIN, PLAYBOOKS, SHOP_PATHS

ansible_runner = pytest.importorskip("ansible_runner")


def test_runner_events_carry_the_instance_states(workdir):
    store = workdir / "store.db"
    private = workdir / "runner"
    private.mkdir()
    result = ansible_runner.run(
        private_data_dir=str(private),
        playbook=str(PLAYBOOKS / "runner.yml"),
        extravars={"app_file": str(workdir / "shop.app.yml")},
        envvars={
            "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
            "APPGRAPH_STORE": str(store),
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "PATH": "%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")),
        },
        quiet=True,
        timeout=120,
    )
    assert result.status == "successful", result.stdout.read()
    assert result.rc == 0
    results = {e["event_data"]["task_action"]: e["event_data"]["res"]
               for e in result.events if e["event"] == "runner_on_ok"}

    started = results["appgraph.lifecycle.application"]
    assert started["changed"] is True
    assert {i["path"]: i["state"] for i in started["instances"]} == {p: "deployed_started" for p in SHOP_PATHS}

    stopped = results["appgraph.lifecycle.instance"]
    assert stopped["instance"] == {"path": "/db-vm/db", "component": "Db", "state": "deployed_stopped",
                                   "desired_state": "deployed_stopped"}
    # Chain reaction: both API servers needed the database; the optional balancer keeps running.
    stops = {op["path"] for op in stopped["operations"] if op["operation"] == "stop"}
    assert {"/db-vm/db", "/api-vm 1/api", "/api-vm 2/api"} <= stops
    assert "/lb-vm/lb" not in stops
    assert result.stats["changed"] == {"localhost": 2}
