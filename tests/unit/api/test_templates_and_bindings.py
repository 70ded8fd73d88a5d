"""Templates and applications, and bindings between applications (Roboconf's application templates,
``external`` imports and ApplicationMngrImpl's bindings), through ``ensure_application``: several
applications from one template, each its own; a required external import blocks until a bound
application's exporter is started; chain reactions cross the applications; hostile bindings are
refused with InputErrors."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.info import application_report
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.server import server_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import (
    DEPLOYED_STARTED as STARTED, DEPLOYED_STOPPED as STOPPED, UNRESOLVED, WAITING_FOR_ANCESTOR as WAITING)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from ansible_collections.appgraph.lifecycle.tests.helpers.roboconf import roboconf_app

SHOP = """\
application: shop
version: "2.1"
components:
  VM:  {installer: noop, children: [Db, Api]}
  Db:  {installer: noop, exports: {port: 5432}}
  Api: {installer: noop, imports: [Db.port]}
instances:
  - {name: db-vm, component: VM, children: [{name: db, component: Db}]}
  - {name: api-vm, component: VM, children: [{name: api, component: Api}]}
"""

# The template other applications import from: its database, as 'external Lamp.ip' and 'Lamp.port'.
DATABASE = """\
application: database
exports_prefix: Lamp
external_exports: {Db.ip: ip, Db.port: port}
components:
  VM: {installer: noop, children: [Db]}
  Db: {installer: noop, exports: {ip: 10.0.0.5, port: 5432, secret: hidden}}
instances:
  - {name: db-vm, component: VM, children: [{name: db, component: Db}]}
"""
WEB = """\
application: web
components:
  VM:     {installer: noop, children: [Web, Report]}
  Web:    {installer: noop, imports: [external Lamp.ip, external Lamp.port], children: [Plugin]}
  Plugin: {installer: noop}
  Report: {installer: noop, imports: ["external Lamp.* (optional)"]}
instances:
  - name: web-vm
    component: VM
    children:
      - {name: web, component: Web, children: [{name: plugin, component: Plugin}]}
      - {name: report, component: Report}
"""


@pytest.fixture
def store(tmp_path):
    with Store(str(tmp_path / "store.db")) as opened:
        yield opened


def write(tmp_path, name, text) -> str:
    path = tmp_path / ("%s.app.yml" % name)
    path.write_text(text, encoding="utf-8")
    return str(path)


def states(result) -> dict:
    return {i["path"]: i["state"] for i in result["instances"]}


# -- 1. templates and applications ------------------------------------------------------------------

def test_several_applications_from_one_template_each_converged_and_listed_on_its_own(store, tmp_path):
    src = write(tmp_path, "shop", SHOP)
    staging = ensure_application(store, name="shop-staging", src=src, state="started")
    assert staging["application"] == "shop-staging" and set(states(staging).values()) == {STARTED}
    prod = ensure_application(store, name="shop-prod", src=src, state="deployed")
    assert set(states(prod).values()) == {STARTED, STOPPED}
    assert store.application_names() == ["shop-prod", "shop-staging"]
    for name in ("shop-prod", "shop-staging"):
        record = store.application(name)
        assert (record.template, record.document["version"], record.source) == ("shop", "2.1", src)
    assert {r.state.state for r in store.instance_rows("shop-staging").values()} == {STARTED}
    assert store.instance_rows("shop-prod")["/api-vm/api"].state.state == STOPPED
    assert server_name("shop-staging", "/db-vm") != server_name("shop-prod", "/db-vm")
    # a task with only src still means the application the file names: a third one, 'shop'
    named = ensure_application(store, src=src, state="present")
    assert named["application"] == "shop" and named["changed"] is True
    assert ensure_application(store, src=src, state="present")["changed"] is False
    assert store.applications_of_template("shop") == ["shop", "shop-prod", "shop-staging"]
    info = application_report(store, "shop-prod", check_mode=True)
    assert info["template"] == {"name": "shop", "version": "2.1", "source": src}


def test_a_roboconf_template_makes_applications_named_as_asked(store, tmp_path):
    src = roboconf_app(tmp_path, "VM {\n  installer: target;\n  children: App;\n}\nApp {\n  installer: script;\n}\n",
                       "instance of VM {\n  name: vm;\n  count: 2;\n}\n",
                       descriptor=["application-name = Lamp", "application-qualifier = 1.0",
                                   "graph-entry-point = main.graph"])
    first = ensure_application(store, name="lamp-eu", src=src)
    second = ensure_application(store, name="lamp-us", src=src)
    assert [i["path"] for i in first["instances"]] == [i["path"] for i in second["instances"]] == ["/vm1", "/vm2"]
    assert store.application("lamp-us").template == "Lamp"


def test_an_application_stays_with_its_template(store, tmp_path):
    ensure_application(store, name="shop-staging", src=write(tmp_path, "shop", SHOP))
    other = write(tmp_path, "other", SHOP.replace("application: shop", "application: other"))
    with pytest.raises(InputError, match="'shop-staging' was made from the template 'shop', not 'other'"):
        ensure_application(store, name="shop-staging", src=other)
    with pytest.raises(InputError, match="invalid application name"):
        ensure_application(store, name="shop/../x", src=other)


# -- 2. bindings ----------------------------------------------------------------------------------

@pytest.fixture
def bound(store, tmp_path):
    """shop-db (from the database template) started; shop-web bound to it for Lamp."""
    database, web = write(tmp_path, "database", DATABASE), write(tmp_path, "web", WEB)
    ensure_application(store, name="shop-db", src=database, state="started")
    return store, database, web


def test_a_required_external_import_blocks_until_a_bound_exporter_is_started(bound):
    store, database, web = bound
    alone = ensure_application(store, name="shop-web", src=web, state="started")
    assert states(alone)["/web-vm/web"] == UNRESOLVED and states(alone)["/web-vm/web/plugin"] == WAITING
    assert states(alone)["/web-vm/report"] == STARTED                    # optional: never blocks
    result = ensure_application(store, name="shop-web", state="started", bindings={"Lamp": "shop-db"})
    assert set(states(result).values()) == {STARTED} and result["changed"] is True
    assert store.bindings("shop-web") == {"Lamp": ["shop-db"]} and store.bound_by("shop-db") == ["shop-web"]
    applied = store.instance_rows("shop-web")["/web-vm/web"].applied_imports
    assert applied == {"Lamp": {"shop-db:/db-vm/db": {"ip": "10.0.0.5", "port": 5432}}}   # no 'secret'


def test_chain_reactions_cross_applications(bound):
    store, database, web = bound
    ensure_application(store, name="shop-web", src=web, state="started", bindings={"Lamp": ["shop-db"]})
    stopped = ensure_application(store, name="shop-db", state="stopped")
    (reaction,) = stopped["reactions"]
    assert reaction["application"] == "shop-web" and reaction["failed_operations"] == []
    assert [(o["operation"], o["path"]) for o in reaction["operations"] if o["operation"] == "stop"] == [
        ("stop", "/web-vm/web/plugin"), ("stop", "/web-vm/web")]
    rows = store.instance_rows("shop-web")
    assert (rows["/web-vm/web"].state.state, rows["/web-vm/web/plugin"].state.state) == (UNRESOLVED, WAITING)
    assert rows["/web-vm/report"].state.state == STARTED
    started = ensure_application(store, name="shop-db", state="started")
    assert [(o["operation"], o["path"]) for o in started["reactions"][0]["operations"]
            if o["operation"] == "start"] == [("start", "/web-vm/web"), ("start", "/web-vm/web/plugin")]
    assert {r.state.state for r in store.instance_rows("shop-web").values()} == {STARTED}


def test_new_values_of_a_bound_exporter_update_its_importers(store, tmp_path):
    two = DATABASE.replace("- {name: db-vm,", "- {name: db-vm, count: 2,")
    ensure_application(store, name="shop-db", src=write(tmp_path, "database", two), state="started")
    ensure_application(store, name="shop-web", src=write(tmp_path, "web", WEB), state="started",
                       bindings={"Lamp": ["shop-db"]})
    applied = store.instance_rows("shop-web")["/web-vm/web"].applied_imports
    assert sorted(applied["Lamp"]) == ["shop-db:/db-vm 1/db", "shop-db:/db-vm 2/db"]
    result = ensure_application(store, name="shop-db", state="stopped", instance_path="/db-vm 2/db")
    operations = [(o["operation"], o["path"]) for o in result["reactions"][0]["operations"]]
    assert sorted(operations) == [("update", "/web-vm/report"), ("update", "/web-vm/web")]   # still satisfied
    for path in ("/web-vm/web", "/web-vm/report"):
        assert sorted(store.instance_rows("shop-web")[path].applied_imports["Lamp"]) == ["shop-db:/db-vm 1/db"]


def test_converging_the_importer_catches_up_with_the_bound_application(bound):
    store, database, web = bound
    ensure_application(store, name="shop-web", src=web, state="started", bindings={"Lamp": ["shop-db"]})
    with store.transaction("shop-db") as tx:             # another process stopped the database, and died
        tx.write_states({"/db-vm/db": store.instance_rows("shop-db")["/db-vm/db"].state._replace(
            state=STOPPED, desired=STOPPED)})
    result = ensure_application(store, name="shop-web", state="started", wait=False)
    assert states(result)["/web-vm/web"] == UNRESOLVED                # not answered from the states


def test_unbinding_takes_the_imports_away(bound):
    store, database, web = bound
    ensure_application(store, name="shop-web", src=web, state="started", bindings={"Lamp": ["shop-db"]})
    result = ensure_application(store, name="shop-web", state="started", bindings={})
    assert states(result)["/web-vm/web"] == UNRESOLVED and store.bindings("shop-web") == {}


def test_check_mode_plans_with_the_bindings_asked_and_stores_none(bound):
    store, database, web = bound
    ensure_application(store, name="shop-web", src=web, state="started")
    plan = ensure_application(store, name="shop-web", state="started", bindings={"Lamp": ["shop-db"]},
                              check_mode=True)
    assert states(plan)["/web-vm/web"] == STARTED and store.bindings("shop-web") == {}
    assert store.instance_rows("shop-web")["/web-vm/web"].state.state == UNRESOLVED


@pytest.mark.parametrize("bindings, message", [
    ({"Lamp": ["nope"]}, "the application 'nope' bound to 'Lamp' is not in the store"),
    ({"Lamp": ["shop-web"]}, "'shop-web' cannot be bound to itself"),
    ({"Db": ["shop-db"]}, "no component of 'shop-web' imports 'external Db.*'"),
    ({"bad prefix": ["shop-db"]}, "invalid prefix 'bad prefix' in bindings"),
    ({"Lamp": [1]}, "the bindings of 'Lamp' must be application names"),
    ({"Lamp": ["a/b"]}, "invalid application name 'a/b'"),
    (["shop-db"], "bindings must be a mapping"),
    ({"Lamp": ["shop-2"]}, "the template of 'shop-2' offers no exports, not 'Lamp'"),
])
def test_hostile_bindings_are_refused(bound, tmp_path, bindings, message):
    store, database, web = bound
    ensure_application(store, name="shop-web", src=web)
    ensure_application(store, name="shop-2", src=write(tmp_path, "shop", SHOP))
    with pytest.raises(InputError) as caught:
        ensure_application(store, name="shop-web", state="started", bindings=bindings)
    assert message in str(caught.value) and caught.value.key == "bindings"
    assert store.bindings("shop-web") == {}


def test_cycles_of_bindings_are_refused(store, tmp_path):
    # two templates that import from each other: a -> b -> a, and through a third one
    both = """\
application: %s
exports_prefix: %s
external_exports: {Node.ip: ip}
components:
  VM: {installer: noop, children: [Node]}
  Node: {installer: noop, exports: {ip: null}, imports: ["external %s.ip (optional)"]}
instances:
  - {name: vm, component: VM, children: [{name: node, component: Node}]}
"""
    ensure_application(store, name="a", src=write(tmp_path, "a", both % ("a", "A", "B")))
    ensure_application(store, name="b", src=write(tmp_path, "b", both % ("b", "B", "C")))
    ensure_application(store, name="c", src=write(tmp_path, "c", both % ("c", "C", "A")))
    ensure_application(store, name="a", bindings={"B": ["b"]})
    ensure_application(store, name="b", bindings={"C": ["c"]})
    with pytest.raises(InputError, match="these bindings make a cycle: c imports from a imports from b imports from c"):
        ensure_application(store, name="c", bindings={"A": ["a"]})
    assert store.bindings("c") == {}


def test_application_info_shows_the_bindings_and_the_picture_draws_them(bound, tmp_path):
    store, database, web = bound
    ensure_application(store, name="shop-web", src=web, state="started", bindings={"Lamp": ["shop-db"]})
    picture = tmp_path / "web.svg"
    info = application_report(store, "shop-web", picture=str(picture), check_mode=True)
    assert (info["bindings"], info["bound_by"], info["template"]["name"]) == ({"Lamp": ["shop-db"]}, [], "web")
    web_info = next(i for i in info["instances"] if i["path"] == "/web-vm/web")
    assert web_info["imports"] == {"Lamp": {"shop-db:/db-vm/db": {"ip": "10.0.0.5", "port": 5432}}}
    assert '"shop-db:/db-vm/db" [label="shop-db: db\\nDb (shop-db)\\ndeployed_started"' in info["dot"]
    assert 'style="rounded,filled,dashed"' in info["dot"]
    assert '"shop-db:/db-vm/db" -> "/web-vm/web" [style=dashed, color="#00838f", label="Lamp"];' in info["dot"]
    assert '"shop-db:/db-vm/db" -> "/web-vm/report" [style=dotted' in info["dot"]
    svg = picture.read_text()
    assert 'class="node state-deployed_started external"' in svg and "imports from a bound application" in svg
    assert "shop-web \u2014 4 instances" in svg
    db = application_report(store, "shop-db", check_mode=True)
    assert (db["exports_prefix"], db["external_exports"], db["bound_by"]) == (
        "Lamp", {"Db.ip": "ip", "Db.port": "port"}, ["shop-web"])


def test_the_picture_draws_a_bound_exporter_that_is_stopped(bound):
    store, database, web = bound
    ensure_application(store, name="shop-web", src=web, state="started", bindings={"Lamp": ["shop-db"]})
    ensure_application(store, name="shop-db", state="stopped")
    info = application_report(store, "shop-web", check_mode=True)
    assert '"shop-db:/db-vm/db" [label="shop-db: db\\nDb (shop-db)\\ndeployed_stopped"' in info["dot"]
    web_info = next(i for i in info["instances"] if i["path"] == "/web-vm/web")
    assert (web_info["state"], web_info["imports"]) == (UNRESOLVED, {})
