# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Roboconf DSL reader: tokens, grammar, property values, descriptor, document and locations."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, Location
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.reader import read_roboconf_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.descriptor import (
    read_descriptor,
    read_properties,
)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.lexer import (
    EOF,
    NEWLINE,
    STRING,
    WORD,
    Source,
    tokenize,
)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.parser import GRAPH, INSTANCES, parse
from ansible_collections.appgraph.lifecycle.tests.helpers.paths import UNIT_FIXTURES

FIXTURES = str(UNIT_FIXTURES / "roboconf")
RICH = os.path.join(FIXTURES, "rich-shop")


def write_app(root, graph, instances=None, descriptor=None) -> str:
    """A Roboconf application directory under ``root``; returns its path."""
    app = root / "app"
    (app / "descriptor").mkdir(parents=True)
    (app / "graph").mkdir()
    (app / "graph" / "main.graph").write_text(graph)
    lines = descriptor or ["name = demo", "graph-entry-point = main.graph"]
    if instances is not None:
        (app / "instances").mkdir()
        (app / "instances" / "initial.instances").write_text(instances)
        lines = lines + ["instance-entry-point = initial.instances"]
    (app / "descriptor" / "application.properties").write_text("\n".join(lines) + "\n")
    return str(app)


def graph_doc(text: str, tmp_path) -> dict:
    doc = read_roboconf_application(write_app(tmp_path, text))[0]
    return doc


# -- tokenizer --------------------------------------------------------------------------------------

def test_tokens_carry_line_and_column_and_drop_comments():
    tokens = tokenize(Source('Tomcat {  # the server\n\texports: a = "x; #y";\n', "t.graph"))
    assert [(t.kind, t.text, t.line, t.column) for t in tokens] == [
        (WORD, "Tomcat", 1, 1), ("{", "{", 1, 8), (NEWLINE, "\n", 1, 23),
        (WORD, "exports", 2, 2), (":", ":", 2, 9), (WORD, "a", 2, 11), ("=", "=", 2, 13),
        (STRING, "x; #y", 2, 15), (";", ";", 2, 22), (NEWLINE, "\n", 2, 23), (EOF, "", 3, 1)]


def test_a_byte_order_mark_is_not_text():
    tokens = tokenize(Source("\ufeffVM {\n}\n", "t.graph"))
    assert (tokens[0].text, tokens[0].column) == ("VM", 1)


# -- grammar ----------------------------------------------------------------------------------------

def test_keywords_are_case_insensitive():
    parsed = parse(Source("IMPORT other.graph;\nFacet web {\n}\nVM {\n\tINSTALLER: target;\n}\n", "m.graph"), GRAPH)
    assert parsed.imports[0][0] == "other.graph"
    assert [(b.kind, b.name) for b in parsed.blocks] == [("facet", "web"), ("component", "VM")]
    assert parsed.blocks[1].properties[0].key == "installer"
    parsed = parse(Source("Instance Of VM {\n\tname: a;\n\tINSTANCE OF App {\n\t\tname: b;\n\t}\n}\n", "i.instances"),
                   INSTANCES)
    assert parsed.blocks[0].instances[0].name == "App"


def test_property_values_keep_the_text_as_written():
    parsed = parse(Source("instance of VM {\n\tname:   Tomcat  VM 1 ;\n\turl: http://h:80/a?b=c;\n}\n",
                          "i.instances"), INSTANCES)
    name, url = parsed.blocks[0].properties
    assert parsed.source.slice(name.tokens[0], name.tokens[-1]) == "Tomcat  VM 1"
    assert parsed.source.slice(url.tokens[0], url.tokens[-1]) == "http://h:80/a?b=c"


def test_inline_comments_and_blank_lines_are_allowed_everywhere():
    parsed = parse(Source("\n# head\nVM { # open\n\n\t# inside\n\tinstaller: target; # end\n} # close\n# tail",
                          "m.graph"), GRAPH)
    assert [p.key for p in parsed.blocks[0].properties] == ["installer"]


# -- property values --------------------------------------------------------------------------------

@pytest.mark.parametrize("written, expected", [
    ("ip", {"ip": None}),
    ("port = 3306", {"port": 3306}),
    ("port=3306, ip", {"port": 3306, "ip": None}),
    ('port = "3306"', {"port": "3306"}),
    ("mode = 0755", {"mode": "0755"}),
    ("version = 1.10", {"version": "1.10"}),
    ("offset = -5", {"offset": -5}),
    ("name = defaultRepl", {"name": "defaultRepl"}),
    ('banner = " Hello, world; "', {"banner": " Hello, world; "}),
    ('empty = ""', {"empty": ""}),
    ("unset =", {"unset": None}),
    ("url = http://h:8080/x", {"url": "http://h:8080/x"}),
    ("random[port] http", {"http": {"random": "port"}}),
    ("RANDOM[Port] http, ip", {"http": {"random": "port"}, "ip": None}),
])
def test_exports_defaults_keep_their_type(tmp_path, written, expected):
    doc = graph_doc("VM {\n\tinstaller: target;\n\texports: %s;\n}\n" % written, tmp_path)
    assert doc["components"]["VM"]["exports"] == expected


@pytest.mark.parametrize("written, expected", [
    ("Tomcat.ip", ["Tomcat.ip"]),
    ("Tomcat.*", ["Tomcat.*"]),
    ("Tomcat.ip (optional)", ["Tomcat.ip (optional)"]),
    ("Tomcat.ip(OPTIONAL)", ["Tomcat.ip (optional)"]),
    ("external Lamp.ip", ["external Lamp.ip"]),
    ("EXTERNAL Lamp.* (optional), Tomcat.ip", ["external Lamp.* (optional)", "Tomcat.ip"]),
    ("Tomcat.ip, Tomcat.ip", ["Tomcat.ip"]),
])
def test_imports_are_normalised(tmp_path, written, expected):
    doc = graph_doc("Tomcat {\n\tinstaller: script;\n\texports: ip;\n}\nApp {\n\tinstaller: script;\n"
                    "\timports: %s;\n}\n" % written, tmp_path)
    assert doc["components"]["App"]["imports"] == expected


def test_list_properties_add_up_and_keep_their_order(tmp_path):
    doc = graph_doc("VM {\n\tinstaller: target;\n\tchildren: A;\n\texports: ip;\n\tchildren: B, A;\n"
                    "\texports: random[port] p;\n}\nA {\n\tinstaller: script;\n}\nB {\n\tinstaller: script;\n}\n",
                    tmp_path)
    assert doc["components"]["VM"] == {"installer": "target", "exports": {"ip": None, "p": {"random": "port"}},
                                       "children": ["A", "B"]}


def test_instances_override_exports_in_both_forms(tmp_path):
    graph = "VM {\n\tinstaller: target;\n\tchildren: Db;\n}\nDb {\n\tinstaller: script;\n\texports: port = 1, user;\n}\n"
    instances = ("instance of VM {\n\tname: vm;\n\tinstance of Db {\n\t\tname: db;\n\t\tport: 5432;\n"
                 "\t\tDb.user: \"admin\";\n\t\tinstance-state: DEPLOYED_STARTED;\n\t\tdata.ip: 10.0.0.1;\n\t}\n"
                 "\tinstance of Db {\n\t\tname: db2;\n\t\texports: port = 5433, Db.user = root;\n\t}\n}\n")
    doc = read_roboconf_application(write_app(tmp_path, graph, instances))[0]
    first, second = doc["instances"][0]["children"]
    assert first == {"name": "db", "component": "Db", "exports": {"port": 5432, "Db.user": "admin"},
                     "data": {"ip": "10.0.0.1"}}                 # runtime data is kept (Roboconf's data.*)
    assert second["exports"] == {"port": 5433, "Db.user": "root"}


# -- descriptor -------------------------------------------------------------------------------------

def test_java_properties_syntax():
    props = read_properties("# c\n! c\nname = a\nb: 2\nc   3\nd = one, \\\n    two\\\\\ne = caf\\u00e9 \\= x\n"
                            "  f=\n", "app.properties")
    assert {key: entry[0] for key, entry in props.items()} == {
        "name": "a", "b": "2", "c": "3", "d": "one, two\\", "e": "café = x", "f": ""}
    assert props["d"][1] == Location("app.properties", 6, 1)
    assert props["f"][1] == Location("app.properties", 9, 3)


def test_descriptor_placeholder_name_falls_back_to_the_directory(tmp_path):
    app = write_app(tmp_path, "VM {\n\tinstaller: target;\n}\n",
                    descriptor=["name = ${project.artifactId}", "description = ${project.description}",
                                "graph-entry-point = main.graph"])
    desc = read_descriptor(app)
    assert (desc.name, desc.description, desc.instances_entry) == ("app", None, None)
    doc = read_roboconf_application(app)[0]
    assert doc == {"application": "app", "dialect": "roboconf", "components": {"VM": {"installer": "target"}}}


# -- the rich fixture: facets, extends, imports across files, counts, overrides, recipes -------------

RICH_COMPONENTS = {
    "VM": {"installer": "target", "children": ["deployable"]},
    "Tomcat": {"installer": "script", "facets": ["deployable", "monitored"],
               "exports": {"ip": None, "portAJP": 8009, "httpPort": {"random": "port"},
                           "banner": "Hello, world; welcome", "version": "8.5.1"},
               "children": ["war"], "recipes": "graph/Tomcat"},
    "SpecialTomcat": {"extends": "Tomcat", "exports": {"portAJP": 8010}},
    "Apache": {"installer": "bash", "facets": ["deployable"],
               "imports": ["Tomcat.portAJP", "Tomcat.ip", "monitored.* (optional)",
                           "external Billing.endpoint (optional)"]},
    "Webapp": {"installer": "puppet", "facets": ["war"], "imports": ["Mysql.*"]},
    "Mysql": {"installer": "script", "facets": ["deployable"],
              "exports": {"ip": None, "port": 3306, "user": "root", "empty": ""}},
}
RICH_FACETS = {"deployable": {"exports": {"zone": "eu-west"}},
               "monitored": {"extends": ["deployable"], "exports": {"metricsPort": 9100}},
               "war": {}}


def test_rich_fixture_document():
    doc = read_roboconf_application(RICH)[0]
    assert doc["application"] == "Rich Shop"
    assert doc["description"] == "Facets, inheritance, random ports, optional and external imports."
    assert doc["components"] == RICH_COMPONENTS
    assert list(doc["components"]) == list(RICH_COMPONENTS)          # declaration order
    assert doc["facets"] == RICH_FACETS
    assert doc["instances"] == [
        {"name": "Web VM", "component": "VM", "children": [{"name": "Apache", "component": "Apache"}]},
        {"name": "Tomcat VM", "component": "VM", "count": 3, "children": [
            {"name": "Tomcat", "component": "Tomcat", "exports": {"httpPort": 9000, "Tomcat.portAJP": 8011},
             "children": [{"name": "Shop", "component": "Webapp"}]}]},
        {"name": "Data VM", "component": "VM", "children": [
            {"name": "MySQL 8", "component": "Mysql", "exports": {"user": "admin", "port": 3307}},
            {"name": "Special Tomcat", "component": "SpecialTomcat"}]},
    ]


def test_rich_fixture_model():
    app = load_application(RICH)
    # Roboconf's count names: the number appended as it is (FromInstanceDefinition)
    assert app.roots == ["/Web VM", "/Tomcat VM1", "/Tomcat VM2", "/Tomcat VM3", "/Data VM"]
    assert app.instances["/Tomcat VM2/Tomcat/Shop"].component == "Webapp"
    comps = app.components
    assert (comps["VM"].installer, comps["Apache"].installer, comps["Webapp"].installer) == ("server", "script",
                                                                                             "puppet")
    assert comps["VM"].children == {"Tomcat", "SpecialTomcat", "Apache", "Mysql"}     # via the facet
    assert comps["SpecialTomcat"].installer == "script" and comps["SpecialTomcat"].ancestors == ("Tomcat",)
    # an extending facet does not export its parent's variables under its own name; the component does
    assert comps["Tomcat"].exports["monitored"] == {"metricsPort": 9100}
    assert comps["Tomcat"].exports["deployable"] == {"zone": "eu-west"}
    assert comps["Tomcat"].exports["Tomcat"]["zone"] == "eu-west"
    assert comps["Tomcat"].recipes == os.path.join(RICH, "graph", "Tomcat")
    tomcat = app.instances["/Tomcat VM3/Tomcat"].exports
    assert (tomcat["Tomcat.httpPort"], tomcat["Tomcat.portAJP"]) == (9000, 8011)
    assert app.instances["/Data VM/Special Tomcat"].exports["SpecialTomcat.httpPort"] == {"random": "port"}
    assert app.instances["/Data VM/MySQL 8"].exports["Mysql.port"] == 3307
    optional = [spec for spec in comps["Apache"].imports if spec.optional]
    assert [(s.prefix, s.variable, s.external) for s in optional] == [
        ("monitored", "*", False), ("Billing", "endpoint", True)]


@pytest.mark.parametrize("path, file, line, column", [
    (("application",), "descriptor/application.properties", 2, 1),
    (("components", "Tomcat"), "graph/main.graph", 10, 1),
    (("components", "Tomcat", "exports", "httpPort"), "graph/main.graph", 14, 24),
    (("components", "Tomcat", "exports", "version"), "graph/main.graph", 15, 45),
    (("components", "SpecialTomcat", "extends"), "graph/main.graph", 20, 11),
    (("components", "Apache", "imports", 2), "graph/main.graph", 27, 38),
    (("components", "Apache", "imports", 3), "graph/main.graph", 28, 11),
    (("components", "Apache", "imports", 9), "graph/main.graph", 27, 2),     # no such entry: the property
    (("facets", "monitored", "extends", 0), "graph/facets.graph", 8, 11),
    (("instances", 1, "count"), "instances/initial.instances", 12, 9),
    (("instances", 1, "children", 0, "exports", "Tomcat.portAJP"), "instances/initial.instances", 16, 3),
    (("instances", 1, "children", 0, "children", 0, "name"), "instances/initial.instances", 18, 10),
    (("instances", 2), "instances/more.instances", 3, 1),
    (("instances", 2, "children", 1, "component"), "instances/more.instances", 10, 14),
    (("instances", 2, "children", 1, "name", "deeper"), "instances/more.instances", 11, 9),
])
def test_locate_points_at_the_words_in_the_roboconf_files(path, file, line, column):
    locate = read_roboconf_application(RICH)[1]
    assert locate(path) == Location(os.path.join(RICH, *file.split("/")), line, column)


# -- no traceback, whatever the input ---------------------------------------------------------------

_DSL_TEXT = st.lists(st.sampled_from(["VM", "Tomcat", " ", "\t", "\n", "{", "}", ":", ";", ",", "=", '"', "#",
                                      "installer", "children", "exports", "imports", "facet", "instance of",
                                      "import", "random[port]", "Tomcat.ip", "(optional)", "target", "1"]),
                     max_size=40).map("".join)


@settings(max_examples=150, deadline=None)
@given(graph=_DSL_TEXT, instances=_DSL_TEXT)
def test_any_text_loads_or_fails_with_a_located_input_error(tmp_path_factory, graph, instances):
    app = write_app(tmp_path_factory.mktemp("fuzz"), graph, instances)
    try:
        load_application(app)
    except InputError as exc:
        errors = getattr(exc, "errors", [exc])
        assert all(err.location.file for err in errors)


def test_windows_line_ends_read_the_same(tmp_path):
    doc = graph_doc("VM {\r\n\tinstaller: target;\r\n\texports: a = 1;\r\n}\r\n", tmp_path)
    assert doc["components"] == {"VM": {"installer": "target", "exports": {"a": 1}}}


def test_imports_resolve_from_the_importing_file_then_from_the_graph_folder(tmp_path):
    app = write_app(tmp_path, "import parts/all.graph;\n")            # an aggregator: imports only
    (tmp_path / "app" / "graph" / "parts").mkdir()
    (tmp_path / "app" / "graph" / "parts" / "all.graph").write_text("import vm.graph;\nimport db.graph;\n")
    (tmp_path / "app" / "graph" / "parts" / "vm.graph").write_text("VM {\n\tinstaller: target;\n\tchildren: Db;\n}\n")
    (tmp_path / "app" / "graph" / "db.graph").write_text("Db {\n\tinstaller: script;\n}\n")   # Roboconf's rule
    doc, locate = read_roboconf_application(app)
    assert list(doc["components"]) == ["VM", "Db"]
    assert locate(("components", "Db")) == Location(os.path.join(app, "graph", "db.graph"), 1, 1)
