# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A provisioner whose tenants get a server of their own with an application started on it, through
the collection's provision and deprovision playbooks (``ansible-playbook``), on real local servers."""

from __future__ import annotations

import os

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.unit.provisioning.helpers import write_config
from ansible_collections.appgraph.lifecycle.tests.unit.provisioning.test_application_on_server import (
    logged, servers_at, write_template)

from .helpers import run_playbook

REPO_PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "playbooks")


def play(workdir, name, **extra):
    return run_playbook(workdir, os.path.abspath(os.path.join(REPO_PLAYBOOKS, name)), timeout=240, **extra)


def test_a_tenant_with_its_site_through_the_playbooks(tmp_path, local_root):
    templates = tmp_path / "templates"
    templates.mkdir()
    write_template(templates)
    config = write_config(tmp_path, local_root, instance={"name": "server", "options": {
        "source": "create", "application": "templates/site.app.yml",
        "provider_options": {"root": local_root, "heartbeat_interval": 1}}})

    made = play(tmp_path, "provision.yml", owner_id="acme", instance_id="shop1", provisioners=config)
    assert made.rc == 0 and made.recap["changed"] == 1, made
    assert logged(templates) == ["deploy tenant-shop1 /vm/site", "start tenant-shop1 /vm/site"]
    with Store(str(tmp_path / "store.db")) as store:
        states = {p: r.state.state for p, r in store.instance_rows("tenant-shop1").items()}
    assert states == {"/vm": "deployed_started", "/vm/site": "deployed_started"}

    gone = play(tmp_path, "deprovision.yml", instance_id="shop1")
    assert gone.rc == 0 and gone.recap["changed"] == 1, gone
    assert logged(templates)[2:] == ["stop tenant-shop1 /vm/site", "undeploy tenant-shop1 /vm/site"]
    assert "tenant-shop1" not in servers_at(local_root)
    with Store(str(tmp_path / "store.db")) as store:
        assert store.application("tenant-shop1") is None
