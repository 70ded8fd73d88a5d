# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``script`` recipes on an ``ssh`` server (the real sshd of the ``sshd`` fixture).

The environment contract is the one tests/unit/test_script_installer.py checks on ``local``
servers and under ``noop`` roots: the same test functions run here again, with an ``ssh`` place
(the instance's files are read back from the slot directory, which is on this machine). Then an
application whose root is an ``ssh`` server goes from nothing to started (a page served by what
its start.sh left running) and back to nothing, through the engine.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import info as info_api
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InstallerError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.script import ScriptInstaller
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.server import server_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.names import safe_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local_processes import pid_alive
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh import SshProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh_client import KILL_GRACE
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.flows import ServerService
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from ..runtime.test_converge_local import DEPLOY, START, STOP, get, write
# The contract's tests: pytest collects the test functions imported here, and runs them with the
# ssh ``place`` of this module. (Not test_a_script_past_the_deadline_is_killed: its half-second
# deadline is shorter than the round trips a start makes over ssh on a loaded machine; its ssh
# version below has two seconds.)
from .test_script import (  # noqa: F401  # pylint: disable=unused-import
    component, context, recipes, test_a_failing_script_names_itself_the_instance_and_the_exit_code,
    test_a_missing_recipes_directory_is_named, test_a_service_left_running_does_not_hold_the_operation,
    test_deploy_copies_merged_recipes_and_runs_the_own_script, test_imports_of_started_exporters_in_path_order,
    test_missing_scripts_do_nothing_and_undeploy_removes_the_files, test_start_without_deployed_files_says_so,
    test_update_sees_old_and_new_imports)
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS

TIMEOUT = 60.0


class SshPlace:
    """An ``ssh`` server for the contract's tests: one slot on the session's sshd."""

    kind = "ssh"

    def __init__(self, sshd, tmp_path):
        self.store_dsn = str(tmp_path / "state" / "store.db")
        self.state_dir = str(tmp_path / "machine")
        self.options = sshd.options(state_dir=self.state_dir)
        self.provider = SshProvider.from_options(self.options)
        server = self.provider.create_server(ServerSpec("vm-1", "small", "token-vm-1"))
        wait_until(lambda: self.provider.has_started(server.provider_id), what="the ssh server to answer")
        self.runtime = {"provider": "ssh", "provider_options": self.options, "provider_id": server.provider_id,
                        "server": "vm-1", "address": server.address}

    def instance_dir(self, _app, path):
        return os.path.join(os.path.realpath(self.state_dir), "box", "instances", safe_name(path))

    def close(self):
        for server in self.provider.list_servers():
            self.provider.stop_server(server.provider_id)
            self.provider.delete_server(server.provider_id)
        self.provider.close()


@pytest.fixture
def place(sshd, tmp_path):
    place = SshPlace(sshd, tmp_path)
    yield place
    place.close()


def test_the_place_is_a_real_ssh_server(place):
    """What the contract's tests run against here: commands arrive through sshd (SSH_CONNECTION)."""
    result = place.provider.exec(place.runtime["provider_id"], ["sh", "-c", 'echo "$SSH_CONNECTION"'])
    assert result.rc == 0 and result.stdout.split()[2] == "127.0.0.1"


def test_a_script_past_the_deadline_is_killed_on_the_machine(place, tmp_path):
    own = str(tmp_path / "slow")
    write(os.path.join(own, "scripts", "start.sh"), 'echo "started"\necho $$ > "$APPGRAPH_DATA_DIR/pid"\nsleep 30\n')
    comp = component([own])
    installer = ScriptInstaller()
    installer.run(context(place, comp, "deploy"))
    began = time.monotonic()
    with pytest.raises(InstallerError, match=r"script start.sh of instance /vm 1/web-1 timed out after") as error:
        installer.run(context(place, comp, "start", deadline=2.0))
    assert time.monotonic() - began < 2.0 + KILL_GRACE + 2.0
    assert "started" in error.value.detail
    with open(os.path.join(place.instance_dir("shop", "/vm 1/web-1"), "data", "pid"), encoding="utf-8") as handle:
        pid = int(handle.read())
    wait_until(lambda: not pid_alive(pid), what="the script to be killed")


# -- an application on an ssh server, through the engine -----------------------------------------

@pytest.fixture
def app_file(tmp_path, sshd):
    folder = tmp_path / "app"
    write(str(folder / "web" / "scripts" / "deploy.sh"), DEPLOY)
    write(str(folder / "web" / "scripts" / "start.sh"), START)
    write(str(folder / "web" / "scripts" / "stop.sh"), STOP)
    document = {
        "application": "e2e",
        "components": {
            "VM": {"installer": "server", "provider": "ssh",
                   "provider_options": sshd.options(state_dir=str(tmp_path / "machine")), "children": ["Web"]},
            "Web": {"installer": "script", "recipes": "web",
                    "exports": {"ip": None, "port": {"random": "port"}, "python": sys.executable}},
        },
        "instances": [{"name": "vm", "component": "VM", "children": [{"name": "web", "component": "Web"}]}],
    }
    path = str(folder / "e2e.app.yml")
    write(path, json.dumps(document, indent=2))       # JSON is YAML
    return path


def test_an_application_on_an_ssh_server_starts_answers_and_is_released(tmp_path, sshd, app_file):
    store = Store(str(tmp_path / "state" / "store.db"))
    installers = InstallerRegistry(settings={"server": {"backoff_initial": 0.02, "backoff_max": 0.2}})
    http_pid = None
    try:
        engine.add_application(store, app_file)
        result = engine.converge_application(store, "e2e", "started", installers=installers, timeout=TIMEOUT)
        assert result["failed_operations"] == [] and not result["timed_out"], result["failed_operations"]
        assert {i["path"]: i["state"] for i in result["instances"]} == {"/vm": "deployed_started",
                                                                        "/vm/web": "deployed_started"}
        info = {i["path"]: i for i in info_api.application_info(store, "e2e")["instances"]}
        assert info["/vm"]["runtime"]["provider"] == "ssh" and info["/vm"]["runtime"]["provider_id"].startswith("box:")
        assert info["/vm/web"]["exports"]["Web.ip"] == "127.0.0.1"
        port = info["/vm/web"]["exports"]["Web.port"]
        assert get("http://127.0.0.1:%d/" % port) == (200, "hello from /vm/web\n")

        slot = os.path.join(str(tmp_path / "machine"), "box")
        with open(os.path.join(slot, "instances", safe_name("/vm/web"), "data", "http.pid"), encoding="utf-8") as f:
            http_pid = int(f.read())
        assert pid_alive(http_pid)
        [listed] = SshProvider.from_options(sshd.options(state_dir=str(tmp_path / "machine"))).use_fleet(ALL_FLEETS).list_servers()
        assert listed.name == server_name("e2e", "/vm")

        result = engine.converge_application(store, "e2e", "undeployed", installers=installers, timeout=TIMEOUT)
        assert result["failed_operations"] == [] and not result["timed_out"], result["failed_operations"]
        assert [op["operation"] for op in result["operations"]] == ["stop", "undeploy", "undeploy"]
        assert not os.path.exists(slot) and not pid_alive(http_pid)
        assert ServerService(store.dsn).get(server_name("e2e", "/vm")).status == "deleted"
        kinds = [e.kind for e in store.events() if e.subject == server_name("e2e", "/vm")]
        assert kinds == ["creating", "starting", "running", "stopping", "stopped", "deleting", "deleted"]
    finally:
        if http_pid is not None and pid_alive(http_pid):
            os.kill(http_pid, 9)
        store.close()
