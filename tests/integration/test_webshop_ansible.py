# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/webshop-ansible: the webshop's services installed by a role, brought up by one
``application`` task (its playbook.yml, through ansible-playbook), a page fetched through the load
balancer, then everything undeployed again."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import info as info_api
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from .helpers import run_playbook

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webshop-ansible"


def fetch(port: int, path: str) -> tuple:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))     # loopback: never a proxy
    with opener.open("http://127.0.0.1:%d%s" % (port, path), timeout=10) as response:
        return response.status, json.loads(response.read().decode())


def test_the_webshop_configured_by_roles_serves_pages_through_its_balancer(tmp_path, local_root, monkeypatch):
    monkeypatch.setenv("APPGRAPH_LOCAL_ROOT", local_root)       # the example's servers: this test's own
    store = tmp_path / "store.db"
    playbook = str(EXAMPLE / "playbook.yml")
    try:
        run = run_playbook(tmp_path, playbook, store=store, timeout=900)
        assert run.rc == 0, run
        with Store(str(store)) as opened:
            instances = {i["path"]: i for i in info_api.application_info(opened, "webshop-ansible")["instances"]}
        assert {i["state"] for i in instances.values()} == {"deployed_started"}
        port = instances["/lb-vm/lb"]["exports"]["Lb.port"]
        status, body = fetch(port, "/products")
        assert status == 200 and body["products"], body
        # Round robin: the two API servers take turns behind the balancer.
        served = {fetch(port, "/products")[1]["served_by"] for _attempt in range(4)}
        assert served == {"/api-vm 1/api", "/api-vm 2/api"}
    finally:
        down = run_playbook(tmp_path, playbook, "-e", "state=undeployed", store=store, timeout=900)
    assert down.rc == 0, down
    with Store(str(store)) as opened:
        states = {i["state"] for i in info_api.application_info(opened, "webshop-ansible")["instances"]}
    assert states == {"not_deployed"}
