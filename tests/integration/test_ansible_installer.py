# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``ansible`` installer through the engine, with the real ansible-runner and ansible-playbook.

The recipes are in ansible_recipes/: a role ``marker`` whose task files record what each operation
saw in the instance's directory, and playbooks (one of them inherited through ``extends``). The
servers are real: ``local`` servers (the ``sandbox`` connection through their agents), the
session's sshd (``ssh`` provider), and this machine under ``noop`` roots.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import info as info_api
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.server import server_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.names import safe_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local_processes import pid_alive
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

RECIPES = Path(__file__).resolve().parent / "ansible_recipes"
TIMEOUT = 240.0       # a whole converge on a loaded machine: every wave is an ansible-playbook run


def application(tmp_path: Path, root: dict, instances: list, extra: dict | None = None) -> str:
    """An application file whose ``VM`` root is ``root`` and whose ``Db``/``App`` use the marker role."""
    shutil.copytree(RECIPES, tmp_path / "recipes", dirs_exist_ok=True)
    components = {
        "VM": dict(root, children=["Db", "App", "Thing", "Child"]),
        "Db": {"installer": "ansible", "recipes": "recipes/marker", "options": {"role": "marker"},
               "exports": {"ip": None, "port": 5432}},
        "App": {"installer": "ansible", "recipes": "recipes/marker", "options": {"role": "marker"},
                "imports": ["Db.ip", "Db.port"], "exports": {"port": 8080}},
        "Thing": {"installer": "ansible", "recipes": "recipes/base"},
        "Child": {"extends": "Thing", "recipes": "recipes/playbooks"},
    }
    components.update(extra or {})
    document = {"application": "ans", "components": components, "instances": instances}
    path = tmp_path / "ans.app.yml"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return str(path)


def registry() -> InstallerRegistry:
    return InstallerRegistry(settings={"server": {"backoff_initial": 0.02, "backoff_max": 0.2}})


def converge(store, state, installers, path=None, timeout=TIMEOUT):
    result = engine.converge_application(store, "ans", state, instance_path=path, installers=installers,
                                         timeout=timeout)
    return result


def states(result) -> dict:
    return {i["path"]: i["state"] for i in result["instances"]}


def read_json(path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


LIFECYCLE_INSTANCES = [
    {"name": "vm", "component": "VM", "count": 2, "children": [{"name": "app", "component": "App"}]},
    {"name": "db-vm", "component": "VM", "children": [{"name": "db", "component": "Db"}]},
]


def _run_the_role_through_its_life(store, app_file, installers, instance_dir, tmp_path):
    """deploy + start, an update on an import change, stop, undeploy: what the marker role saw."""
    engine.add_application(store, app_file)
    result = converge(store, "started", installers)
    assert result["failed_operations"] == [] and not result["timed_out"], result["failed_operations"]
    assert set(states(result).values()) == {"deployed_started"}

    # The two App starts were ready together: one run over both hosts.
    starts = [op for op in result["operations"] if op["operation"] == "start" and op["path"].endswith("/app")]
    assert len(starts) == 2 and starts[0]["batch"] == starts[1]["batch"] and starts[0]["batch_hosts"] == 2
    assert os.path.isfile(starts[0]["log"])

    deployed = read_json(os.path.join(instance_dir("/vm 1/app"), "deploy.json"))
    assert deployed["path"] == "/vm 1/app" and deployed["exports"] == {"port": 8080}
    assert deployed["operation"] == "deploy"
    db = info_api.application_info(store, "ans")["instances"]
    db_exports = next(i for i in db if i["path"] == "/db-vm/db")["exports"]
    started = read_json(os.path.join(instance_dir("/vm 2/app"), "start.json"))
    assert started == {"imports": {"Db": [{"ip": db_exports["Db.ip"], "port": 5432}]},
                       "paths": {"Db": ["/db-vm/db"]}}
    assert os.path.exists(os.path.join(instance_dir("/vm 2/app"), "started"))

    # A second database: the apps' imports change and stay satisfied, so they get update.
    document = read_json(app_file)
    document["instances"].append({"name": "db-vm-2", "component": "VM", "children": [{"name": "db", "component": "Db"}]})
    Path(app_file).write_text(json.dumps(document), encoding="utf-8")
    engine.add_application(store, app_file)
    result = converge(store, "started", installers)
    assert result["failed_operations"] == [], result["failed_operations"]
    updates = [op for op in result["operations"] if op["operation"] == "update"]
    assert sorted(op["path"] for op in updates) == ["/vm 1/app", "/vm 2/app"]
    assert updates[0]["batch"] == updates[1]["batch"]
    update = read_json(os.path.join(instance_dir("/vm 1/app"), "update.json"))
    assert [len(update["old"]["Db"]), len(update["new"]["Db"])] == [1, 2]

    result = converge(store, "stopped", installers)
    assert result["failed_operations"] == []
    assert not os.path.exists(os.path.join(instance_dir("/vm 1/app"), "started"))
    assert set(states(result).values()) <= {"deployed_stopped", "deployed_started"}

    app_dir = instance_dir("/vm 1/app")
    result = converge(store, "undeployed", installers)
    assert result["failed_operations"] == [] and set(states(result).values()) == {"not_deployed"}
    assert not os.path.exists(app_dir)
    return result


def test_a_role_on_local_servers_deploys_starts_updates_stops_and_undeploys(tmp_path, local_root):
    app_file = application(tmp_path, {"installer": "server", "provider": "local",
                                      "provider_options": {"root": local_root, "heartbeat_interval": 1}},
                           [dict(i) for i in LIFECYCLE_INSTANCES])
    with Store(str(tmp_path / "state" / "store.db")) as store:
        def instance_dir(path):
            root = "/" + path.strip("/").split("/")[0]
            sandbox = os.path.join(os.path.realpath(local_root), ".fleet-" + store.fleet, server_name("ans", root))
            return os.path.join(sandbox, "instances", safe_name(path))

        _run_the_role_through_its_life(store, app_file, registry(), instance_dir, tmp_path)


def test_a_role_on_an_ssh_server(tmp_path, sshd):
    machine = tmp_path / "machine"
    hosts = {"box-1": sshd.host(), "box-2": sshd.host(), "box-3": sshd.host(), "box-4": sshd.host()}
    app_file = application(tmp_path, {"installer": "server", "provider": "ssh",
                                      "provider_options": sshd.options(hosts=hosts, state_dir=str(machine),
                                                                       python_interpreter=sys.executable)},
                           [dict(i) for i in LIFECYCLE_INSTANCES])
    with Store(str(tmp_path / "state" / "store.db")) as store:
        slots: dict = {}

        def instance_dir(path):
            root = "/" + path.strip("/").split("/")[0]
            if root not in slots:
                runtime = next(i for i in info_api.application_info(store, "ans")["instances"]
                               if i["path"] == root)["runtime"]
                slots[root] = runtime["provider_id"].rpartition(":")[0]
            return os.path.join(str(machine), slots[root], "instances", safe_name(path))

        _run_the_role_through_its_life(store, app_file, registry(), instance_dir, tmp_path)


NOOP_ROOT = {"installer": "noop"}


def noop_dir(store, path) -> str:
    return os.path.join(store.dsn + ".work", safe_name("ans"), "instances", safe_name(path))


def test_one_failing_host_fails_only_its_instance(tmp_path):
    things = [{"name": "app %d" % n, "component": "Db", "data": {"fail": n == 2}} for n in (1, 2, 3)]
    app_file = application(tmp_path, NOOP_ROOT, [{"name": "host", "component": "VM", "children": things}])
    with Store(str(tmp_path / "store.db")) as store:
        engine.add_application(store, app_file)
        result = converge(store, "started", registry())
        assert states(result) == {"/host": "deployed_started", "/host/app 1": "deployed_started",
                                  "/host/app 2": "not_deployed", "/host/app 3": "deployed_started"}
        [failed] = result["failed_operations"]
        assert failed["path"] == "/host/app 2" and failed["operation"] == "deploy"
        assert "/host/app 2 was told to fail" in failed["error"] and failed["batch_hosts"] == 3
        deploys = {op["path"]: op["batch"] for op in result["operations"] if op["operation"] == "deploy"
                   and op["path"] != "/host"}
        assert len(set(deploys.values())) == 1
        assert os.path.isfile(os.path.join(noop_dir(store, "/host/app 3"), "deploy.json"))


def test_playbooks_are_inherited_missing_ones_do_nothing_and_values_are_never_templated(tmp_path):
    hostile = "{{ lookup('pipe', 'touch %s') }}" % (tmp_path / "pwned")
    app_file = application(tmp_path, NOOP_ROOT, [{"name": "host", "component": "VM", "children": [
        {"name": "thing", "component": "Thing"},
        {"name": "child", "component": "Child", "data": {"text": hostile, "quote": "it's \"quoted\" $HOME"}}]}])
    with Store(str(tmp_path / "store.db")) as store:
        engine.add_application(store, app_file)
        result = converge(store, "started", registry())
        assert result["failed_operations"] == [] and set(states(result).values()) == {"deployed_started"}
        # Child has no deploy playbook of its own: it runs the one of Thing, which it extends.
        with open(os.path.join(noop_dir(store, "/host/child"), "base-deploy.txt"), encoding="utf-8") as handle:
            assert handle.read() == "Child /host/child"
        assert read_json(os.path.join(noop_dir(store, "/host/child"), "data.json")) == {
            "text": hostile, "quote": "it's \"quoted\" $HOME"}
        assert not (tmp_path / "pwned").exists()
        # Thing has no start playbook: its start ran nothing.
        starts = [op for op in result["operations"] if op["operation"] == "start"]
        assert "batch" not in next(op for op in starts if op["path"] == "/host/thing")


def test_the_deadline_kills_the_whole_run(tmp_path):
    app_file = application(tmp_path, NOOP_ROOT, [{"name": "host", "component": "VM", "children": [
        {"name": "child", "component": "Child", "data": {"slow_stop": True}}]}])
    with Store(str(tmp_path / "store.db")) as store:
        engine.add_application(store, app_file)
        assert converge(store, "started", registry())["failed_operations"] == []
        result = converge(store, "stopped", registry(), timeout=25.0)
        pid_file = os.path.join(noop_dir(store, "/host/child"), "stop.pid")
        assert os.path.exists(pid_file), result
        with open(pid_file, encoding="utf-8") as handle:
            pid = int(handle.read())
        [stop] = [op for op in result["operations"] if op["operation"] == "stop"]
        assert not stop["ok"] and "deadline" in stop["error"]
        # ansible-runner killed ansible-playbook's process group, the task's sleep included.
        wait_until(lambda: not pid_alive(pid), what="the stop task's process to be gone", timeout=30)
        assert states(result)["/host/child"] == "deployed_stopped"      # a failed stop still stops


def test_a_missing_role_is_named(tmp_path):
    nowhere = {"installer": "ansible", "recipes": "recipes/marker", "options": {"role": "no.such.role"},
               "exports": {"ip": None, "port": 1}}
    app_file = application(tmp_path, NOOP_ROOT, [{"name": "host", "component": "VM", "children": [
        {"name": "db", "component": "Db"}]}], extra={"Db": nowhere})
    with Store(str(tmp_path / "store.db")) as store:
        engine.add_application(store, app_file)
        result = converge(store, "started", registry())
        [failed] = result["failed_operations"]
        assert "the role 'no.such.role' of component Db is nowhere" in failed["error"]
        assert states(result)["/host/db"] == "not_deployed"


# -- through ansible-playbook and ansible-runner ----------------------------------------------------

def _check_module_results(results: dict, store_path: Path, local_root: str) -> None:
    assert results["checked"]["changed"] is True
    assert all("batch" not in op for op in results["checked"]["operations"])      # nothing ran
    started = results["started"]
    assert started["changed"] is True and started["failed_operations"] == []
    assert {i["state"] for i in started["instances"]} == {"deployed_started"}
    starts = [op for op in started["operations"] if op["operation"] == "start" and op["path"].endswith("/app")]
    assert len(starts) == 2 and starts[0]["batch"] == starts[1]["batch"] and starts[0]["batch_hosts"] == 2
    assert results["again"]["changed"] is False and results["again"]["operations"] == []
    assert results["stopped"]["failed_operations"] == []
    checked = {op["path"]: op for op in results["checked_start"]["operations"] if op["operation"] == "start"}
    assert checked["/db-vm/db"]["checked"] is True and checked["/db-vm/db"]["batch_hosts"] == 1
    assert "checked" not in checked["/vm 1/app"]         # its Db is not started now: not in the first wave
    assert results["checked_start"]["changed"] is True
    undeployed = results["undeployed"]
    assert undeployed["failed_operations"] == [] and {i["state"] for i in undeployed["instances"]} == {"not_deployed"}
    assert [op for op in undeployed["operations"] if op["operation"] == "undeploy" and "batch" in op]
    with Store(str(store_path)) as store:
        folder = os.path.join(os.path.realpath(local_root), ".fleet-" + store.fleet)
        assert [name for name in os.listdir(folder) if not name.startswith(".")] == []     # no sandbox left


def _local_app(tmp_path: Path, local_root: str) -> str:
    return application(tmp_path, {"installer": "server", "provider": "local",
                                  "provider_options": {"root": local_root, "heartbeat_interval": 1}},
                       [dict(i) for i in LIFECYCLE_INSTANCES])


def test_through_ansible_playbook(tmp_path, local_root):
    from .helpers import PLAYBOOKS, run_playbook
    app_file, out, store = _local_app(tmp_path, local_root), tmp_path / "results.json", tmp_path / "store.db"
    run = run_playbook(tmp_path, str(PLAYBOOKS / "ansible_installer.yml"), "-e", json.dumps(
        {"app_file": app_file, "out": str(out)}), store=store, timeout=900)
    assert run.rc == 0, run
    _check_module_results(read_json(out), store, local_root)


def test_through_ansible_runner(tmp_path, local_root):
    import ansible_runner

    from .helpers import BIN, PLAYBOOKS
    app_file, out, store = _local_app(tmp_path, local_root), tmp_path / "results.json", tmp_path / "store.db"
    private = tmp_path / "runner"
    private.mkdir()
    result = ansible_runner.run(
        private_data_dir=str(private), playbook=str(PLAYBOOKS / "ansible_installer.yml"),
        extravars={"app_file": app_file, "out": str(out)},
        envvars={"ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"], "APPGRAPH_STORE": str(store),
                 "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
                 "PATH": "%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", ""))},
        quiet=True, timeout=900)
    assert result.status == "successful", result.stdout.read()
    _check_module_results(read_json(out), store, local_root)


def test_a_malformed_playbook_fails_its_instances_with_ansibles_own_words(tmp_path):
    app_file = application(tmp_path, NOOP_ROOT, [{"name": "host", "component": "VM", "children": [
        {"name": "thing", "component": "Thing", "count": 2}]}])
    (tmp_path / "recipes" / "base" / "playbooks" / "deploy.yml").write_text(
        "- hosts: all\n  tasks:\n    - ansible.builtin.debug: {msg: [unclosed\n", encoding="utf-8")
    with Store(str(tmp_path / "store.db")) as store:
        engine.add_application(store, app_file)
        result = converge(store, "deployed", registry())
        failed = {op["path"]: op for op in result["failed_operations"]}
        assert sorted(failed) == ["/host/thing 1", "/host/thing 2"]
        error = failed["/host/thing 1"]["error"]
        assert "the run ended without finishing" in error and "deploy.yml" in error, error
        assert states(result)["/host/thing 1"] == "not_deployed"


CONVERGE = """
import sys
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
with Store(sys.argv[1]) as store:
    engine.converge_application(store, "ans", sys.argv[2], timeout=300)
"""


def test_a_run_killed_in_the_middle_is_carried_on_by_the_next(tmp_path):
    """kill -9 of the process whose playbook is running: its playbook dies with it (on the old
    code it lived on, and its stop ran beside the next run's), the store says the stop is under
    way, and the next run (another process) adopts it and stops the instance."""
    import signal
    import subprocess

    from ansible_collections.appgraph.lifecycle.tests.helpers.paths import COLLECTIONS_ROOT
    hold = tmp_path / "hold"
    app_file = application(tmp_path, NOOP_ROOT, [{"name": "host", "component": "VM", "children": [
        {"name": "child", "component": "Child", "data": {"hold": str(hold)}}]}])
    store_path = str(tmp_path / "store.db")
    with Store(store_path) as store:
        engine.add_application(store, app_file)
        assert converge(store, "started", registry())["failed_operations"] == []
    hold.write_text("", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS_ROOT))
    proc = subprocess.Popen([sys.executable, "-c", CONVERGE, store_path, "stopped"], env=env)
    held = os.path.join(store_path + ".work", safe_name("ans"), "instances", safe_name("/host/child"), "held.pid")
    try:
        wait_until(lambda: os.path.exists(held), what="the stop playbook to be running", timeout=120)
        with open(held, encoding="utf-8") as handle:
            task = int(handle.read())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        wait_until(lambda: not pid_alive(task), what="the killed run's task to die with it", timeout=30)
        assert not [line for line in _command_lines() if os.path.join(str(tmp_path), "store.db.work") in line]
        with Store(store_path) as store:
            assert store.instance_rows("ans")["/host/child"].state.state == "stopping"   # on disk: under way
        hold.unlink()
        with Store(store_path) as store:
            result = converge(store, "stopped", registry())
            assert result["failed_operations"] == []
            assert states(result)["/host/child"] == "deployed_stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
        if hold.exists():
            hold.unlink()


def _command_lines() -> list:
    """Every process's command line (what is left of a run names its folder)."""
    lines = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                lines.append(handle.read().replace(b"\0", b" ").decode("utf-8", "replace"))
        except OSError:
            continue
    return lines


def test_two_processes_on_one_store_run_each_playbook_once(tmp_path):
    import subprocess

    from ansible_collections.appgraph.lifecycle.tests.helpers.paths import COLLECTIONS_ROOT
    app_file = application(tmp_path, NOOP_ROOT, [{"name": "host", "component": "VM", "children": [
        {"name": "child", "component": "Child", "count": 3}]}])
    store_path = str(tmp_path / "store.db")
    with Store(store_path) as store:
        engine.add_application(store, app_file)
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS_ROOT))
    other = subprocess.Popen([sys.executable, "-c", CONVERGE, store_path, "started"], env=env)
    try:
        with Store(store_path) as store:
            result = converge(store, "started", registry())
        assert other.wait(300) == 0
    finally:
        if other.poll() is None:
            other.kill()
    assert result["failed_operations"] == []
    with Store(store_path) as store:
        rows = store.instance_rows("ans")
        assert {p: r.state.state for p, r in rows.items()} == {p: "deployed_started" for p in rows}
    for n in (1, 2, 3):
        log = os.path.join(store_path + ".work", safe_name("ans"), "instances", safe_name("/host/child %d" % n),
                           "starts.log")
        with open(log, encoding="utf-8") as handle:
            assert handle.read() == "start\n"         # one start each, whichever process ran it
