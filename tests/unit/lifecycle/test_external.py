"""External imports in the pure life cycle: what bound applications publish comes in as input
(``bound_changed``), and a required external import blocks, unblocks and chains like any other."""

from __future__ import annotations

from ansible_collections.appgraph.lifecycle.plugins.module_utils import lifecycle as lc
from ansible_collections.appgraph.lifecycle.plugins.module_utils.lifecycle.plan import settle
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import (
    DEPLOYED_STARTED, UNRESOLVED, WAITING_FOR_ANCESTOR)

from ansible_collections.appgraph.lifecycle.tests.helpers.lifecycle import Fleet, make_app

COMPONENTS = {"Host": {"installer": "noop", "children": ["Web", "Report"]},
              "Web": {"installer": "noop", "imports": ["external Lamp.ip", "external Lamp.port"],
                      "children": ["Plugin"]},
              "Plugin": {"installer": "noop"},
              "Report": {"installer": "noop", "imports": ["external Lamp.* (optional)"]}}
INSTANCES = [{"name": "host", "component": "Host", "children": [
    {"name": "web", "component": "Web", "children": [{"name": "plugin", "component": "Plugin"}]},
    {"name": "report", "component": "Report"}]}]
DB = {"shop-db:/db-vm/db": {"ip": "10.0.0.5", "port": 5432}}


def react(fleet, view):
    plan = settle(fleet.snap, lc.bound_changed(fleet.snap, view), copy=False)
    fleet.operations = plan.operations
    return plan


def test_a_required_external_import_blocks_until_a_bound_exporter_publishes():
    fleet = Fleet(make_app(COMPONENTS, INSTANCES))
    fleet.do("start_all")
    assert fleet.state("/host/web") == UNRESOLVED
    assert fleet.state("/host/web/plugin") == WAITING_FOR_ANCESTOR
    assert fleet.state("/host/report") == DEPLOYED_STARTED             # optional: never blocks
    react(fleet, {"Lamp": DB})
    assert fleet.states() == dict.fromkeys(fleet.app.instances, DEPLOYED_STARTED)
    assert fleet.order("start") == ["/host/web", "/host/web/plugin"]
    assert fleet.order("update") == ["/host/report"]                  # its optional imports changed
    assert fleet.app.imported_values("/host/web", {}, fleet.snap.external) == {"Lamp": DB}


def test_the_chain_reaction_crosses_applications_both_ways():
    fleet = Fleet(make_app(COMPONENTS, INSTANCES))
    fleet.snap = lc.Snapshot(fleet.app, external={"Lamp": DB})
    fleet.do("start_all")
    assert fleet.state("/host/web/plugin") == DEPLOYED_STARTED
    react(fleet, {"Lamp": {}})                                         # the bound database stopped
    assert (fleet.state("/host/web"), fleet.state("/host/web/plugin")) == (UNRESOLVED, WAITING_FOR_ANCESTOR)
    assert fleet.order("stop") == ["/host/web/plugin", "/host/web"]
    react(fleet, {"Lamp": DB})                                         # ... and came back
    assert fleet.states() == dict.fromkeys(fleet.app.instances, DEPLOYED_STARTED)
    assert fleet.order("start") == ["/host/web", "/host/web/plugin"]


def test_new_values_from_a_bound_exporter_update_the_importers_that_stay_satisfied():
    fleet = Fleet(make_app(COMPONENTS, INSTANCES))
    fleet.snap = lc.Snapshot(fleet.app, external={"Lamp": DB})
    fleet.do("start_all")
    moved = {"shop-db:/db-vm/db": {"ip": "10.0.0.6", "port": 5432}}
    react(fleet, {"Lamp": moved})
    assert sorted(fleet.order("update")) == ["/host/report", "/host/web"] and not fleet.order("stop")
    step = lc.bound_changed(fleet.snap, {"Lamp": moved})
    assert not step.operations and not step.changes                   # nothing changed: nothing to do


def test_an_internal_prefix_of_the_same_name_is_another_import():
    comps = {"Host": {"installer": "noop", "children": ["Lamp", "Web"]},
             "Lamp": {"installer": "noop", "exports": {"ip": None}},
             "Web": {"installer": "noop", "imports": ["external Lamp.ip"]}}
    fleet = Fleet(make_app(comps, [{"name": "h", "component": "Host", "children": [
        {"name": "lamp", "component": "Lamp"}, {"name": "web", "component": "Web"}]}]))
    fleet.do("start_all")
    assert fleet.state("/h/lamp") == DEPLOYED_STARTED and fleet.state("/h/web") == UNRESOLVED
