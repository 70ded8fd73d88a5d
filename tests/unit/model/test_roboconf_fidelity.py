"""The model as Roboconf makes it, for applications written in the DSL and in YAML alike: variables
(roboconf-core's ComponentHelpers, InstanceHelpers), names from ``count`` (FromInstanceDefinition),
the loader's rules (RuntimeModelValidator) and instance runtime data. Each case says which of
Roboconf's tests or fixtures it follows (core/roboconf-core/src/test/)."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.convert import convert_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.limits import MAX_DATA_CHARACTERS
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.builder import count_names
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application

from ansible_collections.appgraph.lifecycle.tests.helpers.roboconf import roboconf_app, yaml_app


def errors_of(src) -> list:
    with pytest.raises(InputError) as caught:
        load_application(src)
    return getattr(caught.value, "errors", [caught.value])


def flat(component) -> dict:
    return {"%s.%s" % (prefix, var): value for prefix, variables in component.exports.items()
            for var, value in variables.items()}


# -- 3. variables -----------------------------------------------------------------------------------

FACETS_GRAPH = """\
VM {
    installer: target;
    children: Comp1, Comp2;
}
facet f1 {
    exports: param1 = one;
}
facet f2 {
    extends: f1;
    exports: param2 = two;
}
Comp1 {
    installer: script;
    facets: f1;
    exports: own = 1;
}
Comp2 {
    installer: script;
    facets: f2;
}
"""
FACETS_YAML = {
    "application": "facets",
    "components": {"VM": {"installer": "noop", "children": ["Comp1", "Comp2"]},
                   "Comp1": {"installer": "script", "facets": ["f1"], "exports": {"own": 1}},
                   "Comp2": {"installer": "script", "facets": ["f2"]}},
    "facets": {"f1": {"exports": {"param1": "one"}}, "f2": {"extends": "f1", "exports": {"param2": "two"}}},
}


@pytest.fixture(params=["dsl", "yaml"])
def facets_app(request, tmp_path):
    if request.param == "dsl":
        return load_application(roboconf_app(tmp_path, FACETS_GRAPH))
    return load_application(yaml_app(tmp_path, FACETS_YAML))


def test_facet_variables_are_exported_under_the_component_prefix_too(facets_app):
    # ComponentHelpersTest.testFindAllExportedVariables_withFacet: facet.property and comp.property
    assert flat(facets_app.components["Comp1"]) == {"Comp1.own": 1, "Comp1.param1": "one", "f1.param1": "one"}


def test_an_extending_facet_does_not_re_export_its_parent_variables_under_its_name(facets_app):
    # ComponentHelpers.findAllExportedVariables(Facet): f2 exports f2.param2 and (from f1) f1.param1
    assert flat(facets_app.components["Comp2"]) == {
        "f1.param1": "one", "f2.param2": "two", "Comp2.param1": "one", "Comp2.param2": "two"}
    assert set(facets_app.components["Comp1"].exports) == {"Comp1", "f1"}      # prefixes it answers to


OVERRIDES = {   # ComponentHelpersTest.testFindAllExportedVariables_withFacet, step by step
    "facet.property: something different": {"comp.test": "ok", "facet.property": "something different",
                                            "comp.property": "something different"},
    "property: great": {"comp.test": "ok", "facet.property": "great", "comp.property": "great"},
    "comp.property: ha": {"comp.test": "ok", "facet.property": "value", "comp.property": "ha"},
}


@pytest.mark.parametrize("written", sorted(OVERRIDES))
@pytest.mark.parametrize("form", ["dsl", "yaml"])
def test_a_component_overrides_a_facet_variable(tmp_path, written, form):
    key, value = [part.strip() for part in written.split(":")]
    if form == "dsl":
        src = roboconf_app(tmp_path, "VM {\n  installer: target;\n  children: comp;\n}\n"
                                     "facet facet {\n  exports: property = value;\n}\n"
                                     "comp {\n  installer: script;\n  facets: facet;\n  exports: test = ok;\n"
                                     "  exports: %s = %s;\n}\n" % (key, value))
    else:
        src = yaml_app(tmp_path, {"application": "o", "facets": {"facet": {"exports": {"property": "value"}}},
                                  "components": {"VM": {"installer": "noop", "children": ["comp"]},
                                                 "comp": {"installer": "script", "facets": ["facet"],
                                                          "exports": {"test": "ok", key: value}}}})
    assert flat(load_application(src).components["comp"]) == OVERRIDES[written]


def test_very_complex_inheritance_resolves_as_roboconf_says(tmp_path):
    # ComponentHelpersTest.testFindAllExportedVariables_veryComplex, in YAML (names without spaces)
    doc = {"application": "complex",
           "components": {
               "root": {"installer": "noop", "children": ["database", "anotherApp", "withApp"]},
               "withApp": {"installer": "script", "facets": ["anotherServerFacet"],
                           "exports": {"ip": None, "withApp.port": 8080, "env": "test"}},
               "anotherApp": {"extends": "withApp",
                              "exports": {"serverFacet.url-suffix": "another/path", "whatever": "something",
                                          "env": "prod"}},
               "database": {"installer": "script", "exports": {"ip": None, "port": 3306}}},
           "facets": {"serverFacet": {"exports": {"url-suffix": "some/path"}},
                      "anotherServerFacet": {"extends": "serverFacet"}}}
    app = load_application(yaml_app(tmp_path, doc))
    assert flat(app.components["root"]) == {}
    assert flat(app.components["database"]) == {"database.ip": None, "database.port": 3306}
    assert flat(app.components["withApp"]) == {
        "withApp.ip": None, "withApp.port": 8080, "withApp.env": "test", "withApp.url-suffix": "some/path",
        "serverFacet.url-suffix": "some/path"}
    assert flat(app.components["anotherApp"]) == {
        "withApp.ip": None, "anotherApp.ip": None, "withApp.port": 8080, "anotherApp.port": 8080,
        "serverFacet.url-suffix": "another/path", "withApp.url-suffix": "some/path",
        "anotherApp.url-suffix": "some/path", "anotherApp.whatever": "something",
        "withApp.env": "prod", "anotherApp.env": "prod"}


ONLY_COMPONENT_4 = """\
vm {
    installer: target;
    children: tomcat, apache, db;
}
tomcat {
    installer: puppet;
    exports: db.ip;
    exports: db.port = 8080;
}
apache {
    exports: ip, port = 80;
    installer: puppet;
    imports: tomcat.port (optional);
    imports: tomcat.ip;
}
db {
    installer: whatever;
}
"""


def test_prefixed_exports_parse_and_resolve_as_roboconf_resolves_them(tmp_path):
    # configurations/valid/only-component-4.graph: it parses (FromGraphDefinitionTest); 'db' is
    # neither a facet nor an ancestor of tomcat, so Roboconf makes tomcat.db.ip of it, and
    # apache's tomcat.port and tomcat.ip are unresolvable (RM_UNRESOLVABLE_VARIABLE, optional or not)
    errors = errors_of(roboconf_app(tmp_path, ONLY_COMPONENT_4))
    assert [e.message for e in errors] == ["'apache' imports tomcat.port (optional) but no component exports it",
                                           "'apache' imports tomcat.ip but no component exports it"]
    assert errors[0].hint == "did you mean 'db.port'?"
    fixed = ONLY_COMPONENT_4.replace("imports: tomcat.ip;", "imports: tomcat.db.ip;").replace(
        "tomcat.port (optional)", "tomcat.db.port (optional)")
    app = load_application(roboconf_app(tmp_path, fixed, name="fixed"))
    assert flat(app.components["tomcat"]) == {"tomcat.db.ip": None, "tomcat.db.port": 8080}
    assert [w.key for w in app.warnings] == ["exports", "exports"]
    assert "it is tomcat's variable 'db.ip'" in str(app.warnings[0])
    assert app.warnings[0].location.line == 7


@pytest.mark.parametrize("form", ["dsl", "yaml"])
def test_an_instance_may_set_a_variable_its_component_does_not_declare(tmp_path, form):
    # RuntimeModelValidatorTest: RM_MAGIC_INSTANCE_VARIABLE is a warning; the value is kept raw
    if form == "dsl":
        src = roboconf_app(tmp_path, "VM {\n  installer: target;\n  children: Db;\n}\n"
                                     "Db {\n  installer: script;\n  exports: port = 1;\n}\n",
                           "instance of VM {\n  name: vm 1;\n  ip: 38.195.27.7;\n  data: x;\n  channel: c;\n"
                           "  instance of Db {\n    name: db;\n    prot: 2;\n  }\n}\n")
    else:
        src = yaml_app(tmp_path, {"application": "m", "components": {
            "VM": {"installer": "noop", "children": ["Db"]}, "Db": {"installer": "script", "exports": {"port": 1}}},
            "instances": [{"name": "vm 1", "component": "VM",
                           "exports": {"ip": "38.195.27.7", "data": "x", "channel": "c"},
                           "children": [{"name": "db", "component": "Db", "exports": {"prot": 2}}]}]})
    app = load_application(src)
    assert app.instances["/vm 1"].exports == {"ip": "38.195.27.7", "data": "x", "channel": "c"}
    assert app.instances["/vm 1/db"].exports == {"Db.port": 1, "prot": 2}
    assert [(w.key, "does not export" in w.message) for w in app.warnings] == [
        ("ip", True), ("data", True), ("channel", True), ("prot", True)]
    assert app.warnings[-1].hint == "did you mean 'port'?"
    published = app.imported_values("/vm 1/db", {})
    assert published == {}


def test_an_override_of_different_variables_of_one_name_warns(tmp_path):
    # RM_AMBIGUOUS_OVERRIDING: two facets export 'port' with different defaults; both are set
    src = yaml_app(tmp_path, {"application": "a", "facets": {"f1": {"exports": {"port": 1}},
                                                             "f2": {"exports": {"port": 2}}},
                              "components": {"VM": {"installer": "noop", "children": ["C"]},
                                             "C": {"installer": "script", "facets": ["f1", "f2"]}},
                              "instances": [{"name": "vm", "component": "VM", "children": [
                                  {"name": "c", "component": "C", "exports": {"port": 9}}]}]})
    app = load_application(src)
    assert app.instances["/vm/c"].exports == {"f1.port": 9, "f2.port": 9, "C.port": 9}
    (warning,) = app.warnings
    assert "different variables" in warning.message and warning.key == "port"


# -- 4. names from count ----------------------------------------------------------------------------

def test_count_names_as_roboconf_forms_them():
    # FromInstanceDefinitionTest.test_N_Instantiations: i-vm-01 ... i-vm-12, i-war001, i-tomcat-0001
    assert count_names("vm-", 3, "roboconf") == ["vm-1", "vm-2", "vm-3"]
    assert count_names("i-vm-", 12, "roboconf")[:2] == ["i-vm-01", "i-vm-02"]
    assert count_names("i-war", 101, "roboconf")[0] == "i-war001"
    assert count_names("i-tomcat-", 1001, "roboconf")[-1] == "i-tomcat-1001"
    assert count_names("Tomcat VM", 2, "roboconf") == ["Tomcat VM1", "Tomcat VM2"]
    assert count_names("tomcat-vm", 2, "appgraph") == ["tomcat-vm 1", "tomcat-vm 2"]
    assert count_names("vm", 1, "roboconf") == count_names("vm", 1, "appgraph") == ["vm"]


COUNT_GRAPH = "VM {\n  installer: target;\n  children: Tomcat;\n}\nTomcat {\n  installer: script;\n  children: WAR;\n}\n" \
              "WAR {\n  installer: script;\n}\n"
COUNT_INSTANCES = """\
instance of VM {
    name: i-vm-;
    count: 12;
    instance of Tomcat {
        name: i-tomcat-;
        count: 3;
        instance of WAR {
            name: i-war;
        }
    }
}
"""


def test_dsl_counts_nest_with_roboconf_names_and_the_converter_keeps_the_paths(tmp_path):
    src = roboconf_app(tmp_path, COUNT_GRAPH, COUNT_INSTANCES)
    app = load_application(src)
    assert len(app.instances) == 12 * (1 + 3 * 2)
    assert "/i-vm-09/i-tomcat-3/i-war" in app.instances and "/i-vm-12/i-tomcat-1" in app.instances
    out = tmp_path / "converted.app.yml"
    out.write_text(convert_application(src, str(out)))
    assert "dialect: roboconf" in out.read_text()
    assert list(load_application(str(out)).instances) == list(app.instances)


def test_yaml_keeps_its_count_names_unless_it_says_dialect_roboconf(tmp_path):
    doc = {"application": "c", "components": {"VM": {"installer": "target"}},
           "instances": [{"name": "tomcat-vm", "component": "VM", "count": 2}]}
    assert list(load_application(yaml_app(tmp_path, doc)).instances) == ["/tomcat-vm 1", "/tomcat-vm 2"]
    doc["dialect"] = "roboconf"
    assert list(load_application(yaml_app(tmp_path, doc, "r")).instances) == ["/tomcat-vm1", "/tomcat-vm2"]


def test_instance_names_keep_the_characters_roboconf_keeps(tmp_path):
    src = roboconf_app(tmp_path, "VM {\n  installer: target;\n}\n",
                       "instance of VM {\n  name: Tomcat VM-1.eu_west;\t# a comment\n}\n"
                       "instance of VM {\n  name: vm-;\n  count: 2;\n}\n")
    assert list(load_application(src).instances) == ["/Tomcat VM-1.eu_west", "/vm-1", "/vm-2"]


# -- 5. the loader's rules --------------------------------------------------------------------------

def test_a_component_importing_its_own_exports_is_refused(tmp_path):
    # configurations/invalid/component-self-imports.graph: two RM_COMPONENT_IMPORTS_EXPORTS
    src = roboconf_app(tmp_path, "A {\n\tinstaller: target;\n\texports: port = 8081, ip;\n\timports: A.port, A.ip;\n}\n")
    errors = errors_of(src)
    assert [e.message for e in errors] == ["'A' imports A.port, which it exports itself",
                                           "'A' imports A.ip, which it exports itself"]
    assert {(e.location.line, e.key) for e in errors} == {(4, "imports")} and "(optional)" in errors[0].hint
    optional = roboconf_app(tmp_path, "A {\n\tinstaller: target;\n\texports: ip;\n\timports: A.ip (optional);\n}\n",
                            name="cluster")
    assert load_application(optional).components["A"].imports[0].optional       # a cluster's members
    yaml_src = yaml_app(tmp_path, {"application": "s", "components": {
        "A": {"installer": "noop", "facets": ["f"], "imports": ["f.*"]}}, "facets": {"f": {"exports": {"x": 1}}}})
    (error,) = errors_of(yaml_src)
    assert error.message == "'A' imports f.*, which it exports itself" and error.location.line > 0


@pytest.mark.parametrize("form", ["dsl", "yaml"])
def test_a_cycle_in_facet_inheritance_is_refused(tmp_path, form):
    # configurations/invalid/cycle-in-facet.graph (F1 -> F2 -> F3 -> F1): RM_CYCLE_IN_FACETS_INHERITANCE
    if form == "dsl":
        src = roboconf_app(tmp_path, "A {\n\tfacets: F1;\n\tinstaller: target;\n}\nB {\n\tinstaller: target;\n}\n"
                                     "facet F1 {\n\texports: ip;\n\textends: F2;\n}\n"
                                     "facet F2 {\n\texports: ip;\n\textends: F3;\n}\n"
                                     "facet F3 {\n\texports: ip;\n\textends: F1;\n}\n")
    else:
        src = yaml_app(tmp_path, {"application": "c", "components": {"A": {"installer": "noop", "facets": ["F1"]}},
                                  "facets": {"F1": {"extends": "F2"}, "F2": {"extends": ["F3"]},
                                             "F3": {"extends": "F1"}}})
    (error,) = errors_of(src)
    assert error.message == "facets extend each other in a cycle: F1 -> F2 -> F3 -> F1"
    assert error.key == "extends" and error.location.line == (10 if form == "dsl" else 9)


@pytest.mark.parametrize("form", ["dsl", "yaml"])
def test_a_component_only_an_orphan_facet_contains_is_unreachable(tmp_path, form):
    # configurations/invalid/facet-without-component.graph: RM_ROOT_INSTALLER_MUST_BE_TARGET (t),
    # RM_ORPHAN_FACET_WITH_CHILDREN (f, a warning), RM_UNREACHABLE_COMPONENT (t)
    if form == "dsl":
        src = roboconf_app(tmp_path, "vm {\n    children: f;\n    installer: target;\n}\n\nfacet f {\n"
                                     "     children: t;\n}\n\nt {\n      installer: script;\n}\n")
    else:
        src = yaml_app(tmp_path, {"application": "u", "facets": {"f": {"children": ["t"]}},
                                  "components": {"vm": {"installer": "noop", "children": ["f"]},
                                                 "t": {"installer": "script"}}})
    errors = errors_of(src)
    unreachable = [e for e in errors if "unreachable" in e.message]
    assert [e.message for e in unreachable] == [
        "'t' is unreachable: only the facet 'f' contains it, and no component has that facet"]
    root = [e for e in errors if "root component" in e.message]
    if form == "dsl":
        assert unreachable[0].location.line == 10
        assert [e.message for e in root] == [
            "'t' is a root component (no component contains it), so its installer must be 'target', not 'script'"]
        assert root[0].location.line == 11 and root[0].key == "installer"
    else:
        assert root == []                 # YAML roots may be noop, server or anything


def test_an_orphan_facet_is_a_warning(tmp_path):
    src = yaml_app(tmp_path, {"application": "o", "facets": {"lonely": {"exports": {"x": 1}}},
                              "components": {"VM": {"installer": "noop"}}})
    (warning,) = load_application(src).warnings
    assert warning.message == "no component has the facet 'lonely'" and warning.location.line > 0


def test_roboconf_roots_are_installed_by_target_and_yaml_roots_keep_noop_and_server(tmp_path):
    src = roboconf_app(tmp_path, "VM {\n  installer: script;\n  children: App;\n}\nApp {\n  installer: script;\n}\n")
    (error,) = errors_of(src)
    assert (error.location.line, error.key) == (2, "installer") and "must be 'target', not 'script'" in error.message
    for installer in ("noop", "server", "script"):
        doc = {"application": installer, "components": {"VM": {"installer": installer, "children": ["App"]},
                                                        "App": {"installer": "script"}}}
        assert load_application(yaml_app(tmp_path, doc, installer)).components["VM"].installer == installer
    converted = tmp_path / "c.app.yml"
    good = roboconf_app(tmp_path, "VM {\n  installer: target;\n}\n", name="good")
    converted.write_text(convert_application(good, str(converted)))
    text = converted.read_text().replace("installer: target", "installer: noop")
    converted.write_text(text)
    assert "must be 'target', not 'noop'" in str(errors_of(str(converted))[0])   # the converted file says roboconf


def test_a_root_instance_of_a_contained_component_is_refused_in_roboconf(tmp_path):
    # RM_MISSING_INSTANCE_PARENT
    src = roboconf_app(tmp_path, "VM {\n  installer: target;\n  children: App;\n}\nApp {\n  installer: script;\n}\n",
                       "instance of App {\n  name: app;\n}\n")
    (error,) = errors_of(src)
    assert error.message == "an instance of 'App' cannot be a root: 'App' is contained by 'VM'"
    assert (error.location.line, error.key) == (1, "component")


@pytest.mark.parametrize("form", ["dsl", "yaml"])
def test_an_instance_name_conflicting_with_one_inferred_from_a_count_is_refused(tmp_path, form):
    # configurations/invalid/instanceof-name-conflict-with-count.instances: CO_CONFLICTING_INFERRED_INSTANCE
    if form == "dsl":
        src = roboconf_app(tmp_path, COUNT_GRAPH,
                           "instance of VM {\n\tname: i-vm-1;\n}\ninstance of VM {\n\tname: i-vm-2;\n}\n"
                           "instance of VM {\n\tname: i-vm-;\n\tcount: 4;\t# i-vm-1 was already defined\n}\n")
        paths, line = ["/i-vm-1", "/i-vm-2"], 9     # Roboconf reports /i-vm-2 and lets one /i-vm-1 replace the other
    else:
        src = yaml_app(tmp_path, {"application": "c", "components": {"VM": {"installer": "noop"}},
                                  "instances": [{"name": "vm 1", "component": "VM"},
                                                {"name": "vm", "component": "VM", "count": 2}]})
        paths, line = ["/vm 1"], None
    errors = errors_of(src)
    assert [e.message.split(" (")[0] for e in errors] == [
        "the instance %r inferred from a 'count' conflicts with another instance of that name" % p for p in paths]
    assert errors[0].key == "count" and (line is None or errors[0].location.line == line)


# -- 6. runtime data --------------------------------------------------------------------------------

def test_runtime_data_is_kept_with_the_instance(tmp_path):
    # FromInstanceDefinitionTest.testRuntimeData, configurations/valid/instance-with-extra-data.instances
    src = roboconf_app(tmp_path, "vm {\n  installer: target;\n  children: Tomcat;\n}\nTomcat {\n  installer: script;\n}\n",
                       "instance of vm {\n\tname: vm 1;\t# the VM name\n"
                       "\tinstance-data: ip = 127.0.0.1, machine-id = mach-ID, whatever = something different;\n"
                       "\tinstance-state: DEPLOYED_STARTED;\n\tdata.ec2.elastic.ip: 192.168.1.10;\n"
                       "\tinstance of Tomcat {\n\t\tname: Tomcat;\n\t\tdata.Quoted: \"a; b\";\n\t}\n}\n")
    app = load_application(src)
    assert app.instances["/vm 1"].data == {"ip": "127.0.0.1", "machine-id": "mach-ID",
                                           "whatever": "something different", "ec2.elastic.ip": "192.168.1.10"}
    assert app.instances["/vm 1/Tomcat"].data == {"Quoted": "a; b"}
    assert app.instances["/vm 1"].exports == {}
    out = tmp_path / "converted.app.yml"
    out.write_text(convert_application(src, str(out)))
    assert load_application(str(out)).instances["/vm 1"].data == app.instances["/vm 1"].data


def test_copies_made_by_a_count_get_no_data_in_roboconf_and_all_of_it_in_yaml(tmp_path):
    # InstanceHelpers.replicateInstance copies names, components, channels and exports, not data
    src = roboconf_app(tmp_path, COUNT_GRAPH, "instance of VM {\n  name: vm;\n  count: 2;\n  data.zone: eu;\n"
                                              "  instance of Tomcat {\n    name: t;\n    data.x: 1;\n  }\n}\n")
    app = load_application(src)
    assert (app.instances["/vm1"].data, app.instances["/vm1/t"].data) == ({"zone": "eu"}, {"x": "1"})
    assert (app.instances["/vm2"].data, app.instances["/vm2/t"].data) == ({}, {})
    doc = {"application": "d", "components": {"VM": {"installer": "noop"}},
           "instances": [{"name": "vm", "component": "VM", "count": 2, "data": {"zone": "eu", "n": 3}}]}
    app = load_application(yaml_app(tmp_path, doc))
    assert app.instances["/vm 1"].data == app.instances["/vm 2"].data == {"zone": "eu", "n": 3}


def test_hostile_data_gets_located_errors(tmp_path):
    base = {"application": "d", "components": {"VM": {"installer": "noop"}}}
    huge = dict(base, instances=[{"name": "vm", "component": "VM", "data": {"big": "x" * MAX_DATA_CHARACTERS}}])
    (error,) = errors_of(yaml_app(tmp_path, huge, "huge"))
    assert "more than %d" % MAX_DATA_CHARACTERS in error.message and error.key == "data" and error.location.line > 1
    nul = dict(base, instances=[{"name": "vm", "component": "VM", "data": {"k": "a\x00b"}}])
    (error,) = errors_of(yaml_app(tmp_path, nul, "nul"))
    assert "NUL" in error.message
    bad_key = dict(base, instances=[{"name": "vm", "component": "VM", "data": {"no spaces": 1}}])
    assert errors_of(yaml_app(tmp_path, bad_key, "key"))[0].key == "data"
    src = roboconf_app(tmp_path, "VM {\n  installer: target;\n}\n",
                       "instance of VM {\n  name: vm;\n  data.big: %s;\n}\n" % ("y" * (MAX_DATA_CHARACTERS + 1)))
    (error,) = errors_of(src)
    assert error.location.line == 3 and "more than" in error.message
    src = roboconf_app(tmp_path, "VM {\n  installer: target;\n}\n", "instance of VM {\n  name: vm;\n  data.: 1;\n}\n",
                       name="empty-key")
    assert errors_of(src)[0].message == "invalid data key ''"
