# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nine published Roboconf example applications: they load to the graph their files describe,
and convert to ``*.app.yml`` files that validate and load back to the same model."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.schema import APPLICATION_SCHEMA
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.graph import build_graph, topological_order
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.reader import read_roboconf_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.convert import convert_application, main
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.convert import scalar
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.yaml_lines import load_yaml
from ansible_collections.appgraph.lifecycle.tests.helpers.paths import COLLECTIONS_ROOT, UNIT_FIXTURES

# The nine published examples (Apache-2.0, roboconf/roboconf-examples@e551ef8) are kept with the
# tests so that no run can skip them; override with ROBOCONF_EXAMPLES=<dir>.
EXAMPLES = os.environ.get("ROBOCONF_EXAMPLES", str(UNIT_FIXTURES / "roboconf-examples"))
RICH = str(UNIT_FIXTURES / "roboconf" / "rich-shop")
COLLECTION_ROOT = str(COLLECTIONS_ROOT)


# component -> (installer after Roboconf's aliases, allowed children, own exports with defaults, imports)
_VM_TOMCAT_APACHE = {
    "VM_EC2": ("server", {"Tomcat", "Apache"}, {}, []),
    "Tomcat": ("script", set(), {"ip": None, "portAJP": 8009}, []),
    "Apache": ("script", set(), {}, ["Tomcat.portAJP", "Tomcat.ip"]),
}
EXPECTED = {
    "apache-tomcat-bash": {
        "components": _VM_TOMCAT_APACHE,
        "instances": {"/Apache VM": "VM_EC2", "/Apache VM/Apache": "Apache",
                      "/Tomcat VM1": "VM_EC2", "/Tomcat VM1/Tomcat1": "Tomcat",
                      "/Tomcat VM2": "VM_EC2", "/Tomcat VM2/Tomcat2": "Tomcat"},
    },
    "apache-tomcat-webapp": {
        "components": {
            "VM_EC2": ("server", {"Tomcat", "Apache"}, {}, []),
            "Tomcat": ("puppet", {"Webapp"}, {"ip": None, "portAJP": 8009}, []),
            "Apache": ("puppet", set(), {}, ["Tomcat.portAJP", "Tomcat.ip"]),
            "Webapp": ("puppet", set(), {}, []),
        },
        "instances": {"/Apache VM": "VM_EC2", "/Apache VM/Apache": "Apache",
                      "/Tomcat VM": "VM_EC2", "/Tomcat VM/Tomcat": "Tomcat", "/Tomcat VM/Tomcat/DemoApp": "Webapp",
                      "/Tomcat VM2": "VM_EC2", "/Tomcat VM2/Tomcat2": "Tomcat"},
    },
    "grafana-bash": {
        "components": {"VM_EC2": ("server", {"Apache_Grafana"}, {}, []),
                       "Apache_Grafana": ("script", set(), {}, [])},
        "instances": {"/ApacheGrafana": "VM_EC2", "/ApacheGrafana/Grafana": "Apache_Grafana"},
    },
    "haproxy-tomcat": {
        "components": {
            "VM_EC2": ("server", {"Tomcat", "Haproxy"}, {}, []),
            "Tomcat": ("puppet", set(), {"ip": None, "port": 8080}, []),
            "Haproxy": ("puppet", set(), {}, ["Tomcat.port", "Tomcat.ip"]),
        },
        "instances": {"/Haproxy VM": "VM_EC2", "/Haproxy VM/Haproxy": "Haproxy",
                      "/Tomcat VM1": "VM_EC2", "/Tomcat VM1/Tomcat": "Tomcat",
                      "/Tomcat VM2": "VM_EC2", "/Tomcat VM2/Tomcat2": "Tomcat"},
    },
    "influxdb-bash": {
        "components": {"VM_EC2": ("server", {"influxdb"}, {}, []), "influxdb": ("script", set(), {}, [])},
        "instances": {"/InfluxdbVM": "VM_EC2", "/InfluxdbVM/influxdb": "influxdb"},
    },
    "influxdb-grafana-bash": {
        "components": {"VM_EC2": ("server", {"InfluxDBGrafana"}, {}, []),
                       "InfluxDBGrafana": ("script", set(), {}, [])},
        "instances": {"/InfluxDB_with_grafana": "VM_EC2",
                      "/InfluxDB_with_grafana/InfluxDBGrafana": "InfluxDBGrafana"},
    },
    "lamp-webapp-bash": {
        "components": {
            "VM": ("server", {"Tomcat", "Apache", "Mysql"}, {}, []),
            "Tomcat": ("script", {"Webapp"}, {"ip": None, "portAJP": 8009}, []),
            "Apache": ("script", set(), {}, ["Tomcat.portAJP", "Tomcat.ip"]),
            "Webapp": ("script", set(), {}, ["Mysql.*"]),
            "Mysql": ("script", set(), {"ip": None, "port": 3306}, []),
        },
        "instances": {"/Apache VM": "VM", "/Apache VM/Apache": "Apache",
                      "/Tomcat VM 1": "VM", "/Tomcat VM 1/Tomcat": "Tomcat", "/Tomcat VM 1/Tomcat/DemoApp": "Webapp",
                      "/Tomcat VM 2": "VM", "/Tomcat VM 2/Tomcat": "Tomcat", "/Tomcat VM 2/Tomcat/DemoApp": "Webapp",
                      "/MySQL VM": "VM", "/MySQL VM/MySQL": "Mysql"},
    },
    "mongo-replicaset": {
        "components": {
            "VmMongo": ("server", {"MongoReplicasetMember"}, {}, []),
            "MongoReplicasetMember": ("puppet", {"MongoPrimaryConfig"},
                                      {"mongoinstance": "test", "port": 27017, "ip": None,
                                       "replicaset": "defaultRepl"}, []),
            "MongoPrimaryConfig": ("puppet", set(), {},
                                   ["MongoReplicasetMember.port", "MongoReplicasetMember.ip"]),
        },
        "instances": {"/Mongo primary": "VmMongo",
                      "/Mongo primary/Mongo primary node": "MongoReplicasetMember",
                      "/Mongo primary/Mongo primary node/Mongo primary configuration": "MongoPrimaryConfig",
                      "/Mongo secondary 1": "VmMongo",
                      "/Mongo secondary 1/Mongo secondary node": "MongoReplicasetMember",
                      "/Mongo secondary 2": "VmMongo",
                      "/Mongo secondary 2/Mongo secondary node": "MongoReplicasetMember"},
    },
    "storm-bash": {
        "components": {
            "VM": ("server", {"storm_platform"}, {}, []),
            "storm_platform": ("script", {"storm_nimbus", "storm_worker"}, {}, []),
            "storm_nimbus": ("script", set(), {"ip": None}, []),
            "storm_worker": ("script", set(), {}, ["storm_nimbus.ip"]),
        },
        "instances": {"/StormNimbus": "VM", "/StormNimbus/storm": "storm_platform",
                      "/StormNimbus/storm/nimbus": "storm_nimbus",
                      "/StormWorker1": "VM", "/StormWorker1/storm": "storm_platform",
                      "/StormWorker1/storm/worker": "storm_worker",
                      "/StormWorker2": "VM", "/StormWorker2/storm": "storm_platform",
                      "/StormWorker2/storm/worker": "storm_worker"},
    },
}
NAMES = sorted(EXPECTED)


def example(name: str) -> str:
    return os.path.join(EXAMPLES, name)


def test_all_nine_examples_are_covered():
    found = sorted(d for d in os.listdir(EXAMPLES) if os.path.isdir(example(d)))
    assert found == NAMES


# -- structure --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_example_components(name):
    app = load_application(example(name))
    assert app.name == name                              # '${project.artifactId}' -> the directory's name
    assert app.description == ("A sample application" if name != "lamp-webapp-bash" else
                               "A sample LAMP application, with a load balancer (Apache + modJK), an application "
                               "server (Tomcat), a MySQL database and a web application.")
    expected = EXPECTED[name]["components"]
    assert list(app.components) == list(expected)       # declaration order
    for comp_name, (installer, children, exports, imports) in expected.items():
        comp = app.components[comp_name]
        assert comp.installer == installer, comp_name
        assert comp.children == children, comp_name
        assert comp.exports.get(comp_name, {}) == exports, comp_name
        assert [spec.text for spec in comp.imports] == imports, comp_name


@pytest.mark.parametrize("name", NAMES)
def test_example_instances(name):
    app = load_application(example(name))
    expected = EXPECTED[name]["instances"]
    assert {path: inst.component for path, inst in app.instances.items()} == expected
    assert list(app.instances) == list(expected)        # parents before children, in file order
    for path, inst in app.instances.items():
        parent = path.rsplit("/", 1)[0] or None
        assert inst.parent == parent and inst.name == path.rsplit("/", 1)[1]
        assert inst.children == tuple(p for p in expected if p.rsplit("/", 1)[0] == path)
    assert app.roots == [p for p in expected if p.count("/") == 1]
    for path, inst in app.instances.items():             # every instance sits where the graph allows it
        if inst.parent is not None:
            assert inst.component in app.components[app.instances[inst.parent].component].children


def test_lamp_as_the_issue_describes_it():
    app = load_application(example("lamp-webapp-bash"))
    assert app.roots == ["/Apache VM", "/Tomcat VM 1", "/Tomcat VM 2", "/MySQL VM"]
    tomcats = [p for p, i in app.instances.items() if i.name == "Tomcat"]
    assert tomcats == ["/Tomcat VM 1/Tomcat", "/Tomcat VM 2/Tomcat"]
    webapp = app.components["Webapp"]
    (spec,) = webapp.imports
    assert (spec.prefix, spec.variable, spec.optional, spec.external) == ("Mysql", "*", False, False)
    assert app.instances["/MySQL VM/MySQL"].exports == {"Mysql.ip": None, "Mysql.port": 3306}
    graph = build_graph(app)
    for demo in ("/Tomcat VM 1/Tomcat/DemoApp", "/Tomcat VM 2/Tomcat/DemoApp"):
        assert graph.edges["/MySQL VM/MySQL", demo]["required"] is True
    assert graph.edges["/Tomcat VM 2/Tomcat", "/Apache VM/Apache"]["imports"] == ["Tomcat"]
    order = topological_order(app)
    assert order.index("/MySQL VM/MySQL") < order.index("/Tomcat VM 1/Tomcat/DemoApp")


def test_mongo_primary_configuration_imports_from_every_member_its_parent_too():
    app = load_application(example("mongo-replicaset"))
    graph = build_graph(app)
    config = "/Mongo primary/Mongo primary node/Mongo primary configuration"
    exporters = sorted(edge[0] for edge in graph.in_edges(config, data=True) if edge[2]["imports"])
    assert exporters == ["/Mongo primary/Mongo primary node", "/Mongo secondary 1/Mongo secondary node",
                         "/Mongo secondary 2/Mongo secondary node"]
    member = app.instances["/Mongo secondary 2/Mongo secondary node"]
    assert member.exports["MongoReplicasetMember.replicaset"] == "defaultRepl"


def test_storm_workers_wait_for_nimbus():
    app = load_application(example("storm-bash"))
    order = topological_order(app)
    for worker in ("/StormWorker1/storm/worker", "/StormWorker2/storm/worker"):
        assert order.index("/StormNimbus/storm/nimbus") < order.index(worker)


@pytest.mark.parametrize("name", NAMES)
def test_example_loads_fast(name):
    load_application(example(name))                     # warm up: the schema validator is built once
    start = time.perf_counter()
    load_application(example(name))
    assert time.perf_counter() - start < 0.5


# -- conversion and round trip ----------------------------------------------------------------------

def _model(app) -> tuple:
    return app.name, app.description, app.components, app.instances


@pytest.mark.parametrize("src", [example(n) for n in NAMES] + [RICH], ids=NAMES + ["rich-shop"])
def test_convert_round_trip(tmp_path, src):
    out = tmp_path / "converted.app.yml"
    text = convert_application(src, str(out))
    out.write_text(text)
    converted = load_yaml(text, str(out))[0]
    jsonschema.Draft202012Validator(APPLICATION_SCHEMA).validate(converted)
    original = read_roboconf_application(src)[0]
    for name, component in original["components"].items():      # recipes are relative to the new file
        if "recipes" in component:
            component["recipes"] = os.path.relpath(os.path.join(src, component["recipes"]), str(tmp_path))
    assert converted == original
    assert _model(load_application(str(out))) == _model(load_application(src))
    assert convert_application(src, str(out)) == text               # stable output


def test_converted_lamp_reads_like_the_design_example(tmp_path):
    text = convert_application(example("lamp-webapp-bash"), str(tmp_path / "lamp.app.yml"))
    assert "\n  VM:     {installer: target, children: [Tomcat, Apache, Mysql]}\n" in text
    assert "\n  Webapp: {installer: script, imports: [Mysql.*]}\n" in text
    assert "\n  Mysql:  {installer: script, exports: {ip: null, port: 3306}}\n" in text
    assert "\n  - name: Tomcat VM 1\n    component: VM\n    children:\n      - name: Tomcat\n" in text


def test_command_line_writes_the_file(tmp_path):
    out = tmp_path / "storm.app.yml"
    env = dict(os.environ, PYTHONPATH=COLLECTION_ROOT)
    done = subprocess.run([sys.executable, "-m",
                           "ansible_collections.appgraph.lifecycle.plugins.module_utils.api.convert",
                           example("storm-bash"), "-o", str(out)], env=env, capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert load_application(str(out)).roots == ["/StormNimbus", "/StormWorker1", "/StormWorker2"]


def test_command_line_reports_located_errors(tmp_path, capsys):
    app = tmp_path / "bad"
    (app / "descriptor").mkdir(parents=True)
    (app / "graph").mkdir()
    (app / "descriptor" / "application.properties").write_text("graph-entry-point = main.graph\n")
    (app / "graph" / "main.graph").write_text("VM {\n\tinstaller: target\n}\n")
    assert main([str(app)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(os.path.join(str(app), "graph", "main.graph") + ":2:19: ")
    assert "expected ';' at the end of the property 'installer'" in err


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_any_string_scalar_reads_back_as_itself(text):
    data = load_yaml("key: %s\nlist: [%s]\nmap: {%s: %s}\n" % ((scalar(text),) * 4), "t.yml")[0]
    assert data == {"key": text, "list": [text], "map": {text: text}}
