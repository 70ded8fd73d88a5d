# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``ansible`` installer's parts that need no Ansible run: batches, variables, recipes, hosts.

(tests/integration/test_ansible_installer.py runs the real thing.)
"""

from __future__ import annotations

import json
import os
import sys
import threading

import pytest
import yaml

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InstallerError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.ansible_installer import (
    AnsibleInstaller, find_recipe)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.ansible_batch import Collector
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.ansible_run import (
    HostOutcome, RunOutcome, collections_path, read_outcome, run_strategy)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.ansible_vars import (
    instance_vars, inventory_file, inventory_yaml)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.base import InstallResult, OperationContext
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.script_targets import Remote
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.application import Component, ImportSpec
from ansible_collections.appgraph.lifecycle.plugins.module_utils.names import safe_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ExecResult
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh import SshProvider


def component(recipe_dirs=(), options=None, name="Web"):
    return Component(name=name, installer="ansible", children=frozenset(),
                     exports={name: {"ip": None, "port": 8080}, "Facet": {"port": 1}},
                     imports=(ImportSpec("Db", "ip"), ImportSpec("Db", "port"), ImportSpec("Cache", "*", optional=True)),
                     recipes=recipe_dirs[0] if recipe_dirs else None, recipe_dirs=tuple(recipe_dirs),
                     options=dict(options or {}))


def context(comp, operation="start", **kwargs):
    values = dict(application="shop", operation=operation, path="/vm 1/web", name="web", component=comp,
                  exports={"Web.ip": "10.0.0.1", "Web.port": 8080, "Facet.port": 1},
                  imports={"Db": {"/db-vm 2/db": {"ip": "10.0.0.3", "port": 5433},
                                  "/db-vm 1/db": {"ip": "10.0.0.2", "port": 5432}}},
                  old_imports={"Db": {"/db-vm 1/db": {"ip": "10.0.0.2", "port": 5432}}},
                  ancestors=[("VM", {"VM.ip": "10.0.0.1"}), ("Rack", {"Rack.zone": "eu"}), ("VM", {"VM.ip": "far"})],
                  root="/vm 1", data={"zone": "eu west"})
    values.update(kwargs)
    return OperationContext(**values)


# -- batches ---------------------------------------------------------------------------------------

def test_items_submitted_together_run_in_one_batch_and_each_gets_its_own_result():
    runs = []

    def run_batch(key, items):
        runs.append((key, sorted(i for i, _p in items)))
        return {i: (ValueError("no %s" % i) if payload == "bad" else payload * 2) for i, payload in items}

    collector = Collector(run_batch, window=30.0, max_size=3)      # full at 3: no waiting at all
    results, errors = {}, {}

    def submit(item_id, payload):
        try:
            results[item_id] = collector.submit("k", item_id, payload)
        except ValueError as exc:
            errors[item_id] = str(exc)

    threads = [threading.Thread(target=submit, args=(i, p)) for i, p in (("a", "x"), ("b", "bad"), ("c", "y"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert runs == [("k", ["a", "b", "c"])]
    assert results == {"a": "xx", "c": "yy"} and errors == {"b": "no b"}


def test_a_batch_waits_for_the_announced_items_past_quiet_windows():
    runs = []
    collector = Collector(lambda key, items: runs.append(len(items)) or {i: i for i, _p in items},
                          window=0.0, max_wait=60.0)        # no quiet window: only the announcement holds it
    threads = [threading.Thread(target=collector.submit, args=("k", i, None, 3)) for i in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert runs == [3]


def test_a_lone_item_runs_after_the_window_and_keys_never_share_a_batch():
    seen = []
    collector = Collector(lambda key, items: seen.append((key, len(items))) or {i: key for i, _p in items},
                          window=0.001)
    assert collector.submit("deploy", "/a", None) == "deploy"
    assert collector.submit("start", "/a", None) == "start"
    assert seen == [("deploy", 1), ("start", 1)]


def test_a_batch_that_raises_fails_every_item_and_the_next_batch_opens_anew():
    calls = []

    def run_batch(key, items):
        calls.append(len(items))
        if len(calls) == 1:
            raise RuntimeError("ansible-runner is missing")
        return {i: "ok" for i, _p in items}

    collector = Collector(run_batch, window=0.001)
    with pytest.raises(RuntimeError, match="ansible-runner is missing"):
        collector.submit("k", "/a", None)
    assert collector.submit("k", "/a", None) == "ok"


def test_an_item_the_batch_leaves_out_is_an_error():
    collector = Collector(lambda key, items: {}, window=0.001)
    with pytest.raises(RuntimeError, match="gave no result"):
        collector.submit("k", "/a", None)


class Runs:
    """A ``run_batch`` whose runs block until the test lets each one end, and a record of what
    joined which batch: every step is an Event, nothing waits for time to pass."""

    def __init__(self):
        self.started = []                   # [(key, [item ids])], in the order the runs started
        self.begun = {}                     # item id -> Event: set when a run holding it started
        self.release = {}                   # item id -> Event: the run holding it ends when set
        self.joined = {}                    # item id -> Event: set when it joined a batch
        self.lock = threading.Lock()

    def event(self, table, item_id):
        with self.lock:
            return table.setdefault(item_id, threading.Event())

    def on_join(self, _key, item_id, _size):
        self.event(self.joined, item_id).set()

    def __call__(self, key, items):
        ids = [i for i, _p in items]
        with self.lock:
            self.started.append((key, ids))
        for item_id in ids:
            self.event(self.begun, item_id).set()
        for item_id in ids:
            assert self.event(self.release, item_id).wait(60), "the test never let %s end" % item_id
        return {i: "ran %s" % "+".join(ids) for i in ids}


def submitting(collector, key, item_id, results, **kwargs):
    thread = threading.Thread(target=lambda: results.__setitem__(item_id, collector.submit(key, item_id, None, **kwargs)))
    thread.start()
    return thread


def test_an_item_that_comes_while_the_run_of_its_key_goes_waits_in_the_next_batch_with_the_others():
    runs = Runs()
    collector = Collector(runs, window=0.0, on_join=runs.on_join)
    results = {}
    threads = [submitting(collector, "k", "a", results)]
    assert runs.event(runs.begun, "a").wait(60)          # a lone item starts at once: no timer holds it
    for item_id in "bcd":                                # they trickle in while a's run goes
        threads.append(submitting(collector, "k", item_id, results))
        assert runs.event(runs.joined, item_id).wait(60)
    assert runs.started == [("k", ["a"])]                # pending, not started: one run of k at a time
    runs.event(runs.release, "a").set()
    assert runs.event(runs.begun, "b").wait(60)
    assert runs.started == [("k", ["a"]), ("k", ["b", "c", "d"])]
    for item_id in "bcd":
        runs.event(runs.release, item_id).set()
    for thread in threads:
        thread.join(60)
    assert results == {"a": "ran a", "b": "ran b+c+d", "c": "ran b+c+d", "d": "ran b+c+d"}


def test_with_two_runs_at_once_the_second_starts_beside_the_first_and_the_third_gathers():
    runs = Runs()
    collector = Collector(runs, window=0.0, on_join=runs.on_join)
    results = {}
    threads = [submitting(collector, "k", "a", results, runs=2)]
    assert runs.event(runs.begun, "a").wait(60)
    threads.append(submitting(collector, "k", "b", results, runs=2))
    assert runs.event(runs.begun, "b").wait(60)          # a free run: it starts at once
    for item_id in "cd":
        threads.append(submitting(collector, "k", item_id, results, runs=2))
        assert runs.event(runs.joined, item_id).wait(60)
    other = submitting(collector, "other key", "x", results)
    assert runs.event(runs.begun, "x").wait(60)          # keys never wait for each other
    assert sorted(ids for _key, ids in runs.started) == [["a"], ["b"], ["x"]]
    runs.event(runs.release, "b").set()                  # either run's end lets the gathered batch go
    assert runs.event(runs.begun, "c").wait(60)
    assert runs.started[-1] == ("k", ["c", "d"])
    for item_id in "acdx":
        runs.event(runs.release, item_id).set()
    for thread in threads + [other]:
        thread.join(60)
    assert results["c"] == results["d"] == "ran c+d" and results["a"] == "ran a"


def test_a_run_that_raises_frees_its_place_for_the_gathered_batch():
    runs = Runs()
    failing = threading.Event()

    def run_batch(key, items):
        if items[0][0] == "a":
            assert failing.wait(60)
            raise RuntimeError("ansible-runner is missing")
        return runs(key, items)

    collector = Collector(run_batch, window=0.0, on_join=runs.on_join)
    errors, results = {}, {}

    def first():
        try:
            collector.submit("k", "a", None)
        except RuntimeError as exc:
            errors["a"] = str(exc)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert runs.event(runs.joined, "a").wait(60)
    threads.append(submitting(collector, "k", "b", results))
    assert runs.event(runs.joined, "b").wait(60)
    runs.event(runs.release, "b").set()
    failing.set()
    for thread in threads:
        thread.join(60)
    assert errors == {"a": "ansible-runner is missing"} and results == {"b": "ran b"}


def test_a_gathered_batch_past_its_deadline_starts_without_waiting_for_the_run_in_flight():
    """Its run_batch then fails its late items at once (the installer: no time left), rather than
    when the run in flight ends."""
    now = [100.0]
    runs = Runs()
    collector = Collector(runs, window=0.0, clock=lambda: now[0], on_join=runs.on_join)
    results = {}
    threads = [submitting(collector, "k", "a", results)]
    assert runs.event(runs.begun, "a").wait(60)
    threads.append(submitting(collector, "k", "b", results, deadline=500.0))
    assert runs.event(runs.joined, "b").wait(60)
    threads.append(submitting(collector, "k", "late", results, deadline=99.0))   # already past on the clock
    assert runs.event(runs.begun, "late").wait(60)
    assert runs.started == [("k", ["a"]), ("k", ["b", "late"])]
    for item_id in ("a", "b", "late"):
        runs.event(runs.release, item_id).set()
    for thread in threads:
        thread.join(60)
    assert results["late"] == "ran b+late"


@pytest.mark.parametrize("runs", [0, -1, 1.5, True, "2", None])
def test_runs_must_be_a_positive_integer(runs):
    collector = Collector(lambda key, items: {i: i for i, _p in items}, window=0.0)
    with pytest.raises(ValueError, match="integer >= 1"):
        collector.submit("k", "a", None, runs=runs)


def test_the_installer_names_a_bad_batch_runs_option(tmp_path):
    recipes = str(tmp_path / "recipes")
    write(os.path.join(recipes, "playbooks", "deploy.yml"))
    installer = AnsibleInstaller(run=None, work_root=str(tmp_path / "work"))
    with pytest.raises(InstallerError, match="options.batch_runs of component Web must be an integer >= 1, got 0"):
        installer.run(context(component([recipes], options={"batch_runs": 0}), "deploy", root_installer="noop"))


# -- variables -------------------------------------------------------------------------------------

def test_the_variables_are_the_script_contract_as_data():
    found = instance_vars(context(component(), operation="update"), "instances/x")
    assert found["appgraph_exports"] == {"ip": "10.0.0.1", "port": 8080}       # the own prefix wins
    assert found["appgraph_imports"] == {
        "Cache": [], "Db": [{"ip": "10.0.0.2", "port": 5432}, {"ip": "10.0.0.3", "port": 5433}]}
    assert found["appgraph_import_paths"]["Db"] == ["/db-vm 1/db", "/db-vm 2/db"]
    assert found["appgraph_old_imports"]["Db"] == [{"ip": "10.0.0.2", "port": 5432}]
    assert found["appgraph_ancestors"] == {"VM": {"ip": "10.0.0.1"}, "Rack": {"zone": "eu"}}    # nearest wins
    assert found["appgraph_data"] == {"zone": "eu west"}
    assert (found["appgraph_instance_path"], found["appgraph_instance_name"], found["appgraph_component"],
            found["appgraph_application"], found["appgraph_operation"]) == ("/vm 1/web", "web", "Web", "shop", "update")
    assert instance_vars(context(component(), operation="start"), "d")["appgraph_old_imports"] == {}


def test_every_string_of_the_instance_is_unsafe_in_the_inventory():
    hostile = "{{ lookup('pipe', 'id') }}"
    text = inventory_yaml({"/vm 1/web": {"ansible_connection": "local", "appgraph_data": {"x": hostile, "n": 3},
                                         "appgraph_imports": {"Db": [{"ip": hostile}]}}})

    class Loader(yaml.SafeLoader):     # pylint: disable=too-many-ancestors
        """A SafeLoader that shows which strings are tagged !unsafe."""

    Loader.add_constructor("!unsafe", lambda load, node: ("unsafe", load.construct_scalar(node)))
    host = yaml.load(text, Loader=Loader)["all"]["hosts"]["/vm 1/web"]      # noqa: S506
    assert host["ansible_connection"] == "local" and host["appgraph_data"]["n"] == 3
    assert host["appgraph_data"]["x"] == ("unsafe", hostile)
    assert host["appgraph_imports"]["Db"][0]["ip"] == ("unsafe", hostile)


def test_the_runs_use_the_batched_strategy_only_with_an_ansible_core_it_was_tested_with():
    assert run_strategy({}, "2.19.4") == "appgraph.lifecycle.batched"
    assert run_strategy({}, "2.20.0") == "ansible.builtin.linear"
    assert run_strategy({}, "") == "ansible.builtin.linear"
    assert run_strategy({"APPGRAPH_ANSIBLE_STRATEGY": "ansible.builtin.free"}, "2.19.4") == "ansible.builtin.free"
    assert run_strategy({}) in ("appgraph.lifecycle.batched", "ansible.builtin.linear")      # this ansible-core's


def test_the_inventory_is_json_unless_a_key_is_one_ansible_json_reads_as_its_own():
    plain = {"/vm 1/web": {"ansible_connection": "local", "appgraph_data": {"x": "{{ 1 }}", "n": [1, "a"]}}}
    name, text = inventory_file(plain)
    assert name == "hosts.json"
    host = json.loads(text)["all"]["hosts"]["/vm 1/web"]
    assert host == {"ansible_connection": "local",
                    "appgraph_data": {"x": {"__ansible_unsafe": "{{ 1 }}"}, "n": [1, {"__ansible_unsafe": "a"}]}}
    for key in ("__ansible_unsafe", "__ansible_vault", "__ansible_type"):
        name, text = inventory_file({"/vm 1/web": {"appgraph_data": {"deep": [{key: "x"}]}}})
        assert name == "hosts.yml" and key in text


# -- recipes ---------------------------------------------------------------------------------------

def write(path, text="---\n"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def test_an_own_playbook_wins_then_an_inherited_one_then_the_role(tmp_path):
    own, base = str(tmp_path / "own"), str(tmp_path / "base")
    write(os.path.join(own, "playbooks", "start.yml"))
    write(os.path.join(base, "playbooks", "start.yml"))
    write(os.path.join(base, "playbooks", "stop.yaml"))
    write(os.path.join(base, "roles", "svc", "tasks", "deploy.yml"))
    comp = component([own, base], options={"role": "svc"})
    assert find_recipe(comp, "start").playbook == os.path.join(own, "playbooks", "start.yml")
    assert find_recipe(comp, "stop").playbook == os.path.join(base, "playbooks", "stop.yaml")
    deploy = find_recipe(comp, "deploy")
    assert deploy.role == "svc" and deploy.roles_path == (os.path.join(base, "roles"),)
    assert find_recipe(comp, "update") is None                       # neither: nothing to do
    assert find_recipe(component([own]), "deploy") is None


def test_a_role_folder_and_a_collection_role(tmp_path, monkeypatch):
    recipes = str(tmp_path / "recipes")
    write(os.path.join(recipes, "my", "role", "tasks", "start.yml"))
    found = find_recipe(component([recipes], options={"role": "my/role"}), "start")
    assert found.role == os.path.join(recipes, "my", "role")
    collections = tmp_path / "collections"
    write(str(collections / "ansible_collections" / "ns" / "coll" / "roles" / "web" / "tasks" / "stop.yml"))
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", str(collections))
    assert find_recipe(component([recipes], options={"role": "ns.coll.web"}), "stop").role == "ns.coll.web"
    assert find_recipe(component([recipes], options={"role": "ns.coll.web"}), "start") is None


def test_a_role_nowhere_or_not_a_name_is_named(tmp_path):
    with pytest.raises(InstallerError, match=r"the role 'svc' of component Web is nowhere: looked in .*roles/svc"):
        find_recipe(component([str(tmp_path)], options={"role": "svc"}), "start")
    with pytest.raises(InstallerError, match="options.role of component Web must be a role name or folder"):
        find_recipe(component([str(tmp_path)], options={"role": ["svc"]}), "start")


def test_the_run_finds_this_collection_first():
    first = collections_path({"ANSIBLE_COLLECTIONS_PATH": "/elsewhere"}).split(os.pathsep, maxsplit=1)[0]
    assert os.path.isfile(os.path.join(first, "ansible_collections", "appgraph", "lifecycle", "plugins",
                                       "connection", "sandbox.py"))


# -- results of a run ------------------------------------------------------------------------------

class _Runner:
    def __init__(self, events, rc=0, status="successful"):
        self.events, self.rc, self.status = events, rc, status


def test_each_host_gets_its_own_outcome(tmp_path):
    events = [
        {"event": "runner_on_ok", "stdout": "ok: [/a]", "event_data": {"host": "/a"}},
        {"event": "runner_on_failed", "stdout": "fatal: [/b]", "event_data": {
            "host": "/b", "task": "Install", "ignore_errors": False, "res": {"msg": "no package"}}},
        {"event": "runner_on_failed", "event_data": {"host": "/a", "ignore_errors": True, "res": {"msg": "ignored"}}},
        {"event": "runner_on_unreachable", "event_data": {"host": "/c", "task": "Ping", "res": {"msg": "no route"}}},
        {"event": "playbook_on_stats", "event_data": {"failures": {"/b": 1}, "dark": {"/c": 1}, "changed": {"/a": 1}}},
    ]
    outcome = read_outcome(_Runner(events, rc=2, status="failed"), str(tmp_path), "run", ["/a", "/b", "/c"])
    assert outcome.hosts["/a"] == HostOutcome(True, "", "ok: [/a]", True)
    assert not outcome.hosts["/b"].ok and outcome.hosts["/b"].message == "failed task 'Install': no package"
    assert outcome.hosts["/c"].message == "unreachable in task 'Ping': no route"


def test_a_run_without_stats_fails_every_host(tmp_path):
    outcome = read_outcome(_Runner([], rc=254, status="canceled"), str(tmp_path), "run", ["/a"], timed_out=True)
    assert not outcome.hosts["/a"].ok and "deadline" in outcome.hosts["/a"].message


def test_the_installer_maps_a_fake_run_back_to_its_operations(tmp_path):
    """The installer's own logic around a run (a stand-in for ansible-runner here; the real one
    runs in tests/integration): one run, noop roots' directories made, results per instance."""
    recipes = str(tmp_path / "recipes")
    write(os.path.join(recipes, "playbooks", "deploy.yml"))
    calls = []

    def run(directory, playbook, hosts, **kwargs):
        calls.append((playbook, sorted(hosts), kwargs["forks"]))
        return RunOutcome("run", directory, 2, "failed", log_file=os.path.join(directory, "stdout"), hosts={
            "/vm 1/a": HostOutcome(True), "/vm 1/b": HostOutcome(False, "failed task 'x': boom", "fatal: [/vm 1/b]")})

    runs = tmp_path / "work" / "ansible-runs" / safe_name("shop")
    for stamp in ("20200101T000000-old", "20200101T000001-older-but-newer"):
        (runs / stamp).mkdir(parents=True)
    installer = AnsibleInstaller(run=run, work_root=str(tmp_path / "work"), window=10.0, keep_runs=2)
    installer.collector.max_size = 2
    comp = component([recipes])
    out = {}

    def go(path):
        try:
            out[path] = installer.run(context(comp, "deploy", path=path, name=path[-1], root_installer="noop"))
        except InstallerError as exc:
            out[path] = exc

    threads = [threading.Thread(target=go, args=(p,)) for p in ("/vm 1/a", "/vm 1/b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    [(playbook, hosts, forks)] = calls
    assert hosts == ["/vm 1/a", "/vm 1/b"] and forks == 2
    assert playbook == [{"ansible.builtin.import_playbook": os.path.join(recipes, "playbooks", "deploy.yml")}]
    assert isinstance(out["/vm 1/a"], InstallResult) and out["/vm 1/a"].report["batch_hosts"] == 2
    assert "ansible on /vm 1/b failed: failed task 'x': boom" in str(out["/vm 1/b"])
    assert "fatal: [/vm 1/b]" in str(out["/vm 1/b"]) and out["/vm 1/b"].report["batch_hosts"] == 2
    kept = sorted(os.listdir(str(runs)))        # the newest two: the oldest went
    assert kept[0] == "20200101T000001-older-but-newer" and len(kept) == 2
    for path in ("/vm 1/a", "/vm 1/b"):       # made by the installer before the run
        assert os.path.isdir(os.path.join(str(tmp_path / "work"), safe_name("shop"), "instances", safe_name(path)))


def test_operations_ready_while_a_run_of_their_kind_goes_share_the_next_run(tmp_path):
    """The installer's default: one run of a component and kind at a time; each operation's report
    names the run that did it."""
    recipes = str(tmp_path / "recipes")
    write(os.path.join(recipes, "playbooks", "deploy.yml"))
    calls, release, begun, joined = [], threading.Event(), threading.Event(), {}

    def run(directory, playbook, hosts, **kwargs):
        calls.append(sorted(hosts))
        if len(calls) == 1:
            begun.set()
            assert release.wait(60)
        return RunOutcome("run", directory, 0, "successful", hosts={h: HostOutcome(True) for h in hosts})

    installer = AnsibleInstaller(run=run, work_root=str(tmp_path / "work"), window=0.0)
    installer.collector.on_join = lambda key, item_id, size: joined.setdefault(item_id, threading.Event()).set()
    comp, out = component([recipes]), {}

    def go(path):
        out[path] = installer.run(context(comp, "deploy", path=path, name=path[-1], root_installer="noop"))

    threads = [threading.Thread(target=go, args=("/vm 1/a",))]
    threads[0].start()
    assert begun.wait(60)
    for path in ("/vm 2/b", "/vm 3/c"):
        joined.setdefault(path, threading.Event())
        threads.append(threading.Thread(target=go, args=(path,)))
        threads[-1].start()
        assert joined[path].wait(60)
    release.set()
    for thread in threads:
        thread.join(60)
    assert calls == [["/vm 1/a"], ["/vm 2/b", "/vm 3/c"]]
    assert [out[p].report["batch_hosts"] for p in ("/vm 1/a", "/vm 2/b", "/vm 3/c")] == [1, 2, 2]
    assert out["/vm 2/b"].report["batch"] == out["/vm 3/c"].report["batch"] != out["/vm 1/a"].report["batch"]


class Servers:
    """Servers that run ``mkdir`` in folders of their own (a provider's ``exec``, on this machine)."""

    def __init__(self, root, refuse=()):
        self.root, self.refuse, self.calls = root, set(refuse), []

    def exec(self, provider_id, argv, env=None, timeout=None, cwd=None):
        self.calls.append((provider_id, list(argv)))
        paths = argv[argv.index("--") + 1:]
        made = 0
        for path in paths:
            if path in self.refuse:
                continue
            os.makedirs(os.path.join(self.root, provider_id, path), exist_ok=True)
            made += 1
        return ExecResult(rc=0 if made == len(paths) else 1, stdout="", stderr="")


def test_the_directories_of_one_server_are_made_by_one_command_and_a_failure_is_its_own_hosts(tmp_path):
    servers = Servers(str(tmp_path), refuse={"instances/b"})
    installer = AnsibleInstaller(run=None, work_root=str(tmp_path / "work"))
    places = {"/s1/a": "s1", "/s1/b": "s1", "/s1/c": "s1", "/s2/d": "s2"}
    payloads = {path: (context(component(), "deploy", path=path), {}, Remote(servers, server, "instances/" + path[-1], server))
                for path, server in places.items()}
    errors = installer._on_places(payloads, "make")
    assert list(errors) == ["/s1/b"] and "cannot create instances/b on server s1" in str(errors["/s1/b"])
    together = sorted((server, argv[5:]) for server, argv in servers.calls if len(argv) > 6)
    assert together == [("s1", ["instances/a", "instances/b", "instances/c"])]      # then each alone, as it failed
    assert sorted(servers.calls) == sorted([("s1", ["mkdir", "-p", "-m", "0700", "--", "instances/a", "instances/b",
                                                    "instances/c"])] + [(s, ["mkdir", "-p", "-m", "0700", "--", p])
                                                                        for s, p in (("s1", "instances/a"), ("s1", "instances/b"),
                                                                                     ("s1", "instances/c"),
                                                                                     ("s2", "instances/d"))])
    for server, name in (("s1", "a"), ("s1", "c"), ("s2", "d")):
        assert os.path.isdir(os.path.join(str(tmp_path), server, "instances", name))


def test_the_registry_provides_ansible():
    registry = InstallerRegistry()
    assert registry.provides("ansible") and isinstance(registry.get("ansible"), AnsibleInstaller)


# -- connection variables --------------------------------------------------------------------------

def test_an_ssh_slot_gives_ansible_its_user_port_key_and_host_key_checking():
    import tempfile
    control = tempfile.mkdtemp(prefix="ag-")          # short: a socket path has ~104 bytes
    provider = SshProvider(hosts={"box": {"address": "10.0.0.9", "port": 2222, "user": "deploy"}},
                           private_key_file="/keys/id", known_hosts_file="/keys/known hosts",
                           python_interpreter="/usr/bin/python3", environ={"APPGRAPH_SSH_CONTROL_DIR": control})
    found = provider.ansible_vars("box:" + "0" * 16)
    assert found["ansible_host"] == "10.0.0.9" and found["ansible_port"] == 2222 and found["ansible_user"] == "deploy"
    assert found["ansible_ssh_private_key_file"] == "/keys/id"
    assert found["ansible_python_interpreter"] == "/usr/bin/python3"
    assert "StrictHostKeyChecking=yes" in found["ansible_ssh_common_args"]
    assert "'UserKnownHostsFile=\"/keys/known hosts\"'" in found["ansible_ssh_common_args"]
    assert found["appgraph_server_dir"] == ".local/state/appgraph/ssh/box"


def test_a_local_server_is_reached_through_the_sandbox_connection(tmp_path):
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider
    provider = LocalProvider(root=str(tmp_path)).use_fleet("f1")
    found = provider.ansible_vars("shop-vm-1")
    assert found["ansible_connection"] == "appgraph.lifecycle.sandbox"
    assert found["appgraph_sandbox_server"] == "shop-vm-1"
    assert found["appgraph_local_root"] == os.path.join(os.path.realpath(str(tmp_path)), ".fleet-f1")
    assert found["ansible_python_interpreter"] == sys.executable


def test_an_ec2_instance_is_reached_over_ssh_at_its_address():
    pytest.importorskip("boto3")
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ec2 import Ec2Provider
    provider = Ec2Provider(image_id="ami-12345678", ssh_user="ubuntu", ssh_private_key_file="~/.ssh/k",
                           ssh_host_key_checking=False)
    found = provider.ansible_vars("i-0123", "10.1.2.3")
    assert found["ansible_host"] == "10.1.2.3" and found["ansible_user"] == "ubuntu"
    assert found["ansible_ssh_private_key_file"] == os.path.expanduser("~/.ssh/k")
    assert "StrictHostKeyChecking=no" in found["ansible_ssh_common_args"]
    with pytest.raises(Exception, match="has no address yet"):
        provider.ansible_vars("i-0123", None)
