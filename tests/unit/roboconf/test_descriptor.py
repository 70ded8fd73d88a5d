"""The application descriptor as Roboconf reads it (ApplicationTemplateDescriptor): the legacy keys,
the version, accents, and what a template offers other applications (exports-prefix, exports)."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.descriptor import read_descriptor
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.reader import read_roboconf_application

from ansible_collections.appgraph.lifecycle.tests.helpers.roboconf import roboconf_app, yaml_app

GRAPH = "VM {\n\texports: config = test;\n\tchildren: App;\n\tinstaller: target;\n}\n" \
        "App {\n\timports: VM.config, external App1.test;\n\tinstaller: logger;\n\texports: ip;\n}\n"


def test_legacy_keys_are_read_as_roboconf_reads_them(tmp_path):
    # applications/app-with-external-dependencies/descriptor/application.properties
    app = roboconf_app(tmp_path, GRAPH, descriptor=[
        "application-name = app-with-dep", "application-version = 1.0.1-SNAPSHOT",
        "application-dsl-id = roboconf-1.0", "application-description = An example application",
        "graph-entry-point = main.graph", "", "# Test exports", "exports-prefix = DEP",
        "exports = VM.config as c,\\", "App.ip as ip"])
    desc = read_descriptor(app)
    assert (desc.name, desc.version, desc.description) == ("app-with-dep", "1.0.1-SNAPSHOT", "An example application")
    assert (desc.exports_prefix, desc.external_exports) == ("DEP", {"VM.config": "c", "App.ip": "ip"})
    doc = read_roboconf_application(app)[0]
    assert {k: doc[k] for k in ("application", "version", "dialect", "exports_prefix", "external_exports")} == {
        "application": "app-with-dep", "version": "1.0.1-SNAPSHOT", "dialect": "roboconf",
        "exports_prefix": "DEP", "external_exports": {"VM.config": "c", "App.ip": "ip"}}
    model = load_application(app)
    assert (model.name, model.template, model.exports_prefix) == ("app-with-dep", "app-with-dep", "DEP")
    assert [(s.prefix, s.variable, s.external) for s in model.components["App"].imports] == [
        ("VM", "config", False), ("App1", "test", True)]


def test_new_keys_win_over_legacy_ones_and_the_qualifier_is_the_old_version(tmp_path):
    app = roboconf_app(tmp_path, "VM {\n\tinstaller: target;\n}\n", descriptor=[
        "name = new", "application-name = old", "application-qualifier = 0.4", "graph-entry-point = main.graph"])
    desc = read_descriptor(app)
    assert (desc.name, desc.version) == ("new", "0.4")


def test_a_name_loses_its_accents_as_in_roboconf(tmp_path):
    app = roboconf_app(tmp_path, "VM {\n\tinstaller: target;\n}\n", descriptor=[
        "name = Boutique \\u00c9lectronique (pr\\u00e9prod)", "graph-entry-point = main.graph"])
    assert load_application(app).name == "Boutique Electronique (preprod)"


@pytest.mark.parametrize("lines, message", [
    (["exports = VM.config as c"], "declares external 'exports' but no 'exports-prefix'"),
    (["exports-prefix = DEP", "exports = VM.config c"], "invalid external export 'VM.config c'"),
    (["exports-prefix = DEP", "exports = config as c"], "must name a component's variable"),
    (["exports-prefix = DEP", "exports = VM.config as c, App.ip as c"], "the external name 'c' is given twice"),
])
def test_bad_external_exports_in_the_descriptor_are_located(tmp_path, lines, message):
    app = roboconf_app(tmp_path, GRAPH, descriptor=["name = x", "graph-entry-point = main.graph"] + lines)
    with pytest.raises(InputError) as caught:
        load_application(app)
    assert message in str(caught.value)
    assert caught.value.location.file.endswith("application.properties") and caught.value.location.line == 3 + (
        len(lines) - 1)


@pytest.mark.parametrize("extra, line, message", [
    ({"exports_prefix": "bad prefix"}, 2, "invalid value 'bad prefix'"),
    ({"exports_prefix": "DEP", "external_exports": {"VM.nope": "n"}}, 4,
     "the external export 'VM.nope' names a variable no component exports"),
    ({"external_exports": {"VM.config": "c"}}, 2, "'external_exports' needs an 'exports_prefix'"),
    ({"exports_prefix": "DEP", "external_exports": {"VM.config": "c", "App.ip": "c"}}, 5,
     "the external name 'c' is given to 'VM.config' and 'App.ip'"),
    ({"exports_prefix": "DEP", "external_exports": {"config": "c"}}, 3,
     "invalid value 'config' (hint: write 'Component.variable'"),
])
def test_bad_external_exports_in_yaml_are_located(tmp_path, extra, line, message):
    doc = {"application": "x", **extra, "components": {
        "VM": {"installer": "noop", "exports": {"config": "test"}, "children": ["App"]},
        "App": {"installer": "script", "exports": {"ip": None}}}}
    with pytest.raises(InputError) as caught:
        load_application(yaml_app(tmp_path, doc))
    assert message in str(caught.value) and caught.value.location.line == line, str(caught.value)


def test_a_bad_exports_prefix_in_the_descriptor_is_located(tmp_path):
    app = roboconf_app(tmp_path, GRAPH, descriptor=["name = x", "graph-entry-point = main.graph",
                                                    "exports-prefix = bad prefix", "exports = VM.config as c"])
    with pytest.raises(InputError) as caught:
        load_application(app)
    assert "invalid value 'bad prefix'" in str(caught.value) and caught.value.key == "exports_prefix"
    assert caught.value.location.file.endswith("application.properties") and caught.value.location.line == 3
