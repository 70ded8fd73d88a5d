"""Roboconf's life-cycle scenarios, ported: every rule of DESIGN.md "Instance life cycle"."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils import lifecycle as lc
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, PermanentError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import (
    DEPLOYED_STARTED, DEPLOYED_STOPPED, NOT_DEPLOYED, PROBLEM, STOPPING, UNRESOLVED, WAITING_FOR_ANCESTOR,
    InstanceState)

from ansible_collections.appgraph.lifecycle.tests.helpers.lifecycle import Fleet, make_app

# vm / server / app, the server importing a database that lives on another vm.
THREE_LEVELS = {
    "VM": {"installer": "noop", "children": ["Server", "Database"]},
    "Server": {"installer": "noop", "imports": ["Database.*"], "children": ["App"]},
    "App": {"installer": "noop"},
    "Database": {"installer": "noop", "exports": {"ip": None, "port": 5432}},
}
THREE_LEVEL_INSTANCES = [
    {"name": "vm1", "component": "VM", "children": [
        {"name": "server", "component": "Server", "children": [
            {"name": "app1", "component": "App"}, {"name": "app2", "component": "App"}]}]},
    {"name": "vm2", "component": "VM", "children": [{"name": "db", "component": "Database"}]},
]
SERVER, APP1, APP2, DB = "/vm1/server", "/vm1/server/app1", "/vm1/server/app2", "/vm2/db"


@pytest.fixture
def fleet():
    return Fleet(make_app(THREE_LEVELS, THREE_LEVEL_INSTANCES))


def test_deploy_and_start_all_without_the_database_leaves_the_importer_unresolved(fleet):
    fleet.do("start_all", "/vm1")
    assert fleet.state("/vm1") == DEPLOYED_STARTED
    assert fleet.state(SERVER) == UNRESOLVED
    assert fleet.state(APP1) == WAITING_FOR_ANCESTOR
    assert fleet.state(APP2) == WAITING_FOR_ANCESTOR
    assert fleet.state(DB) == NOT_DEPLOYED
    assert fleet.order("start") == []


def test_starting_the_database_starts_everything_in_order(fleet):
    fleet.do("start_all", "/vm1")
    fleet.do("start_all", "/vm2")
    assert set(fleet.states().values()) == {DEPLOYED_STARTED}
    starts = fleet.order("start")
    assert starts.index(DB) < starts.index(SERVER) < starts.index(APP1)
    assert starts.index(SERVER) < starts.index(APP2)


def test_stopping_the_database_sends_importer_back_to_unresolved(fleet):
    fleet.do("start_all")
    fleet.do("stop", DB)
    assert fleet.state(DB) == DEPLOYED_STOPPED
    assert fleet.state(SERVER) == UNRESOLVED
    assert fleet.state(APP1) == WAITING_FOR_ANCESTOR
    assert fleet.state("/vm1") == DEPLOYED_STARTED
    stops = fleet.order("stop")
    # children stop before their parent
    assert stops.index(APP1) < stops.index(SERVER) and stops.index(APP2) < stops.index(SERVER)


def test_chain_reaction_happens_in_the_step_that_unpublishes(fleet):
    fleet.do("start_all")
    step = lc.request(fleet.snap, "stop", DB)
    assert step.changes[DB].state == STOPPING
    assert step.changes[SERVER].state == STOPPING
    assert step.changes[APP1].state == STOPPING
    # leaves first: only what has no started children can run now
    assert {(op.kind, op.path) for op in step.operations} == {("stop", DB), ("stop", APP1), ("stop", APP2)}


def test_database_back_restarts_importers_and_their_children(fleet):
    fleet.do("start_all")
    fleet.do("stop", DB)
    fleet.do("start", DB)
    assert set(fleet.states().values()) == {DEPLOYED_STARTED}
    starts = fleet.order("start")
    assert starts.index(DB) < starts.index(SERVER) < starts.index(APP1)


def test_a_waiting_child_stopped_by_hand_stays_stopped_when_the_database_returns(fleet):
    fleet.do("start_all", "/vm1")
    fleet.do("stop", APP1)
    assert fleet.state(APP1) == DEPLOYED_STOPPED
    fleet.do("start_all", "/vm2")
    assert fleet.state(SERVER) == DEPLOYED_STARTED
    assert fleet.state(APP2) == DEPLOYED_STARTED
    assert fleet.state(APP1) == DEPLOYED_STOPPED


def test_a_started_importer_gets_update_when_another_exporter_arrives():
    app = make_app(THREE_LEVELS, THREE_LEVEL_INSTANCES + [
        {"name": "vm3", "component": "VM", "children": [{"name": "db", "component": "Database"}]}])
    fleet = Fleet(app)
    fleet.do("start_all", "/vm1")
    fleet.do("start_all", "/vm2")
    fleet.do("start_all", "/vm3")
    assert fleet.order("update") == [SERVER]
    fleet.do("stop", "/vm2/db")         # another exporter stays: update, no stop
    assert fleet.order("update") == [SERVER]
    assert fleet.state(SERVER) == DEPLOYED_STARTED


# -- four levels, two dependencies, optional imports, no self-import -------------------------

FOUR_LEVELS = {
    "VM": {"installer": "noop", "children": ["Container", "Cache", "Queue"]},
    "Container": {"installer": "noop", "imports": ["Cache.port", "Queue.*"], "children": ["Server"]},
    "Server": {"installer": "noop", "children": ["App"], "imports": ["Metrics.* (optional)"]},
    "App": {"installer": "noop", "imports": ["App.id (optional)"], "exports": {"id": None}},
    "Cache": {"installer": "noop", "exports": {"port": 6379}},
    "Queue": {"installer": "noop", "exports": {"port": 5672, "vhost": "/"}},
    "Metrics": {"installer": "noop", "exports": {"url": None}},
}
FOUR_LEVEL_INSTANCES = [
    {"name": "vm", "component": "VM", "children": [
        {"name": "container", "component": "Container", "children": [
            {"name": "server", "component": "Server", "children": [{"name": "app", "component": "App"}]}]}]},
    {"name": "cache-vm", "component": "VM", "children": [{"name": "cache", "component": "Cache"}]},
    {"name": "queue-vm", "component": "VM", "children": [{"name": "queue", "component": "Queue"}]},
]
CONTAINER, SERVER4, APP4 = "/vm/container", "/vm/container/server", "/vm/container/server/app"


def test_four_levels_wait_for_both_dependencies():
    fleet = Fleet(make_app(FOUR_LEVELS, FOUR_LEVEL_INSTANCES))
    fleet.do("start_all", "/vm")
    fleet.do("start_all", "/cache-vm")
    assert fleet.state(CONTAINER) == UNRESOLVED          # the queue is still missing
    assert fleet.state(SERVER4) == WAITING_FOR_ANCESTOR
    assert fleet.state(APP4) == WAITING_FOR_ANCESTOR
    fleet.do("start_all", "/queue-vm")
    assert fleet.state(APP4) == DEPLOYED_STARTED         # optional Metrics never blocked the server
    fleet.do("stop", "/cache-vm/cache")
    assert fleet.state(CONTAINER) == UNRESOLVED
    assert fleet.state(SERVER4) == WAITING_FOR_ANCESTOR
    assert fleet.state(APP4) == WAITING_FOR_ANCESTOR


def test_an_instance_never_imports_from_itself():
    comps = {"VM": {"installer": "noop", "children": ["Node"]},
             "Node": {"installer": "noop", "exports": {"ip": None}, "imports": ["Node.ip"]}}
    instances = [{"name": "vm", "component": "VM", "children": [{"name": "node", "component": "Node"}]}]
    with pytest.raises(InputError, match="'Node' imports Node.ip, which it exports itself"):
        make_app(comps, instances)                       # Roboconf's RM_COMPONENT_IMPORTS_EXPORTS
    fleet = Fleet(make_app(comps, instances, validate=False))   # a document stored before that rule
    fleet.do("start_all")
    assert fleet.state("/vm/node") == UNRESOLVED          # its own export does not count


def test_an_optional_import_of_its_own_exports_finds_the_peers():
    comps = {"VM": {"installer": "noop", "children": ["Node"]},
             "Node": {"installer": "noop", "exports": {"ip": None}, "imports": ["Node.ip (optional)"]}}
    app = make_app(comps, [{"name": "vm", "component": "VM", "children": [
        {"name": "node", "component": "Node", "count": 2}]}])
    fleet = Fleet(app)
    fleet.do("start_all")
    assert fleet.state("/vm/node 1") == fleet.state("/vm/node 2") == DEPLOYED_STARTED
    assert set(app.imported_values("/vm/node 1", {p: {"Node.ip": p} for p in app.instances})["Node"]) == {
        "/vm/node 2"}


def test_a_required_import_cycle_is_refused_and_named():
    comps = {"VM": {"installer": "noop", "children": ["Node"]},
             "Node": {"installer": "noop", "exports": {"ip": None}, "imports": ["Node.ip"]}}
    with pytest.raises(InputError) as err:
        make_app(comps, [{"name": "vm", "component": "VM", "count": 2,
                          "children": [{"name": "node", "component": "Node"}]}], validate=False)
    assert "cycle" in str(err.value) and "/vm 1/node" in str(err.value) and "/vm 2/node" in str(err.value)
    comps = {"VM": {"installer": "noop", "children": ["A", "B"]},
             "A": {"installer": "noop", "exports": {"ip": None}, "imports": ["B.ip"]},
             "B": {"installer": "noop", "exports": {"ip": None}, "imports": ["A.ip"]}}
    with pytest.raises(InputError) as err:
        make_app(comps, [{"name": "vm", "component": "VM", "children": [
            {"name": "a", "component": "A"}, {"name": "b", "component": "B"}]}])
    assert "required imports form a cycle: /vm/b (B) imports A from /vm/a; /vm/a (A) imports B from /vm/b" \
        in str(err.value)


# -- failures ---------------------------------------------------------------------------------


def test_deploy_failure_goes_back_to_not_deployed_and_children_wait(fleet):
    fleet.fail.add(("deploy", SERVER))
    fleet.do("start_all")
    assert fleet.state(SERVER) == NOT_DEPLOYED
    assert fleet.state(APP1) == NOT_DEPLOYED
    assert [o.operation.path for o in fleet.failed] == [SERVER]
    assert fleet.order("deploy").count(SERVER) == 1      # not retried in a loop within the run


def test_start_failure_goes_back_to_the_previous_state(fleet):
    fleet.do("deploy_all")
    fleet.fail.add(("start", DB))
    fleet.do("start", DB)
    assert fleet.state(DB) == DEPLOYED_STOPPED
    fleet.do("start_all", "/vm1")
    fleet.fail.add(("start", SERVER))
    fleet.fail.discard(("start", DB))
    fleet.do("start", DB)                                 # server was unresolved: it starts, fails
    assert fleet.state(SERVER) == UNRESOLVED
    assert fleet.order("start").count(SERVER) == 1


def test_stop_failure_still_lands_stopped(fleet):
    fleet.do("start_all")
    fleet.fail.add(("stop", APP1))
    fleet.do("stop", APP1)
    assert fleet.state(APP1) == DEPLOYED_STOPPED
    assert [o.operation.path for o in fleet.failed] == [APP1]


def test_undeploy_failure_lands_deployed_stopped_and_holds_the_parent(fleet):
    fleet.do("start_all")
    fleet.fail.add(("undeploy", APP1))
    fleet.do("undeploy", SERVER)
    assert fleet.state(APP1) == DEPLOYED_STOPPED
    assert fleet.state(APP2) == NOT_DEPLOYED
    assert fleet.state(SERVER) == DEPLOYED_STOPPED        # cannot go while a child is deployed
    fleet.fail.clear()
    fleet.do("undeploy", SERVER)                           # a new request retries
    assert fleet.state(SERVER) == NOT_DEPLOYED and fleet.state(APP1) == NOT_DEPLOYED


def test_root_undeploy_failure_is_a_problem(fleet):
    fleet.do("start_all", "/vm2")
    fleet.fail.add(("undeploy", "/vm2"))
    fleet.do("undeploy_all", "/vm2")
    assert fleet.state("/vm2") == PROBLEM
    assert fleet.state(DB) == NOT_DEPLOYED


# -- bulk operations and applications ----------------------------------------------------------


def test_stop_all_keeps_roots_started_and_stops_everything_below(fleet):
    fleet.do("start_all")
    fleet.do("stop_all")
    states = fleet.states()
    assert states["/vm1"] == states["/vm2"] == DEPLOYED_STARTED
    assert {states[p] for p in (SERVER, APP1, APP2, DB)} == {DEPLOYED_STOPPED}


def test_undeploy_all_leaves_nothing_deployed_and_stops_before_undeploying(fleet):
    fleet.do("start_all")
    fleet.do("undeploy_all")
    assert set(fleet.states().values()) == {NOT_DEPLOYED}
    kinds = [(op.kind, op.path) for op in fleet.operations]
    assert kinds.index(("stop", APP1)) < kinds.index(("undeploy", APP1)) < kinds.index(("undeploy", SERVER))
    assert kinds.index(("undeploy", SERVER)) < kinds.index(("undeploy", "/vm1"))


def test_removing_an_application_with_a_deployed_root_is_refused(fleet):
    fleet.do("deploy", "/vm2")
    with pytest.raises(PermanentError, match="/vm2"):
        lc.check_removable(fleet.snap)
    fleet.do("undeploy_all")
    lc.check_removable(fleet.snap)


def test_a_root_cannot_be_stopped(fleet):
    with pytest.raises(InputError, match="root"):
        lc.request(fleet.snap, "stop", "/vm1")


def test_unknown_path_names_a_close_one(fleet):
    with pytest.raises(InputError, match="did you mean '/vm1/server'"):
        lc.request(fleet.snap, "start", "/vm1/servr")


def test_deploy_needs_a_deployed_parent_and_waits_for_it(fleet):
    step = lc.request(fleet.snap, "deploy", SERVER)
    assert step.operations == []                          # the vm is not deployed: nothing yet
    fleet.do("deploy", SERVER)
    fleet.do("deploy", "/vm1")
    assert fleet.state(SERVER) == DEPLOYED_STOPPED        # the waiting desire is carried on


# -- heartbeats, abandoning, adopting -----------------------------------------------------------


def test_missed_heartbeats_make_a_problem_and_a_heartbeat_heals(fleet):
    fleet.do("start_all")
    step = lc.missed_heartbeats(fleet.snap, {"/vm1": 1000.0, "/vm2": 1170.0}, now=1200.0, period=60)
    assert {p: s.state for p, s in step.changes.items()} == {"/vm1": PROBLEM}
    fleet.snap.apply(step)
    assert fleet.state(APP1) == DEPLOYED_STARTED          # a problem says nothing of the parts inside
    fleet.snap.apply(lc.heartbeat(fleet.snap, "/vm1"))
    assert fleet.state("/vm1") == DEPLOYED_STARTED


def test_abandoned_operations_go_back_to_where_they_were(fleet):
    step = lc.request(fleet.snap, "start_all")
    fleet.snap.apply(step)
    assert fleet.state("/vm1") == "deploying"
    fleet.snap.apply(lc.abandon(fleet.snap, [op.path for op in step.operations]))
    assert fleet.state("/vm1") == NOT_DEPLOYED
    assert fleet.snap["/vm1"].desired == DEPLOYED_STARTED  # the wish survives for the next run


def test_reconcile_adopts_transitive_states_nobody_runs(fleet):
    snap = lc.Snapshot(fleet.app, {"/vm1": InstanceState("deploying", DEPLOYED_STARTED, NOT_DEPLOYED)})
    assert [(o.kind, o.path) for o in lc.reconcile(snap).operations] == [("deploy", "/vm1")]
    busy = lc.RunContext(running=frozenset({"/vm1"}))
    assert lc.reconcile(snap, busy).operations == []


def test_a_started_instance_does_not_satisfy_its_own_import():
    # a and b both export under the facet Peer; a needs a Peer. Once b stops, a's only Peer is itself.
    comps = {"VM": {"installer": "noop", "children": ["A", "B"]},
             "A": {"installer": "noop", "facets": ["Peer"], "imports": ["Peer.ip"]},
             "B": {"installer": "noop", "facets": ["Peer"]}}
    app = make_app(comps, [{"name": "vm", "component": "VM", "children": [
        {"name": "a", "component": "A"}, {"name": "b", "component": "B"}]}],
        facets={"Peer": {"exports": {"ip": None}}}, validate=False)      # a document stored before the rule
    fleet = Fleet(app)
    fleet.do("start_all")
    assert fleet.state("/vm/a") == DEPLOYED_STARTED
    fleet.do("stop", "/vm/b")
    assert fleet.state("/vm/a") == UNRESOLVED


def test_an_importer_still_starting_when_an_exporter_arrives_gets_an_update_too():
    comps = {"VM": {"installer": "noop", "children": ["Api", "Lb"]},
             "Api": {"installer": "noop", "exports": {"port": 1}},
             "Lb": {"installer": "noop", "imports": ["Api.* (optional)"]}}
    app = make_app(comps, [{"name": "vm", "component": "VM", "children": [
        {"name": "api", "component": "Api", "count": 2}, {"name": "lb", "component": "Lb"}]}])
    snap = lc.Snapshot(app, {"/vm": InstanceState(DEPLOYED_STARTED, DEPLOYED_STARTED),
                             "/vm/api 1": InstanceState("starting", DEPLOYED_STARTED, DEPLOYED_STOPPED),
                             "/vm/api 2": InstanceState(DEPLOYED_STOPPED, DEPLOYED_STOPPED),
                             "/vm/lb": InstanceState("starting", DEPLOYED_STARTED, DEPLOYED_STOPPED)})
    busy = lc.RunContext(running=frozenset({"/vm/lb"}))
    step = lc.finish(snap, [lc.Outcome(lc.Operation("start", "/vm/api 1"), True)], busy)
    assert lc.Operation("update", "/vm/lb") in step.operations
