# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""provision, deprovision, export and import end to end through ansible-playbook (the playbooks that
mirror DFE's dfe:* commands) and ansible-runner, with a SQLite and a PostgreSQL tenant database."""

from __future__ import annotations

import glob
import json
import os

import pytest

from ansible_collections.appgraph.lifecycle.tests.unit.provisioning.helpers import (
    fill_tenant, sqlite_dump, tree_state, write_config)

from .helpers import BIN, run_playbook

REPO_PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "playbooks")


def play(workdir, name, *args, **extra):
    return run_playbook(workdir, os.path.abspath(os.path.join(REPO_PLAYBOOKS, name)), *args, **extra)


def stored_parts(store) -> dict:
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.provisioning import provision_status
    return provision_status(str(store), "shop1")["provisions"][0]


def round_trip(workdir, config: str) -> tuple:
    """provision (twice: the second changes nothing), export, deprovision, import; the stored row
    after each, and the playbook runs."""
    first = play(workdir, "provision.yml", "-v", owner_id="acme", instance_id="shop1", provisioners=config,
                 offerings={"version": "2.0"})
    assert first.rc == 0 and first.recap["changed"] == 1, first
    again = play(workdir, "provision.yml", owner_id="acme", instance_id="shop1", provisioners=config)
    assert again.rc == 0 and again.recap["changed"] == 0, again
    check = play(workdir, "deprovision.yml", "--check", "--diff", instance_id="shop1")
    assert check.rc == 0 and stored_parts(workdir / "store.db")["state"] == "provisioned", check
    row = stored_parts(workdir / "store.db")
    fill_tenant(row["parts"])
    tree = tree_state(row["parts"]["storage"]["path"])
    if row["parts"]["database"]["driver"] == "sqlite":
        tree["database"] = sqlite_dump(row["parts"]["database"]["path"])
    exported = play(workdir, "export.yml", instance_id="shop1", destination=str(workdir / "backups"))
    assert exported.rc == 0, exported
    snapshot = glob.glob(str(workdir / "backups" / "shop1-*.tar.gz"))
    assert len(snapshot) == 1
    gone = play(workdir, "deprovision.yml", instance_id="shop1")
    assert gone.rc == 0 and gone.recap["changed"] == 1, gone
    assert stored_parts(workdir / "store.db")["state"] == "deprovisioned"
    back = play(workdir, "import.yml", owner_id="acme", instance_id="shop1", snapshot=snapshot[0], provisioners=config)
    assert back.rc == 0 and back.recap["changed"] == 1, back
    after = stored_parts(workdir / "store.db")
    assert after["state"] == "provisioned" and after["operation"] == "import" and after["offerings"] == {
        "version": "2.0"}
    return row, tree, after, first


def test_sqlite_tenant_round_trip_through_ansible_playbook(workdir, local_root):
    config = write_config(workdir, local_root)
    row, tree, after, _first = round_trip(workdir, config)
    assert sqlite_dump(after["parts"]["database"]["path"]) == tree.pop("database")
    assert tree_state(after["parts"]["storage"]["path"]) == tree
    assert row["parts"]["database"]["path"] == after["parts"]["database"]["path"]
    done = play(workdir, "deprovision.yml", instance_id="shop1")
    assert done.rc == 0


def test_postgresql_tenant_round_trip_and_the_password_is_masked(workdir, local_root, postgresql_dsn):
    psycopg = pytest.importorskip("psycopg")
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.postgresql_db import tenant_name
    config = write_config(workdir, local_root, database={"name": "postgresql",
                                                         "options": {"dsn": postgresql_dsn, "prefix": "it_"}})
    try:
        row, tree, after, first = round_trip(workdir, config)
        with open(os.path.join(row["parts"]["storage"]["path"], "private", ".database.json"), encoding="utf-8") as f:
            credentials = json.load(f)
        assert credentials["password"] not in first.stdout + first.stderr
        assert '"database_password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in first.stdout
        tree.pop("private/.database.json")
        now = tree_state(after["parts"]["storage"]["path"])
        now.pop("private/.database.json")
        assert now == tree
        with psycopg.connect(host=credentials["host"], port=credentials["port"], dbname=credentials["dbname"],
                             user=credentials["user"]) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == tenant_name("it_", "shop1")
        assert play(workdir, "deprovision.yml", instance_id="shop1").rc == 0
    finally:
        with psycopg.connect(postgresql_dsn, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % tenant_name("it_", "shop1"))
            admin.execute("DROP ROLE IF EXISTS %s" % tenant_name("it_", "shop1"))


def test_a_bad_provisioners_file_fails_with_its_line(workdir, local_root):
    config = workdir / "bad.yml"
    config.write_text("provisioners:\n  df:\n    provides:\n      instance: servr\n", encoding="utf-8")
    run = play(workdir, "provision.yml", owner_id="acme", instance_id="shop1", provisioners=str(config))
    assert run.rc != 0
    failure = run.failures()[0]
    assert failure["error_location"]["line"] == 4 and "did you mean 'server'" in failure["msg"], failure


def test_the_four_services_through_ansible_runner(workdir, local_root):
    ansible_runner = pytest.importorskip("ansible_runner")
    config = write_config(workdir, local_root)
    env = {"ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"], "APPGRAPH_STORE": str(workdir / "s.db"),
           "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
           "PATH": "%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", ""))}
    results = {}
    snapshot = str(workdir / "shop1.tar.gz")
    for name, extra in (("provision.yml", {"owner_id": "acme", "instance_id": "shop1", "provisioners": config}),
                        ("export.yml", {"instance_id": "shop1", "destination": snapshot}),
                        ("deprovision.yml", {"instance_id": "shop1"}),
                        ("import.yml", {"owner_id": "acme", "instance_id": "shop1", "snapshot": snapshot,
                                        "provisioners": config}),
                        ("deprovision.yml", {"instance_id": "shop1"})):
        private = workdir / ("runner-%d" % len(results))
        private.mkdir()
        run = ansible_runner.run(private_data_dir=str(private), playbook=os.path.abspath(os.path.join(
            REPO_PLAYBOOKS, name)), extravars=extra, envvars=env, quiet=True, timeout=120)
        assert run.status == "successful", run.stdout.read()
        res = [e["event_data"]["res"] for e in run.events if e["event"] == "runner_on_ok"
               and e["event_data"]["task_action"] == "appgraph.lifecycle.provision"][0]
        results[len(results)] = (name, res)
    services = ["provision", "export", "deprovision", "import", "deprovision"]
    assert [r["service"] for _n, r in results.values()] == services
    assert results[1][1]["snapshot"]["path"] == snapshot and os.path.exists(snapshot)
    assert results[3][1]["provision"]["state"] == "provisioned"
    assert results[3][1]["events"][-1] == "imported"
