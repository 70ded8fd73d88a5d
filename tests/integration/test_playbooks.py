# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules through real `ansible-playbook` runs (noop installers, a temporary SQLite store)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from .helpers import BAD_APP, BAD_LINE, SHOP_APP, SHOP_PATHS, run_playbook


def store_picture(path):
    """Everything a run could change: application versions, instance rows, the event count."""
    with Store(str(path)) as store:
        apps = {name: store.application(name).version for name in store.application_names()}
        rows = {name: {p: (r.state.state, r.state.desired, r.exports) for p, r in store.instance_rows(name).items()}
                for name in apps}
        return apps, rows, len(store.events())


def states(path, application):
    with Store(str(path)) as store:
        return {p: r.state.state for p, r in store.instance_rows(application).items()}


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """The shop application added and started by a first run (with --diff)."""
    workdir = tmp_path_factory.mktemp("started")
    (workdir / "shop.app.yml").write_text(SHOP_APP, encoding="utf-8")
    run = run_playbook(workdir, "start.yml", "--diff", app_file=str(workdir / "shop.app.yml"))
    return workdir, run


def test_first_run_adds_and_starts_everything(started):
    workdir, run = started
    assert run.rc == 0, run
    assert run.recap["changed"] == 1 and run.recap["failed"] == 0
    assert states(workdir / "store.db", "shop") == {path: "deployed_started" for path in SHOP_PATHS}


def test_diff_mode_shows_the_states_that_change(started):
    _workdir, run = started
    assert run.rc == 0, run
    assert "--- before" in run.stdout and "+++ after" in run.stdout
    for path in SHOP_PATHS:
        assert '+    "%s": "deployed_started"' % path in run.stdout, run


def test_second_run_changes_nothing(started):
    workdir, _run = started
    before = store_picture(workdir / "store.db")
    run = run_playbook(workdir, "start.yml", app_file=str(workdir / "shop.app.yml"))
    assert run.rc == 0, run
    assert run.recap["changed"] == 0 and run.recap["failed"] == 0
    apps, rows, _events = store_picture(workdir / "store.db")
    assert (apps, rows) == before[:2]


def test_check_mode_plans_but_changes_nothing(started):
    workdir, _run = started
    before = store_picture(workdir / "store.db")
    run = run_playbook(workdir, "start.yml", "--check", "--diff", app_file=str(workdir / "shop.app.yml"),
                       app_state="undeployed", expected_state="not_deployed")
    assert run.rc == 0, run
    assert run.recap["changed"] == 1                        # the plan: everything would be undeployed
    assert '+    "/db-vm": "not_deployed"' in run.stdout
    assert store_picture(workdir / "store.db") == before    # ... and nothing was


def test_check_mode_on_a_new_application_plans_against_the_file(workdir):
    run = run_playbook(workdir, "start.yml", "--check", app_file=str(workdir / "shop.app.yml"))
    assert run.rc == 0, run                                 # the plan's states are asserted in the play
    assert run.recap["changed"] == 1
    assert store_picture(workdir / "store.db") == ({}, {}, 0)


def test_bad_application_file_fails_the_task_naming_file_and_line(workdir):
    bad = workdir / "bad.app.yml"
    run = run_playbook(workdir, "bad_file.yml", app_file=str(bad))
    assert run.rc != 0 and run.recap["failed"] == 1, run
    [failure] = run.failures()
    assert "%s:%d" % (bad, BAD_LINE) in failure["msg"]
    assert "Nope" in failure["msg"] and "hint" in failure["msg"]
    assert failure["error_location"]["file"] == str(bad)
    assert failure["error_location"]["line"] == BAD_LINE
    assert failure["error_location"]["key"] == "imports"
    assert failure["error_kind"] in ("InputError", "InputErrors")
    assert "Traceback" not in run.stdout + run.stderr
    assert BAD_APP.splitlines()[BAD_LINE - 1].strip().startswith("imports:")


def test_refusals_waiting_for_an_ancestor_the_picture_and_failed_operations(workdir):
    picture = workdir / "tiers.svg"
    run = run_playbook(workdir, "behaviours.yml", app_file=str(workdir / "tiers.app.yml"), picture=str(picture),
                       failing_file=str(workdir / "failing.app.yml"))
    assert run.rc == 0, run                      # every expectation is an assert task in the play
    assert run.recap["failed"] == 0 and run.recap["ignored"] == 3, run
    root = ET.parse(str(picture)).getroot()
    nodes = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if "node" in (g.get("class") or "").split()]
    assert sorted(g.get("data-path") for g in nodes) == ["/host", "/host/container", "/host/container/app"]
    assert all(g.get("data-state") == "deployed_started" for g in nodes)
    with Store(str(workdir / "store.db")) as store:
        assert store.application_names() == ["failing"]   # tiers: undeployed, then removed


def test_a_roboconf_directory_is_accepted_where_a_file_is(workdir, repo_root):
    lamp = repo_root / "tests" / "unit" / "fixtures" / "roboconf-examples" / "lamp-webapp-bash"
    planned = run_playbook(workdir, "start.yml", "--check", app_file=str(lamp))
    assert planned.rc == 0, planned                     # every instance would reach deployed_started
    added = run_playbook(workdir, "start.yml", app_file=str(lamp), app_state="present",
                         expected_state="not_deployed")
    assert added.rc == 0 and added.recap["changed"] == 1, added
    with Store(str(workdir / "store.db")) as store:
        [name] = store.application_names()
        paths = set(store.instance_rows(name))
    assert {"/Apache VM", "/Tomcat VM 1", "/Tomcat VM 2", "/MySQL VM"} <= paths
    assert {"/Tomcat VM 1/Tomcat", "/Tomcat VM 2/Tomcat", "/Tomcat VM 1/Tomcat/DemoApp"} <= paths


def test_a_parallelism_of_zero_is_a_clear_error_not_a_traceback(tmp_path):
    run = run_playbook(tmp_path, "reconcile_parallelism.yml", parallelism=0)
    assert run.rc != 0
    failure = run.failures()[0]
    assert failure["msg"] == "parallelism must be at least 1, got 0"
    assert "internal error" not in run.stdout and failure["error_location"]["key"] == "parallelism"


def test_a_missing_installer_is_refused_before_anything_is_made(workdir):
    """It used to pass check mode, then create the servers and fail on the first operation that
    needed it. Now check mode says which operations would fail, and the run makes nothing."""
    planned = run_playbook(workdir, "start.yml", "--check", app_file=str(workdir / "puppets.app.yml"))
    assert planned.rc != 0
    failure = planned.failures()[0]
    assert [(op["operation"], op["path"]) for op in failure["failed_operations"]] == [
        ("deploy", "/host/thing"), ("start", "/host/thing")]
    assert "needs the installer 'puppet', which nobody provides" in failure["msg"]
    run = run_playbook(workdir, "start.yml", app_file=str(workdir / "puppets.app.yml"))
    assert run.rc != 0
    failure = run.failures()[0]
    assert failure["error_kind"] == "PermanentError" and "nothing was done" in failure["msg"]
    assert states(workdir / "store.db", "puppets") == {"/host": "not_deployed", "/host/thing": "not_deployed"}
