# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DFE's REST access (/api/v1/ops/provision, ...) the Ansible way: the REST rulebook under the real
ansible-rulebook runs POST /provision, /export, /deprovision and /import through eda_request.yml, and
each result comes back as a request_finished event."""

from __future__ import annotations

import glob
import secrets

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.net import free_port
from ansible_collections.appgraph.lifecycle.tests.unit.provisioning.helpers import write_config

from .rulebook import Rulebook, rulebook_env
from .test_rulebooks import listening, outbox, post

pytestmark = pytest.mark.slow


def test_the_four_provisioning_services_over_rest(tmp_path, local_root):
    store, state = tmp_path / "store.db", tmp_path / "state"
    Store(str(store)).close()
    config = write_config(tmp_path, local_root)
    port, token = free_port(), secrets.token_hex(16)
    env = rulebook_env(store, state, APPGRAPH_WEBHOOK_PORT=port, APPGRAPH_WEBHOOK_TOKEN=token,
                       APPGRAPH_PROVISIONERS=config)
    requests = [("provision", {"owner_id": "acme", "instance_id": "shop1", "offerings": {"version": "2.0"}}),
                ("export", {"instance_id": "shop1", "destination": str(tmp_path / "backups")}),
                ("deprovision", {"instance_id": "shop1"}),
                ("import", {"owner_id": "acme", "instance_id": "shop1", "snapshot": None}),
                ("provision", {"owner_id": "acme", "instance_id": "bad id"})]

    def finished(request_id):
        def done():
            found = {e.subject: e.data for e in outbox(store, kinds=["request_finished"])}
            return found.get(request_id)
        return done

    results = []
    with Rulebook("appgraph.lifecycle.rest", tmp_path, env, "--env-vars",
                  "APPGRAPH_WEBHOOK_PORT,APPGRAPH_WEBHOOK_TOKEN,APPGRAPH_PROVISIONERS") as rest:
        rest.wait_until(lambda: listening(port), 120, what="the webhook on 127.0.0.1:%d" % port)
        for number, (service, body) in enumerate(requests):
            if service == "import":
                body["snapshot"] = glob.glob(str(tmp_path / "backups" / "shop1-*.tar.gz"))[0]
            request_id = "p-%d" % number
            assert post(port, service, dict(body, request_id=request_id), token=token) == 200
            results.append(rest.wait_until(finished(request_id), 180, what="the result of %s" % request_id))
    assert [(r["service"], r["ok"]) for r in results] == [
        ("provision", True), ("export", True), ("deprovision", True), ("import", True), ("provision", False)]
    assert results[0]["provision"]["state"] == "provisioned" and results[0]["changed"] is True
    assert results[1]["snapshot"].endswith(".tar.gz")
    assert results[3]["provision"]["operation"] == "import"
    assert "not a valid instance id" in results[4]["error"]
    kinds = [e.kind for e in outbox(store) if e.subject == "shop1"]
    assert kinds.count("imported") == 1 and kinds.count("exported") == 1
