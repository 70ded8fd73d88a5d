# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""reserve, reserve_claim, reserve_info and reconcile through real ``ansible-playbook`` runs: the
examples/reserve site on the ``local`` provider (real agents and HTTP services, stopped at the end
whatever happens), check and diff mode, hostile options, ec2 against the moto server, and
ansible-runner."""

from __future__ import annotations

import json
import os
import re
import time
import uuid

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import reserves as sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider

from .helpers import BIN, PLAYBOOKS, run_playbook

SITE = str(PLAYBOOKS.parent.parent.parent / "examples" / "reserve" / "site.app.yml")
RECONCILE = str(PLAYBOOKS.parent.parent.parent / "playbooks" / "reconcile.yml")


def report(run) -> dict:
    match = re.search(r"REPORT (\{.*?\})\"", run.stdout.replace('\\"', '"'))
    assert match, run
    return json.loads(match.group(1))


def clones(store) -> dict:
    with Store(str(store)) as db:
        return {c.name: c.state for c in sql.clones(db.db)}


def sandboxes(root) -> list:
    """The local servers under ``root``, of every fleet (each store's are in a folder of their own)."""
    return sorted(s.name for s in LocalProvider(root=root).use_fleet(ALL_FLEETS).list_servers())


def test_a_reserve_of_ready_sites_from_a_playbook(tmp_path, local_root):
    store = tmp_path / "store.db"
    common = dict(root=local_root, src=SITE, reserve="shop")

    plan = run_playbook(tmp_path, "reserve_local.yml", "--check", "--diff", **common)      # check mode
    assert plan.rc == 0 and report(plan)["built"] == ["shop-clone-1", "shop-clone-2"], plan
    assert '"full_size": 2' in plan.stdout and "+++ after" in plan.stdout                 # the diff
    assert sandboxes(local_root) == [] and not clones(store)

    run = run_playbook(tmp_path, "reserve_local.yml", "--diff", alias="acme", timeout=300, **common)
    assert run.rc == 0, run
    seen = report(run)
    assert seen["built"] == ["shop-clone-1", "shop-clone-2"] and seen["claim"] == "claimed"
    server = seen["server"]
    assert server["alias"] == "acme" and server["name"] in ("shop-clone-1", "shop-clone-2")
    # the claimed clone answers under its new name, with the template's content, at once
    assert seen["page"]["site"] == "acme" and seen["page"]["products"] == 500
    assert seen["page"]["build"]["seconds"] >= 2
    assert seen["claim_seconds"] < 0.5 and seen["hits"] == 1
    assert sandboxes(local_root) == ["shop-clone-1", "shop-clone-2"]

    again = run_playbook(tmp_path, "reserve_local.yml", alias="acme", timeout=300, **common)
    seen = report(again)
    assert again.rc == 0 and seen["migrated"] == [{"name": server["name"], "alias": "acme"}], again
    assert seen["claim"] == "existing" and seen["page"]["site"] == "acme" and seen["built"] == ["shop-clone-3"]
    assert seen["info"] == {"migrated": 1, "ready": 2}

    quiet = run_playbook(tmp_path, "reserve_local.yml", alias="acme", **common)
    assert quiet.rc == 0 and quiet.recap["changed"] == 0, quiet                          # idempotent

    gone = run_playbook(tmp_path, "reserve_local.yml", alias="acme", claim_state="absent", reserve_state="absent",
                        **common)
    assert gone.rc == 0 and report(gone)["released"]["name"] == server["name"], gone
    assert report(gone)["info"] == {} and clones(store) == {} and sandboxes(local_root) == []


def test_a_cold_create_takes_the_whole_build(tmp_path, local_root):
    common = dict(root=local_root, src=SITE, reserve="cold", full_size=0, minimum_size=0)
    started = time.monotonic()
    run = run_playbook(tmp_path, "reserve_local.yml", alias="walkin", timeout=300, **common)
    took = time.monotonic() - started
    seen = report(run)
    assert run.rc == 0 and seen["claim"] == "fallback" and seen["server"]["fallback_used"], run
    assert seen["server"]["name"] == "walkin" and seen["page"]["site"] == "walkin" and took >= 2
    assert seen["misses"] == 1 and sandboxes(local_root) == ["walkin"]
    empty = run_playbook(tmp_path, "reserve_local.yml", alias="nobody", fallback=False, **common)
    assert empty.rc == 2 and empty.failures()[0]["error_kind"] == "ReserveEmpty", empty
    run_playbook(tmp_path, "reserve_local.yml", alias="walkin", claim_state="absent", reserve_state="absent",
                 **common)
    assert sandboxes(local_root) == []


@pytest.mark.parametrize("option, value", [("refill_window", "22:00"), ("full_size", -3), ("minimum_size", 50)])
def test_hostile_options_fail_clearly_and_write_nothing(tmp_path, local_root, option, value):
    run = run_playbook(tmp_path, "reserve_local.yml", root=local_root, reserve="bad", **{option: value})
    assert run.rc == 2, run
    failure = run.failures()[0]
    assert failure["error_kind"] in ("InputError", "InputErrors") and failure["error_location"]["key"] == option
    assert "Traceback" not in run.stdout and "internal error" not in failure["msg"]
    assert clones(tmp_path / "store.db") == {} and sandboxes(local_root) == []


def test_reconcile_playbook_migrates_and_refills(tmp_path, local_root):
    common = dict(root=local_root, reserve="nightly", full_size=1)
    run = run_playbook(tmp_path, "reserve_local.yml", alias="early", **common)     # bare servers: no page
    assert run.rc == 0 and report(run)["server"]["name"] == "nightly-clone-1", run
    # the scheduled housekeeping migrates the claimed clone and refills the reserve
    swept = run_playbook(tmp_path, RECONCILE)
    assert swept.rc == 0 and '"nightly": ["nightly-clone-2"]' in swept.stdout.replace('\\"', '"'), swept
    assert clones(tmp_path / "store.db") == {"nightly-clone-1": "migrated", "nightly-clone-2": "ready"}
    run_playbook(tmp_path, "reserve_local.yml", alias="early", claim_state="absent", reserve_state="absent",
                 **common)
    assert sandboxes(local_root) == []


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def any_store(request, tmp_path):
    """``(store, reserve name)``: a SQLite file, or the shared PostgreSQL test database (a name of
    this test's own)."""
    if request.param == "sqlite":
        return str(tmp_path / "grouped.db"), "cloud"
    return request.getfixturevalue("postgresql_dsn"), "cloud%s" % uuid.uuid4().hex[:6]


def test_an_ec2_reserve_from_a_playbook(tmp_path, any_store, moto_url, aws, image_id):
    store, reserve = any_store              # not $APPGRAPH_STORE: given through module_defaults
    run = run_playbook(tmp_path, "reserve_ec2.yml", appgraph_store=store, endpoint=moto_url, image_id=image_id,
                       reserve=reserve, alias=reserve + "-acme", timeout=300)
    assert run.rc == 0, run
    seen = report(run)
    assert seen["built"] == [reserve + "-clone-1", reserve + "-clone-2"] and seen["server"]["alias"] == reserve + "-acme"
    assert seen["server"]["address"] and [{"name": seen["server"]["name"], "alias": reserve + "-acme"}] \
        in seen["migrated"]
    assert seen["released"]["reused"] is False and seen["counts"] == {}
    with Store(store) as db:                # module_defaults of the action group took it to every task
        assert sql.clones(db.db, reserve) == [] and sql.reserve(db.db, reserve) is None
        kinds = {e.kind for e in db.events(limit=10 ** 6) if e.data.get("reserve") == reserve}
        assert {"clone_claimed", "clone_migrated"} <= kinds
    assert not (tmp_path / "store.db").exists()
    reply = aws.describe_instances(Filters=[{"Name": "tag:appgraph:server_type", "Values": [reserve]}])
    assert {i["State"]["Name"] for r in reply["Reservations"] for i in r["Instances"]} == {"terminated"}


@pytest.mark.postgresql
def test_ready_sites_on_a_postgresql_store(tmp_path, local_root, postgresql_dsn):
    reserve = "pg%s" % uuid.uuid4().hex[:6]
    common = dict(root=local_root, src=SITE, reserve=reserve, full_size=1)
    run = run_playbook(tmp_path, "reserve_local.yml", store=postgresql_dsn, alias=reserve + "-acme", timeout=300,
                       **common)
    assert run.rc == 0, run
    seen = report(run)
    assert seen["claim"] == "claimed" and seen["page"]["site"] == reserve + "-acme", run
    gone = run_playbook(tmp_path, "reserve_local.yml", store=postgresql_dsn, alias=reserve + "-acme",
                        claim_state="absent", reserve_state="absent", **common)
    assert gone.rc == 0 and report(gone)["info"] == {} and sandboxes(local_root) == [], gone


def test_a_claim_through_ansible_runner(tmp_path, local_root):
    ansible_runner = pytest.importorskip("ansible_runner")
    private = tmp_path / "runner"
    private.mkdir()
    result = ansible_runner.run(
        private_data_dir=str(private), playbook=str(PLAYBOOKS / "reserve_runner.yml"),
        extravars={"root": local_root},
        envvars={"ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
                 "APPGRAPH_STORE": str(tmp_path / "store.db"), "ANSIBLE_LOCALHOST_WARNING": "False",
                 "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
                 "PATH": "%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", ""))},
        quiet=True, timeout=120)
    assert result.status == "successful", result.stdout.read()
    results = {e["event_data"]["task_action"]: e["event_data"]["res"]
               for e in result.events if e["event"] == "runner_on_ok"}
    server = results["appgraph.lifecycle.reserve_claim"]["server"]
    assert server["name"] == "runner-clone-1" and server["alias"] == "runner-site" and server["address"] == "127.0.0.1"
    assert results["appgraph.lifecycle.reserve"]["built"] == ["runner-clone-1"]
