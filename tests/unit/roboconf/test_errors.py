# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Malformed Roboconf applications are refused with the file, line and column of the mistake and
what was expected there: syntax errors from the DSL reader, semantic ones from the application
builder (located in the .graph/.instances files by the reader's ``locate``)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, Location

G = "graph/main.graph"
I = "instances/initial.instances"   # noqa: E741 - the file the cases name most, next to G
D = "descriptor/application.properties"

VM = "VM {\n    installer: target;\n}\n"
BASE = """\
VM {
    installer: target;
    children: Tomcat, Apache;
}

Tomcat {
    installer: script;
    exports: ip, port = 8080;
}

Apache {
    installer: script;
    imports: Tomcat.port, Tomcat.ip;
}
"""
VM_TOMCAT = "VM {\n    installer: target;\n    children: Tomcat;\n}\n\nTomcat {\n%s}\n"


def base_with(line_13: str) -> str:
    """BASE with Apache's imports (line 13) replaced."""
    lines = BASE.split("\n")
    lines[12] = line_13
    return "\n".join(lines)


# (id, files, (file, line, column), what the message says, what the hint says)
SYNTAX = [
    ("missing-open-brace", {G: VM + "\nTomcat\n    installer: script;\n}\n"},
     (G, 5, 7), "expected '{' after 'Tomcat', found the end of the line", "on the line that names it"),
    ("missing-close-brace-at-end", {G: "VM {\n    installer: target;\n"},
     (G, 1, 1), "the block of component 'VM' (line 1) is never closed: expected '}'", "add a line with '}'"),
    ("missing-close-brace-before-next-block",
     {G: "Tomcat {\n    installer: script;\n\nApache {\n    installer: script;\n}\n"},
     (G, 4, 8), "expected ':' after the property name 'Apache', found '{'",
     "is the '}' closing component 'Tomcat' (line 1) missing?"),
    ("unknown-property", {G: "VM {\n    instaler: target;\n}\n"},
     (G, 2, 5), "unknown property 'instaler' in component 'VM' (line 1)", "did you mean 'installer'?"),
    ("component-property-in-a-facet", {G: VM + "facet web {\n    installer: script;\n}\n"},
     (G, 5, 5), "unknown property 'installer' in facet 'web' (line 4)", "'installer' belongs to components"),
    ("missing-semicolon", {G: "VM {\n    installer: target\n}\n"},
     (G, 2, 22), "expected ';' at the end of the property 'installer', found the end of the line", None),
    ("two-properties-on-a-line", {G: "VM {\n    installer: target; children: Tomcat;\n}\n"},
     (G, 2, 24), "extra characters after ';': 'children'", "one declaration or property per line"),
    ("extra-characters-after-open-brace", {G: "VM { installer: target;\n}\n"},
     (G, 1, 6), "extra characters after '{': 'installer'", None),
    ("extra-characters-after-close-brace", {G: "VM {\n    installer: target;\n} Tomcat {\n}\n"},
     (G, 3, 3), "extra characters after '}': 'Tomcat'", None),
    ("unterminated-quote", {G: 'VM {\n    installer: target;\n    exports: banner = "hello;\n}\n'},
     (G, 3, 23), "unterminated quoted value: expected a closing '\"' on the same line", None),
    ("empty-value", {G: "VM {\n    installer: ;\n}\n"},
     (G, 2, 16), "expected a value for 'installer' before ';'", None),
    ("installer-of-two-words", {G: "VM {\n    installer: Roboconf target;\n}\n"},
     (G, 2, 16), "invalid installer 'Roboconf target'", "name one installer"),
    ("installer-set-twice", {G: "VM {\n    installer: target;\n    installer: script;\n}\n"},
     (G, 3, 5), "'installer' is set twice (first on line 2)", None),
    ("children-without-comma", {G: "VM {\n    installer: target;\n    children: Tomcat Apache;\n}\n"},
     (G, 3, 22), "expected ',' between the names in 'children', found 'Apache'", "separate names with ','"),
    ("dot-in-a-component-name", {G: "My.Comp {\n    installer: script;\n}\n"},
     (G, 1, 1), "invalid component name 'My.Comp': component and facet names cannot contain a dot", None),
    ("incomplete-import", {G: base_with("    imports: Tomcat;")},
     (G, 13, 14), "incomplete import 'Tomcat': expected 'Component.variable' or 'Component.*'", "'Tomcat.*'"),
    ("unknown-random-kind", {G: "VM {\n    installer: target;\n    exports: random[ip] address;\n}\n"},
     (G, 3, 14), "unknown random kind 'ip': only random[port] is supported", "random[port] address"),
    ("random-port-with-a-value", {G: "VM {\n    installer: target;\n    exports: random[port] http = 8080;\n}\n"},
     (G, 3, 32), "the random variable 'http' cannot have a value in the graph", "override it on an instance"),
    ("exports-without-comma", {G: "VM {\n    installer: target;\n    exports: ip port;\n}\n"},
     (G, 3, 14), "invalid variable name 'ip port'", "separate variables with ','"),
    ("quoted-value-with-extra-text", {G: 'VM {\n    installer: target;\n    exports: a = "x" y;\n}\n'},
     (G, 3, 18), "a quoted value must be the whole value", None),
    ("duplicate-component", {G: VM + "\nVM {\n    installer: script;\n}\n"},
     (G, 5, 1), "component 'VM' is declared twice (first at ", "merge the two blocks"),
    ("duplicate-component-across-files",
     {G: "import other.graph;\n\n" + VM, "graph/other.graph": "# other\nVM {\n    installer: script;\n}\n"},
     ("graph/other.graph", 2, 1), "component 'VM' is declared twice", None),
    ("imported-file-not-found", {G: "import missing.graph;\n" + VM},
     (G, 1, 1), "imported file 'missing.graph' not found", "relative to the importing file"),
    ("import-without-semicolon", {G: "import other.graph\n" + VM},
     (G, 1, 19), "expected ';' at the end of the import", None),
    ("syntax-error-in-an-imported-graph",
     {G: "import other.graph;\n" + VM, "graph/other.graph": "Db {\n    installer script;\n}\n"},
     ("graph/other.graph", 2, 15), "expected ':' after the property name 'installer', found 'script'", None),
    ("instance-in-a-graph", {G: VM + "instance of VM {\n    name: vm;\n}\n"},
     (G, 4, 1), "'instance of' belongs in an .instances file, not in a graph", None),
    ("instance-inside-a-component", {G: "VM {\n    installer: target;\n    instance of Tomcat {\n"},
     (G, 3, 5), "instances cannot be declared inside a component", None),
    ("stray-close-brace", {G: VM + "}\n"},
     (G, 4, 1), "expected 'import', 'facet' or a component name, found '}'", "no block is open here"),
    ("facet-without-a-name", {G: VM + "facet {\n}\n"},
     (G, 4, 7), "expected a facet name after 'facet', found '{'", None),
    ("no-component-at-all", {G: "# nothing yet\n"},
     (G, 1, 1), "no component is declared in", "declare components"),
    ("instance-without-name",
     {G: BASE, I: "instance of VM {\n    instance of Tomcat {\n        name: tomcat;\n    }\n}\n"},
     (I, 1, 1), "'instance of VM' (line 1) has no 'name'", "name: <instance name>;"),
    ("count-zero", {G: BASE, I: "instance of VM {\n    name: vm;\n    count: 0;\n}\n"},
     (I, 3, 12), "'count' must be a whole number >= 1, found '0'", None),
    ("count-not-a-number", {G: BASE, I: "instance of VM {\n    name: vm;\n    count: two;\n}\n"},
     (I, 3, 12), "'count' must be a whole number >= 1, found 'two'", None),
    ("invalid-instance-name", {G: BASE, I: "instance of VM {\n    name: @web;\n}\n"},
     (I, 2, 11), "invalid instance name '@web'", None),
    ("instance-of-nothing", {G: BASE, I: "instance of {\n    name: vm;\n}\n"},
     (I, 1, 13), "expected a component name after 'instance of', found '{'", None),
    ("component-in-an-instances-file", {G: BASE, I: VM},
     (I, 1, 1), "expected 'instance of' or 'import', found 'VM'", "declared in .graph files"),
    ("instance-export-without-value",
     {G: BASE, I: "instance of VM {\n    name: vm;\n    instance of Tomcat {\n        name: t;\n"
                  "        exports: port;\n    }\n}\n"},
     (I, 5, 22), "expected '=' and a value after 'port'", None),
    ("unsupported-dsl", {G: BASE, D: "name = demo\ndsl-id = roboconf-2.0\ngraph-entry-point = main.graph\n"},
     (D, 2, 1), "unsupported DSL 'roboconf-2.0'", "dsl-id = roboconf-1.0"),
    ("graph-entry-point-names-a-missing-file", {G: BASE, D: "name = demo\ngraph-entry-point = nope.graph\n"},
     (D, 2, 1), "'graph-entry-point' names graph/nope.graph, which does not exist", None),
    ("no-graph-entry-point", {G: BASE, D: "name = demo\n"},
     (D, 1, 1), "the descriptor has no 'graph-entry-point'", "graph-entry-point = main.graph"),
]

SEMANTIC = [
    ("unknown-facet", {G: VM_TOMCAT % "    installer: script;\n    facets: webby;\n"},
     (G, 8, 5), "unknown facet 'webby'", None),
    ("unknown-child", {G: "VM {\n    installer: target;\n    children: Tomcat, Apach;\n}\n\nTomcat {\n"
                          "    installer: script;\n}\n"},
     (G, 3, 23), "unknown child 'Apach'", None),
    ("import-of-an-unknown-component", {G: base_with("    imports: Tomcatt.port, Tomcat.ip;")},
     (G, 13, 14), "import of unknown component or facet 'Tomcatt'", "did you mean 'Tomcat'?"),
    ("invalid-case-in-imports", {G: base_with("    imports: Tomcat.port, tomcat.ip;")},
     (G, 13, 27), "import of unknown component or facet 'tomcat'", "names are case-sensitive: did you mean 'Tomcat'?"),
    ("import-of-an-unexported-variable", {G: base_with("    imports: Tomcat.portt;")},
     (G, 13, 14), "'Apache' imports Tomcat.portt but no component exports it", "did you mean 'port'?"),
    ("extends-an-unknown-component", {G: VM_TOMCAT % "    installer: script;\n    extends: Server;\n"},
     (G, 8, 14), "extends unknown component 'Server'", "valid names: Tomcat, VM"),
    ("component-without-installer", {G: VM_TOMCAT % "    exports: ip;\n"},
     (G, 6, 1), "component 'Tomcat' has no installer", "add 'installer: script'"),
    ("component-and-facet-with-one-name", {G: VM + "facet VM {\n}\n"},
     (G, 4, 7), "'VM' is both a component and a facet", None),
    ("instance-of-an-unknown-component", {G: BASE, I: "instance of Vm {\n    name: vm;\n}\n"},
     (I, 1, 13), "unknown component 'Vm'", "names are case-sensitive: did you mean 'VM'?"),
    ("child-instance-the-graph-forbids",
     {G: BASE, I: "instance of VM {\n    name: vm;\n    instance of VM {\n        name: inner;\n    }\n}\n"},
     (I, 3, 17), "a 'VM' cannot contain a 'VM'", "'VM' allows: Apache, Tomcat"),
    ("duplicate-instance", {G: BASE, I: "instance of VM {\n    name: vm;\n}\ninstance of VM {\n    name: vm;\n}\n"},
     (I, 5, 11), "duplicate instance path '/vm'", None),
    ("count-collides-with-a-sibling",        # Roboconf's CO_CONFLICTING_INFERRED_INSTANCE; its names: vm1, vm2
     {G: BASE, I: "instance of VM {\n    name: vm;\n    count: 2;\n}\ninstance of VM {\n    name: vm2;\n}\n"},
     (I, 3, 12), "the instance '/vm2' inferred from a 'count' conflicts with another instance of that name",
     "rename one of them, or lower the count (names from a count: '<name>1' ... '<name>N')"),
    ("duplicate-sibling",                    # CO_ALREADY_DEFINED_INSTANCE
     {G: BASE, I: "instance of VM {\n    name: vm;\n}\ninstance of VM {\n    name: vm;\n}\n"},
     (I, 5, 11), "duplicate instance path '/vm'", "give sibling instances distinct names"),
]


def make_app(root, files: dict) -> str:
    app = root / "app"
    files = dict(files)
    if D not in files:
        descriptor = "name = demo\ngraph-entry-point = main.graph\n"
        if I in files:
            descriptor += "instance-entry-point = initial.instances\n"
        files[D] = descriptor
    for relative, text in files.items():
        path = app.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(app)


@pytest.mark.parametrize("files, where, message, hint", [case[1:] for case in SYNTAX + SEMANTIC],
                         ids=[case[0] for case in SYNTAX + SEMANTIC])
def test_malformed_input_is_rejected_with_its_location(tmp_path, files, where, message, hint):
    app = make_app(tmp_path, files)
    with pytest.raises(InputError) as caught:
        load_application(app)
    errors = getattr(caught.value, "errors", [caught.value])
    assert len(errors) == 1, str(caught.value)
    err = errors[0]
    file, line, column = where
    assert err.location == Location(os.path.join(app, *file.split("/")), line, column), str(err)
    assert message in err.message, str(err)
    if hint is not None:
        assert hint in (err.hint or ""), str(err)
    assert str(caught.value).startswith(str(err.location) + ": ")


def test_there_are_at_least_twenty_malformed_inputs():
    assert len(SYNTAX) >= 20 and len(SYNTAX) + len(SEMANTIC) >= 40


def test_errors_in_several_files_are_reported_together(tmp_path):
    app = make_app(tmp_path, {G: "import other.graph;\nVM {\n    installer target;\n}\n",
                              "graph/other.graph": "Db {\n    installer: script\n}\n",
                              I: "instance of VM {\n    name: @vm;\n}\n"})
    with pytest.raises(InputError) as caught:
        load_application(app)
    where = [(os.path.relpath(e.location.file, app), e.location.line, e.location.column) for e in caught.value.errors]
    assert where == [(os.path.join("graph", "main.graph"), 3, 15), (os.path.join("graph", "other.graph"), 2, 22),
                     (os.path.join("instances", "initial.instances"), 2, 11)]


def test_a_directory_without_descriptor_is_refused(tmp_path):
    with pytest.raises(InputError) as caught:
        load_application(str(tmp_path))
    assert "must be a Roboconf application" in str(caught.value)
