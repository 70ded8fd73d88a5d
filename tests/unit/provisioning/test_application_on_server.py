# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance sub-provisioner's ``application``: a template deployed and started on the tenant's
own (cold created) server, on real local servers with real recipes; undeployed by deprovision; a
provision killed in the middle of the application's deploy is finished by the next call."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

from .helpers import manager, write_config

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")

SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
while [ -e %(hold)s.%(op)s ]; do sleep 0.01; done
echo "%(op)s $APPGRAPH_APPLICATION $APPGRAPH_INSTANCE_PATH" >> %(log)s
"""


def write_template(folder) -> str:
    """A site template: a server root and a ``Site`` whose recipes log each operation to
    ``<folder>/ops.log`` (an operation waits while ``<folder>/hold.<operation>`` exists)."""
    scripts = folder / "components" / "Site" / "scripts"
    scripts.mkdir(parents=True)
    for op in ("deploy", "start", "stop", "undeploy"):
        path = scripts / ("%s.sh" % op)
        path.write_text(SCRIPT % {"hold": folder / "hold", "op": op, "log": folder / "ops.log"}, encoding="utf-8")
        path.chmod(0o755)
    src = folder / "site.app.yml"
    src.write_text("application: site\n"
                   "components:\n"
                   "  VM: {installer: server, children: [Site]}\n"
                   "  Site: {installer: script, recipes: components/Site, exports: {ip: null, port: 8080}}\n"
                   "instances:\n"
                   "  - {name: vm, component: VM, children: [{name: site, component: Site}]}\n", encoding="utf-8")
    return str(src)


def logged(folder) -> list:
    path = folder / "ops.log"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def site_config(tmp_path, local_root, application="templates/site.app.yml", source="create"):
    options = {"source": source, "provider_options": {"root": local_root, "heartbeat_interval": 1},
               "application": application}
    if source == "pool":
        options["pool"] = "web"
    return write_config(tmp_path, local_root, instance={"name": "server", "options": options})


@pytest.fixture
def template(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    write_template(folder)
    return folder


def servers_at(local_root) -> list:
    return sorted(s.name for s in LocalProvider(root=local_root).use_fleet(ALL_FLEETS).list_servers())


def test_a_tenant_gets_its_server_with_the_application_started_on_it(tmp_path, local_root, template):
    store, m = str(tmp_path / "store.db"), manager(str(tmp_path / "store.db"), site_config(tmp_path, local_root))
    result = m.provision("acme", "shop")
    assert result["provision"]["state"] == "provisioned", result.get("error")
    instance = m.status("shop")["provisions"][0]["parts"]["instance"]
    assert instance["application"] == instance["server"] == "tenant-shop"
    with Store(store) as opened:
        rows = opened.instance_rows("tenant-shop")
    assert {p: r.state.state for p, r in rows.items()} == {"/vm": "deployed_started", "/vm/site": "deployed_started"}
    assert logged(template) == ["deploy tenant-shop /vm/site", "start tenant-shop /vm/site"]
    assert m.provision("acme", "shop")["changed"] is False           # idempotent: nothing runs again
    assert len(logged(template)) == 2

    m.deprovision("shop")
    assert logged(template)[2:] == ["stop tenant-shop /vm/site", "undeploy tenant-shop /vm/site"]
    with Store(store) as opened:
        assert opened.application("tenant-shop") is None
    assert "tenant-shop" not in servers_at(local_root)


def test_an_application_is_refused_for_a_reserve_whose_clones_carry_its_own(tmp_path, local_root, template):
    options = {"source": "reserve", "reserve": "sites", "application": "templates/site.app.yml"}
    with pytest.raises(InputError, match=r"provisioners.yml:\d+.*application: a reserve's clones carry the reserve's "
                                         r"own template application"):
        manager(str(tmp_path / "store.db"), write_config(tmp_path, local_root, instance={"name": "server",
                                                                                         "options": options}))


def test_tenants_on_a_pool_server_each_get_their_application_attached_to_it(tmp_path, local_root, template):
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.pools import PoolService
    from .helpers import FAST
    store = str(tmp_path / "store.db")
    PoolService(store, **FAST).ensure("web", 1, "local", {"root": local_root, "heartbeat_interval": 1})
    m = manager(store, site_config(tmp_path, local_root, source="pool"))
    for tenant in ("shop", "blog"):
        result = m.provision("acme", tenant)
        assert result["provision"]["state"] == "provisioned", result.get("error")
    assert sorted(logged(template)) == ["deploy tenant-blog /vm/site", "deploy tenant-shop /vm/site",
                                        "start tenant-blog /vm/site", "start tenant-shop /vm/site"]
    servers = {m.status(t)["provisions"][0]["parts"]["instance"]["server"] for t in ("shop", "blog")}
    assert len(servers) == 1                                   # one server, two applications on it
    home = m.status("shop")["provisions"][0]["parts"]["instance"]["home"]
    dirs = sorted(os.listdir(os.path.join(home, "applications")))
    assert [d.rsplit("-", 1)[0] for d in dirs] == ["tenant-blog", "tenant-shop"]     # never one directory for both

    m.deprovision("shop")
    assert logged(template)[4:] == ["stop tenant-shop /vm/site", "undeploy tenant-shop /vm/site"]
    with Store(store) as opened:
        assert opened.application("tenant-shop") is None
        assert {r.state.state for r in opened.instance_rows("tenant-blog").values()} == {"deployed_started"}
    assert servers <= set(servers_at(local_root))              # the server stays in its pool
    m.deprovision("blog")
    assert servers <= set(servers_at(local_root))


def test_a_template_that_is_not_one_server_is_refused_with_the_file(tmp_path, local_root, template):
    (template / "bare.app.yml").write_text("application: bare\ncomponents:\n  Site: {installer: noop}\n"
                                           "instances:\n  - {name: site, component: Site}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"application: the template .*bare.app.yml cannot be used: .*not a server"):
        manager(str(tmp_path / "store.db"), site_config(tmp_path, local_root, application="templates/bare.app.yml"))
    with pytest.raises(InputError, match=r"application: the template .*nowhere.app.yml cannot be used"):
        manager(str(tmp_path / "store.db"), site_config(tmp_path, local_root, application="templates/nowhere.app.yml"))


def test_a_provision_killed_while_the_application_deploys_is_finished_by_the_next_call(tmp_path, local_root, template):
    store, config = str(tmp_path / "store.db"), site_config(tmp_path, local_root)
    hold = template / "hold.deploy"
    hold.touch()
    worker = subprocess.Popen([sys.executable, WORKER, store, config, json.dumps({"provision": ["acme", "shop"]})],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _deploy_running(store) or worker.poll() is not None, timeout=60,
                   what="the application's deploy to begin")
        assert worker.poll() is None, worker.communicate()
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert logged(template) == []
    hold.unlink()

    m = manager(store, config)
    result = m.provision("acme", "shop")
    assert result["provision"]["state"] == "provisioned", result.get("error")
    # a provision that died is rolled back and made again: the deploy the dead run announced is
    # done (the only way to know what it left), undone, and the application made afresh
    assert logged(template) == ["deploy tenant-shop /vm/site", "undeploy tenant-shop /vm/site",
                                "deploy tenant-shop /vm/site", "start tenant-shop /vm/site"]
    with Store(store) as opened:
        rows = opened.instance_rows("tenant-shop")
    assert {r.state.state for r in rows.values()} == {"deployed_started"}
    assert all(r.lease_owner is None for r in rows.values())
    assert servers_at(local_root).count("tenant-shop") == 1
    m.deprovision("shop")
    assert "tenant-shop" not in servers_at(local_root)


def _deploy_running(store: str) -> bool:
    with Store(store) as opened:
        if opened.application("tenant-shop") is None:
            return False
        return opened.instance_rows("tenant-shop")["/vm/site"].state.state == "deploying"


def test_an_application_of_the_same_name_made_otherwise_is_never_taken_nor_removed(tmp_path, local_root, template):
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import add_application
    store = str(tmp_path / "store.db")
    with Store(store) as opened:
        add_application(opened, str(template / "site.app.yml"), name="tenant-shop")     # someone's own
    m = manager(store, site_config(tmp_path, local_root))
    refused = m.provision("acme", "shop")
    assert refused["provision"]["state"] != "provisioned"
    assert "an application named tenant-shop exists already, not made by this provision" in json.dumps(refused)
    with Store(store) as opened:
        assert opened.application("tenant-shop") is not None        # the rollback left it alone
    assert logged(template) == [] and "tenant-shop" not in servers_at(local_root)


def test_two_processes_provisioning_one_tenant_deploy_its_application_once(tmp_path, local_root, template):
    store, config = str(tmp_path / "store.db"), site_config(tmp_path, local_root)
    manager(store, config)              # the store made before the race
    go = tmp_path / "go"
    workers = [subprocess.Popen([sys.executable, WORKER, store, config,
                                 json.dumps({"provision": ["acme", "shop"], "go": str(go)})],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _worker in range(2)]
    go.write_text("", encoding="utf-8")
    outs = [json.loads(w.communicate(timeout=120)[0]) for w in workers]
    made = [o for o in outs if "result" in o and o["result"]["changed"]]
    assert len(made) == 1, outs
    other = next(o for o in outs if o is not made[0])
    assert ("error" in other and other["error"][0] == "ConflictError") or other["result"]["changed"] is False, outs
    assert logged(template) == ["deploy tenant-shop /vm/site", "start tenant-shop /vm/site"]   # each once
    assert servers_at(local_root).count("tenant-shop") == 1


@pytest.mark.parametrize("text", ["application: [unclosed\n", "\xff\xfe not utf-8", "components: " + "[" * 5000,
                                  "application: site\ncomponents: 7\n"])
def test_a_hostile_template_is_refused_with_the_provisioners_file(tmp_path, local_root, template, text):
    (template / "hostile.app.yml").write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError, match=r"provisioners.yml:\d+.*application: the template .*hostile.app.yml "
                                         r"cannot be used"):
        manager(str(tmp_path / "store.db"), site_config(tmp_path, local_root, application="templates/hostile.app.yml"))
