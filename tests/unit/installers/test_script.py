# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The script installer with real bash scripts: on a real ``local`` server (through its agent) and
under a ``noop`` root (on this machine). Every agent a test starts is stopped by its fixture."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InstallerError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.base import OperationContext
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.script import (
    ScriptInstaller, clean_path, work_dir)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.application import Component, ImportSpec
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.server import server_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider, pid_alive
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.flows import ServerService
from ansible_collections.appgraph.lifecycle.plugins.module_utils.names import safe_name
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

DEADLINE = 60.0          # a guard against a hang, not a figure: a loaded machine may take long over ssh
TRICKY = "two  spaces \"double\" 'single' $HOME ${PATH} `id` \\back\nsecond line\n\ttab * ?"

DUMP_ENV = """#!/usr/bin/env bash
set -eu
env -0 > "$APPGRAPH_DATA_DIR/%s.env"
pwd > "$APPGRAPH_DATA_DIR/%s.pwd"
echo "%s ran"
"""


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, mode)


def read_env(path):
    with open(path, "rb") as handle:
        entries = handle.read().split(b"\0")
    return dict(e.decode().split("=", 1) for e in entries if e)


@pytest.fixture
def recipes(tmp_path):
    """Own recipes (deploy, update, a file that overrides) and inherited ones (start, deploy, files)."""
    own, inherited = str(tmp_path / "recipes" / "Web"), str(tmp_path / "recipes" / "Base")
    write(os.path.join(own, "scripts", "deploy.sh"), DUMP_ENV % ("deploy", "deploy", "deploy"))
    write(os.path.join(own, "scripts", "update.sh"), DUMP_ENV % ("update", "update", "update"))
    write(os.path.join(own, "conf", "app.conf"), "own\n")
    write(os.path.join(inherited, "scripts", "deploy.sh"), "exit 99\n")
    write(os.path.join(inherited, "scripts", "start.sh"), DUMP_ENV % ("start", "start", "start"))
    write(os.path.join(inherited, "conf", "app.conf"), "inherited\n")
    write(os.path.join(inherited, "conf", "base.conf"), "base\n")
    write(os.path.join(inherited, "bin", "tool"), "#!/bin/sh\necho tool\n", mode=0o755)
    with open(os.path.join(inherited, "blob.bin"), "wb") as handle:   # > one upload chunk once encoded
        handle.write(os.urandom(150 * 1024))
    return own, inherited


def component(recipe_dirs, name="Web"):
    return Component(name=name, installer="script", children=frozenset(),
                     exports={name: {"ip": None, "port": 8080, "motto": None}},
                     imports=(ImportSpec("Db", "ip"), ImportSpec("Db", "port"),
                              ImportSpec("Cache", "*", optional=True)),
                     recipes=recipe_dirs[0] if recipe_dirs else None, recipe_dirs=tuple(recipe_dirs))


class Place:
    """Where the instance's scripts run: a real local server, or this machine under a noop root."""

    def __init__(self, kind, tmp_path):
        self.kind = kind
        self.store_dsn = str(tmp_path / "state" / "store.db")
        self.root = str(tmp_path / "servers")
        self.provider = LocalProvider(root=self.root, heartbeat_interval=0.5)
        self.runtime = {}
        if kind == "server":
            self.provider.create_server(ServerSpec("vm-1", "small", "token-vm-1"))
            wait_until(lambda: self.provider.has_started("vm-1"), what="the server to start")
            self.runtime = {"provider": "local", "provider_options": {"root": self.root, "heartbeat_interval": 0.5},
                            "provider_id": "vm-1", "server": "vm-1", "address": "127.0.0.1"}

    def instance_dir(self, app, path):
        if self.kind == "server":
            return os.path.join(os.path.realpath(self.root), "vm-1", "instances", safe_name(path))
        return os.path.join(os.path.realpath(work_dir(self.store_dsn)), safe_name(app), "instances", safe_name(path))

    def close(self):
        for server in self.provider.list_servers():
            self.provider.stop_server(server.provider_id)
        for server in self.provider.list_servers():
            wait_until(lambda: self.provider.has_stopped(server.provider_id), what="the server to stop")


@pytest.fixture(params=["server", "noop"])
def place(request, tmp_path):
    place = Place(request.param, tmp_path)
    yield place
    place.close()


def context(place, comp, operation, path="/vm 1/web-1", deadline=DEADLINE, **kwargs):
    values = dict(application="shop", operation=operation, path=path, name=path.rsplit("/", 1)[1],
                  component=comp, exports={"Web.ip": "127.0.0.1", "Web.port": 8080, "Web.motto": TRICKY},
                  imports={}, ancestors=[("VM", {"VM.ip": "127.0.0.1", "VM.zone-name": "eu west"})],
                  root="/vm 1", root_runtime=place.runtime, store_dsn=place.store_dsn,
                  deadline=None if deadline is None else time.monotonic() + deadline, log=lambda _message: None)
    values.update(kwargs)
    return OperationContext(**values)


# -- the environment contract ----------------------------------------------------------------------

def test_deploy_copies_merged_recipes_and_runs_the_own_script(place, recipes):
    comp = component(recipes)
    ScriptInstaller().run(context(place, comp, "deploy"))
    base = place.instance_dir("shop", "/vm 1/web-1")
    files = os.path.join(base, "files")
    assert open(os.path.join(files, "conf", "app.conf"), encoding="utf-8").read() == "own\n"
    assert open(os.path.join(files, "conf", "base.conf"), encoding="utf-8").read() == "base\n"
    assert os.access(os.path.join(files, "bin", "tool"), os.X_OK)
    assert open(os.path.join(files, "blob.bin"), "rb").read() == open(os.path.join(recipes[1], "blob.bin"), "rb").read()
    assert open(os.path.join(base, "data", "deploy.pwd"), encoding="utf-8").read().strip() == files

    env = read_env(os.path.join(base, "data", "deploy.env"))
    assert env["APPGRAPH_OPERATION"] == "deploy"
    assert env["APPGRAPH_APPLICATION"] == "shop"
    assert env["APPGRAPH_INSTANCE_PATH"] == env["ROBOCONF_INSTANCE_PATH"] == "/vm 1/web-1"
    assert env["APPGRAPH_INSTANCE_NAME"] == env["ROBOCONF_INSTANCE_NAME"] == "web-1"
    assert env["APPGRAPH_COMPONENT"] == env["ROBOCONF_COMPONENT_NAME"] == "Web"
    assert env["APPGRAPH_FILES_DIR"] == env["ROBOCONF_FILES_DIR"] == files
    assert env["APPGRAPH_DATA_DIR"] == os.path.join(base, "data")
    assert env["ROBOCONF_CLEAN_INSTANCE_PATH"] == "vm_1_web_1"
    assert env["ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH"] == "web_1_vm_1"
    assert (env["ip"], env["port"], env["motto"]) == ("127.0.0.1", "8080", TRICKY)
    assert env["ANCESTOR_VM_ip"] == "127.0.0.1" and env["ANCESTOR_VM_zone_name"] == "eu west"
    assert env["Db_size"] == "0" and env["Cache_size"] == "0"
    assert not any(k.startswith("APPGRAPH_OLD_") for k in env)


def test_runtime_data_and_external_imports_reach_the_script(place, recipes):
    comp = component(recipes)
    comp = Component(**{**comp.__dict__, "imports": comp.imports + (ImportSpec("Lamp", "ip", external=True),)})
    data = {"ec2.elastic.ip": "192.168.1.10", "machine-id": TRICKY, "count": 3}
    installer = ScriptInstaller()
    installer.run(context(place, comp, "deploy", data=data))
    env = read_env(os.path.join(place.instance_dir("shop", "/vm 1/web-1"), "data", "deploy.env"))
    assert env["APPGRAPH_INSTANCE_DATA_ec2_elastic_ip"] == "192.168.1.10"
    assert env["APPGRAPH_INSTANCE_DATA_machine_id"] == TRICKY and env["APPGRAPH_INSTANCE_DATA_count"] == "3"
    assert json.loads(env["APPGRAPH_INSTANCE_DATA"]) == data
    assert env["Lamp_size"] == "0"
    imports = {"Lamp": {"shop-db:/db-vm/db": {"ip": "10.0.0.7"}}}
    installer.run(context(place, comp, "start", imports=imports, data=data))
    env = read_env(os.path.join(place.instance_dir("shop", "/vm 1/web-1"), "data", "start.env"))
    assert (env["Lamp_size"], env["Lamp_0_ip"]) == ("1", "10.0.0.7")


def test_imports_of_started_exporters_in_path_order(place, recipes):
    comp = component(recipes)
    installer = ScriptInstaller()
    installer.run(context(place, comp, "deploy"))
    imports = {"Db": {"/db-vm 2/db": {"ip": "10.0.0.2", "port": 5433}, "/db-vm 1/db": {"ip": "10.0.0.1", "port": 5432}},
               "Cache": {"/cache": {"ip": "10.0.0.9", "flags": TRICKY}}}
    installer.run(context(place, comp, "start", imports=imports))
    env = read_env(os.path.join(place.instance_dir("shop", "/vm 1/web-1"), "data", "start.env"))
    assert env["APPGRAPH_OPERATION"] == "start"
    assert env["Db_size"] == "2" and env["Cache_size"] == "1"
    found = (env["Db_0_ip"], env["Db_0_port"], env["Db_1_ip"], env["Db_1_port"])
    assert found == ("10.0.0.1", "5432", "10.0.0.2", "5433")
    assert env["Cache_0_flags"] == TRICKY


def test_update_sees_old_and_new_imports(place, recipes):
    comp = component(recipes)
    installer = ScriptInstaller()
    installer.run(context(place, comp, "deploy"))
    old = {"Db": {"/db-vm 1/db": {"ip": "10.0.0.1", "port": 5432}}}
    new = {"Db": {"/db-vm 1/db": {"ip": "10.0.0.1", "port": 5432}, "/db-vm 2/db": {"ip": "10.0.0.2", "port": 5433}}}
    installer.run(context(place, comp, "update", imports=new, old_imports=old))
    env = read_env(os.path.join(place.instance_dir("shop", "/vm 1/web-1"), "data", "update.env"))
    assert env["Db_size"] == "2" and env["Db_1_ip"] == "10.0.0.2"
    assert env["APPGRAPH_OLD_Db_size"] == "1" and env["APPGRAPH_OLD_Db_0_port"] == "5432"
    assert "APPGRAPH_OLD_Db_1_ip" not in env and env["APPGRAPH_OLD_Cache_size"] == "0"


def test_missing_scripts_do_nothing_and_undeploy_removes_the_files(place, recipes):
    comp = component(recipes)
    installer = ScriptInstaller()
    assert installer.run(context(place, comp, "stop")) is None          # never deployed, no stop.sh
    installer.run(context(place, comp, "deploy"))
    base = place.instance_dir("shop", "/vm 1/web-1")
    assert installer.run(context(place, comp, "stop")) is None
    assert os.path.isdir(base)
    installer.run(context(place, comp, "undeploy"))
    assert not os.path.exists(base)
    assert installer.run(context(place, component([]), "deploy")) is None   # no recipes at all


def test_a_failing_script_names_itself_the_instance_and_the_exit_code(place, tmp_path):
    own = str(tmp_path / "failing")
    write(os.path.join(own, "scripts", "start.sh"),
          'for i in $(seq 1 100); do echo "out $i"; done\necho "err: it broke" >&2\nexit 3\n')
    comp = component([own])
    installer = ScriptInstaller()
    installer.run(context(place, comp, "deploy"))
    with pytest.raises(InstallerError) as error:
        installer.run(context(place, comp, "start"))
    message = str(error.value).splitlines()[0]
    assert message == "script start.sh of instance /vm 1/web-1 failed with exit code 3"
    detail = error.value.detail.splitlines()
    assert "out 100" in detail and "out 61" in detail and "out 60" not in detail
    assert "err: it broke" in detail


def test_a_script_past_the_deadline_is_killed(place, tmp_path):
    own = str(tmp_path / "slow")
    write(os.path.join(own, "scripts", "start.sh"), 'echo "started"\nsleep 30\n')
    comp = component([own])
    installer = ScriptInstaller(kill_grace=1.0)
    installer.run(context(place, comp, "deploy"))
    began = time.monotonic()
    with pytest.raises(InstallerError, match=r"script start.sh of instance /vm 1/web-1 timed out after") as error:
        installer.run(context(place, comp, "start", deadline=0.5))
    assert time.monotonic() - began < 5.0
    assert "started" in error.value.detail
    with pytest.raises(InstallerError, match="no time left"):
        installer.run(context(place, comp, "start", deadline=-1))


def test_a_service_left_running_does_not_hold_the_operation(place, tmp_path):
    own = str(tmp_path / "daemon")
    write(os.path.join(own, "scripts", "start.sh"), 'sleep 30 &\necho $! > "$APPGRAPH_DATA_DIR/pid"\n')
    comp = component([own])
    installer = ScriptInstaller()
    installer.run(context(place, comp, "deploy"))
    began = time.monotonic()
    installer.run(context(place, comp, "start"))
    assert time.monotonic() - began < 5.0
    pid = int(open(os.path.join(place.instance_dir("shop", "/vm 1/web-1"), "data", "pid"), encoding="utf-8").read())
    assert pid_alive(pid)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), what="the background process to die")


def test_start_without_deployed_files_says_so(place, recipes):
    with pytest.raises(InstallerError, match="files are not on .*deploy it again"):
        ScriptInstaller().run(context(place, component(recipes), "start"))


def test_a_server_without_provider_id_is_refused(tmp_path, recipes):
    ctx = OperationContext(application="shop", operation="start", path="/vm/web", name="web",
                           component=component(recipes), exports={}, imports={}, root="/vm",
                           root_runtime={"provider": "local"}, store_dsn=str(tmp_path / "s.db"))
    with pytest.raises(InstallerError, match="no provider id"):
        ScriptInstaller().run(ctx)


def test_a_missing_recipes_directory_is_named(place, tmp_path):
    comp = component([str(tmp_path / "nowhere")])
    with pytest.raises(InstallerError, match="recipes directory .*nowhere of component Web does not exist"):
        ScriptInstaller().run(context(place, comp, "deploy"))


def test_a_server_root_that_lost_its_runtime_never_runs_scripts_here(tmp_path, recipes):
    dsn = str(tmp_path / "s.db")
    running = FakeProvider(identity="somewhere")
    ServerService(dsn, provider_factory=lambda name, options: running).start(server_name("shop", "/vm"), "VM", "x")
    ctx = OperationContext(application="shop", operation="deploy", path="/vm/web", name="web",
                           component=component(recipes), exports={}, imports={}, root="/vm", root_runtime={},
                           store_dsn=dsn)
    with pytest.raises(InstallerError, match="root /vm is server .* runtime .* is missing"):
        ScriptInstaller().run(ctx)
    assert not os.path.exists(work_dir(dsn))


def test_clean_paths():
    assert clean_path("/VM/my-server") == "VM_my_server"
    assert clean_path("/VM/my-server", reverse=True) == "my_server_VM"
