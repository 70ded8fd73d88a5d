"""Hostile ``*.app.yml`` files (each reproduced on main: a hang, a traceback or an error without a
line) get an InputError naming the file, the line and, where it helps, the key and a fix."""

from __future__ import annotations

import json

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, Location
from ansible_collections.appgraph.lifecycle.plugins.module_utils.limits import Limits
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import (
    application_from_document, load_application)

from .hostile import ceiling, located_error

HEAD = "application: a\ncomponents:\n  VM: {installer: noop}\n"


def write(tmp_path, data, name="a.app.yml") -> str:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return str(path)


def laughs(indent: str, levels: int = 9) -> str:
    """A billion laughs: each level a list of nine aliases of the level before (9**9 leaves)."""
    lines = ["%s- &l0 lol" % indent]
    lines += ["%s- &l%d [%s]" % (indent, i, ", ".join(["*l%d" % (i - 1)] * 9)) for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_a_count_of_a_billion_is_refused_before_anything_is_expanded(tmp_path):
    path = write(tmp_path, HEAD + "instances:\n  - name: vm\n    component: VM\n    count: 1000000000\n")
    err = located_error(load_application, path)
    assert (err.location.line, err.key) == (7, "count")
    assert "more than 100000 instances" in err.message and "APPGRAPH_MAX_INSTANCES" in err.hint


def test_counts_multiply_through_children(tmp_path):
    text = ("application: a\ncomponents:\n  VM: {installer: noop, children: [App]}\n  App: {installer: noop}\n"
            "instances:\n  - name: vm\n    component: VM\n    count: 1000\n"
            "    children: [{name: app, component: App, count: 1000}]\n")
    err = located_error(load_application, write(tmp_path, text))
    assert err.key == "count" and err.location.line == 9          # the inner count multiplies past the cap


def test_a_count_written_as_a_float_is_a_count(tmp_path):
    # JSON Schema takes 2.0 for an integer: it used to reach range() and raise TypeError.
    app = load_application(write(tmp_path, HEAD + "instances: [{name: vm, component: VM, count: 2.0}]\n"))
    assert list(app.instances) == ["/vm 1", "/vm 2"]
    err = located_error(load_application, write(tmp_path, HEAD + "instances: [{name: vm, component: VM, count: 1e9}]\n"))
    assert err.key == "count" and err.location.line == 4


def test_a_billion_laughs_in_the_description_is_refused(tmp_path):
    err = located_error(load_application, write(tmp_path, HEAD + "description:\n" + laughs("  ")))
    assert "aliases expand the document by more than 10000 nodes" in err.message
    assert err.key == "description" and "APPGRAPH_MAX_ALIAS_NODES" in err.hint


def test_a_billion_laughs_in_provider_options_never_reaches_the_digest(tmp_path):
    text = "application: a\ncomponents:\n  VM:\n    installer: noop\n    provider_options:\n      lols:\n"
    err = located_error(load_application, write(tmp_path, text + laughs("        ")))
    assert err.key == "lols" and err.location.line > 6


def test_aliases_within_the_cap_load_and_serialise(tmp_path):
    text = HEAD + "  Db: {installer: noop, exports: &port {port: 5432}}\n  Db2: {installer: noop, exports: *port}\n"
    app = load_application(write(tmp_path, text))
    assert app.components["Db2"].exports == {"Db2": {"port": 5432}}
    json.dumps(app.document, sort_keys=True)
    err = located_error(load_application, write(tmp_path, text), limits=Limits(max_alias_nodes=1))
    assert err.location.line == 5


def test_a_recursive_alias_is_refused(tmp_path):
    err = located_error(load_application, write(tmp_path, HEAD.replace("noop}", "noop, children: &r [*r]}")))
    assert err.location.line == 3 and err.key == "children" and "inside itself" in err.message


def test_four_hundred_nested_flow_maps_are_refused_at_the_depth_cap(tmp_path):
    text = HEAD + "description: " + "{a: " * 400 + "x" + "}" * 400 + "\n"
    err = located_error(load_application, write(tmp_path, text))
    assert err.location.line == 4 and "more than 64 maps and lists deep" in err.message
    assert "APPGRAPH_MAX_DEPTH" in err.hint


def test_deep_nesting_fits_a_raised_cap(tmp_path):
    text = HEAD.replace("noop}", "noop, provider_options: %s1%s}" % ("{a: " * 80, "}" * 80))
    located_error(load_application, write(tmp_path, text))
    app = load_application(write(tmp_path, text), limits=Limits(max_depth=100))
    assert app.components["VM"].provider_options["a"]["a"]


def test_an_anchor_typo_is_an_error_at_its_line(tmp_path):
    # ',&children:' makes an empty key: the "did you mean" helper used to raise AttributeError.
    err = located_error(load_application, write(tmp_path, HEAD.replace("noop}", "noop,&children: [VM]}")))
    assert err.location.line == 3 and "a key is empty" in err.message and "anchor" in err.hint


def test_keys_that_are_not_strings_are_refused_where_written(tmp_path):
    # json.dumps(sort_keys=True), the document's digest, cannot order 1 and 'b'.
    err = located_error(load_application, write(tmp_path, HEAD.replace("noop}", "noop, provider_options: {1: a, b: c}}")))
    assert err.location.line == 3 and "the key '1' is not a string" in err.message


def test_only_json_values_come_out_of_yaml(tmp_path):
    for value in ("!!set {a, b}", "!!binary aGVsbG8=", "!!timestamp 2001-01-01", "!custom x"):
        err = located_error(load_application, write(tmp_path, HEAD + "description: %s\n" % value))
        assert err.location.line == 4 and "unsupported tag" in err.message, value


def test_a_number_too_long_for_python_is_an_error_at_its_line(tmp_path):
    err = located_error(load_application, write(tmp_path, HEAD + "description: x\ninstances: [{count: %s}]\n" % ("9" * 5000)))
    assert err.location.line == 5 and "too many digits" in err.message


def test_a_nul_byte_is_an_error_at_its_line(tmp_path):
    err = located_error(load_application, write(tmp_path, HEAD.encode() + b"description: a\x00b\n"))
    assert (err.location.line, err.location.column) == (4, 15) and "NUL" in err.message


def test_a_control_character_is_an_error_at_its_line():
    def load():
        application_from_document(*_parsed(HEAD + "description: \u00e9\x07\n"), source="x")
    err = located_error(load)
    assert (err.location.line, err.location.column) == (4, 15) and "U+0007" in err.message


def _parsed(text):
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.yaml_lines import load_yaml
    return load_yaml(text, "x.yml")


def test_invalid_utf8_is_an_error_at_the_line_of_the_first_bad_byte(tmp_path):
    data = HEAD.encode() + "description: caf\u00e9 ".encode() + b"\xff\xfe\n"
    err = located_error(load_application, write(tmp_path, data))
    assert (err.location.line, err.location.column) == (4, 19) and "not UTF-8" in err.message
    assert err.hint == "save the file as UTF-8"


def test_an_empty_file_is_an_error_at_line_one(tmp_path):
    for text in ("", "# nothing but a comment\n", "\n\n"):
        err = located_error(load_application, write(tmp_path, text))
        assert err.location.line == 1 and "must be a mapping" in err.message


def test_a_file_past_the_size_cap_is_refused_at_the_line_where_it_passes(tmp_path):
    text = HEAD + "description: " + "x" * 200 + "\n"
    err = located_error(load_application, write(tmp_path, text), limits=Limits(max_document_bytes=len(HEAD) + 10))
    assert err.location.line == 4 and "larger than" in err.message and "APPGRAPH_MAX_DOCUMENT_BYTES" in err.hint


def test_imports_relating_millions_of_instance_pairs_are_refused_before_any_edge(tmp_path):
    text = ("application: a\ncomponents:\n  E: {installer: noop, exports: {x: 1}}\n"
            "  I: {installer: noop, imports: [E.x]}\ninstances:\n"
            "  - {name: e, component: E, count: 2000}\n  - {name: i, component: I, count: 2000}\n")
    err = located_error(load_application, write(tmp_path, text))
    assert (err.location.line, err.key) == (4, "imports") and "E.x makes 4000000" in err.message
    small = text.replace("2000", "4")
    assert len(load_application(write(tmp_path, small)).instances) == 8
    located_error(load_application, write(tmp_path, small), limits=Limits(max_dependencies=15))


def _loop() -> list:
    loop: list = []
    loop.append(loop)
    return loop


@pytest.mark.parametrize("doc, words", [
    ({"application": "a", "components": {"A": {"installer": "noop", "children": _loop()}}}, "inside itself"),
    ({"application": "a", "components": {"A": {"installer": "noop"}}, "description": {1: "x"}}, "not a string"),
    ({"application": "a", "components": {"A": {"installer": {"x"}}}}, "type set"),
], ids=["a list in itself", "an int key", "a set"])
def test_a_document_given_as_data_is_checked_too(doc, words):
    with ceiling(), pytest.raises(InputError) as caught:
        application_from_document(doc, lambda _path: Location("doc.json", 1, 1))
    assert words in str(caught.value)


# -- files small enough, work that grew faster than them ---------------------------------------------

def _components(lines) -> str:
    return "application: a\ncomponents:\n" + "".join("  %s\n" % line for line in lines)


def test_an_extends_chain_longer_than_the_depth_cap_is_refused(tmp_path):
    text = _components(["C0: {installer: noop, exports: {x: 1}}"] + ["C%d: {extends: C%d}" % (i, i - 1) for i in range(1, 100)])
    err = located_error(load_application, write(tmp_path, text))
    assert (err.location.line, err.key) == (68, "extends") and "'extends' chains more than 64" in err.message
    assert len(load_application(write(tmp_path, text), limits=Limits(max_depth=100)).components) == 100


def test_a_facet_chain_of_two_thousand_is_refused_at_once(tmp_path):
    # Each facet's exports folded its whole chain again: 2,000 facets ran for minutes.
    text = _components(["A: {installer: noop, facets: [F1999]}"]) + "facets:\n  F0: {exports: {x: 1}}\n" + \
        "".join("  F%d: {extends: F%d}\n" % (i, i - 1) for i in range(1, 2000))
    err = located_error(load_application, write(tmp_path, text))
    assert err.location.line == 3 and "facets extend each other more than 64 deep" in err.message


def test_children_allowing_millions_of_component_pairs_are_refused(tmp_path):
    # Every component carries F and F's children are F: 2,000 x 2,000 allowed children.
    text = _components("C%d: {installer: noop, facets: [F]}" % i for i in range(2000)) + "facets:\n  F: {children: [F]}\n"
    err = located_error(load_application, write(tmp_path, text))
    assert err.key == "children" and "more than 1000000 (component, child) pairs" in err.message


def test_a_long_list_of_names_and_numbers_is_checked_in_linear_time(tmp_path):
    # jsonschema compares every pair of a list it cannot sort: 10,000 entries took 16 s.
    names = ", ".join(str(i) if i % 2 else "x%d" % i for i in range(10000))
    err = located_error(load_application, write(tmp_path, _components(["VM: {installer: noop, children: [%s]}" % names])))
    assert err.location.line == 3 and "is not of type 'string'" in err.message


def test_thousands_of_mistakes_cost_only_the_ones_reported(tmp_path):
    # A suggestion compares a name with every valid one: 3,000 typos among 3,000 components hung.
    text = _components("C%d: {installer: noop, children: [Cx%d]}" % (i, i) for i in range(3000))
    with pytest.raises(InputError) as caught, ceiling():
        load_application(write(tmp_path, text))
    assert len(caught.value.errors) == 20 and caught.value.errors[0].location.line == 3
