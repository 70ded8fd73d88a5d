"""Application files: what loads, and every error a user gets names file:line, the key and a fix."""

from __future__ import annotations

import json

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.schema import schema_json
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.graph import (
    build_graph, topological_order)
from ansible_collections.appgraph.lifecycle.tests.helpers.paths import REPO_ROOT

GOOD = """application: shop
components:
  VM: {installer: target, children: [Web, Db]}
  Base: {installer: script, exports: {ip: null, port: 80}}
  Web: {extends: Base, imports: [Db.*, "Cache.* (optional)"], facets: [Monitored]}
  Db: {installer: script, exports: {ip: null, port: 5432}}
  Cache: {installer: script, exports: {port: 6379}}
facets:
  Monitored: {exports: {metrics: 9100}}
instances:
  - name: vm
    component: VM
    count: 2
    children:
      - {name: web, component: Web, exports: {port: 8080}}
  - {name: db vm, component: VM, children: [{name: db, component: Db}]}
"""


def write(tmp_path, text, name="app.app.yml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_schema_file_is_the_one_the_code_uses():
    with open(REPO_ROOT / "schemas" / "application.schema.json") as handle:
        assert handle.read() == schema_json()
    json.loads(schema_json())


def test_a_good_file_loads_with_paths_counts_inheritance_and_overrides(tmp_path):
    app = load_application(write(tmp_path, GOOD))
    assert list(app.instances) == ["/vm 1", "/vm 1/web", "/vm 2", "/vm 2/web", "/db vm", "/db vm/db"]
    web = app.components["Web"]
    assert web.installer == "script" and app.components["VM"].installer == "server"
    # Roboconf: what a facet or an ancestor exports is exported under the component's own name too
    assert web.exports == {"Web": {"ip": None, "port": 80, "metrics": 9100}, "Base": {"ip": None, "port": 80},
                           "Monitored": {"metrics": 9100}}
    assert app.instances["/vm 1/web"].exports["Web.port"] == 8080
    assert app.instances["/vm 1/web"].exports["Base.port"] == 8080
    assert web.required_prefixes == {"Db"}
    order = topological_order(app)
    assert order.index("/db vm/db") < order.index("/vm 1/web")
    graph = build_graph(app)
    assert graph.edges["/db vm/db", "/vm 2/web"]["required"] is True


@pytest.mark.parametrize("text, line, key, words", [
    ("application: a\ncomponents:\n  VM: {installer: noop}\ninstances:\n  - {name: x, component: Vm}\n",
     5, "component", "did you mean 'VM'"),
    ("application: a\ncomponents:\n  VM: {installer: noop, children: [A]}\n  A: {installer: noop}\n"
     "  B: {installer: noop}\ninstances:\n  - name: x\n    component: VM\n    children:\n"
     "      - {name: b, component: B}\n", 10, "component", "'VM' allows: A"),
    ("application: a\ncomponents:\n  A: {installer: noop, imports: [B.port]}\n"
     "  B: {installer: noop, exports: {ip: null}}\n", 3, "imports", "no component exports it"),
    ("application: a\ncomponents:\n  A: {installer: noop, imports: [b.port]}\n"
     "  B: {installer: noop, exports: {port: 1}}\n", 3, "imports", "did you mean 'B'"),
    ("application: a\ncomponents:\n  VM: {installer: noop}\ninstances:\n  - {name: x, component: VM}\n"
     "  - {name: x, component: VM}\n", 6, "name", "duplicate instance path '/x'"),
    ("application: a\ncomponents:\n  VM: {installer: noop, children: [N, M]}\n"
     "  N: {installer: noop, exports: {ip: null}, imports: [M.ip]}\n"
     "  M: {installer: noop, exports: {ip: null}, imports: [N.ip]}\ninstances:\n"
     "  - {name: vm, component: VM, children: [{name: n, component: N}, {name: m, component: M}]}\n", 7,
     "imports", "cycle"),
    ("application: a\ncomponents:\n  VM: {installer: noop, children: [N]}\n"
     "  N: {installer: noop, exports: {ip: null}, imports: [N.ip]}\n", 4, "imports", "which it exports itself"),
    ("application: a\ncomponents:\n  VM: {installer: noop\n", 4, None, "YAML syntax error"),
    ("application: a\ncomponents:\n  VM: {installer: noop, colour: red}\n", 3, "colour", "unknown key"),
    ("application: a\ncomponents:\n  VM: {installer: noop}\n  VM: {installer: script}\n", 4, "VM", "appears twice"),
    ("application: a\ncomponents:\n  VM: {installer: noop}\ninstances:\n  - {name: x, component: VM, count: 0}\n",
     5, "count", "minimum"),
    ("application: a\ncomponents:\n  A: {extends: B}\n  B: {extends: A, installer: noop}\n", 3, "extends", "cycle"),
])
def test_errors_name_the_file_line_key_and_a_fix(tmp_path, text, line, key, words):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_application(path)
    first = err.value.errors[0] if hasattr(err.value, "errors") else err.value
    assert first.location.file == path
    assert first.location.line == line, str(err.value)
    assert first.key == key
    assert words in str(err.value)
    assert "Traceback" not in str(err.value)


def test_a_missing_file_and_a_plain_directory_are_explained(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_application(str(tmp_path / "nope.app.yml"))
    with pytest.raises(InputError, match="Roboconf"):
        load_application(str(tmp_path))


def test_the_lamp_example_loads():
    app = load_application(str(REPO_ROOT / "examples" / "lamp" / "lamp.app.yml"))
    assert len(app.instances) == 10 and set(app.roots) == {"/apache-vm", "/tomcat-vm 1", "/tomcat-vm 2", "/mysql-vm"}
