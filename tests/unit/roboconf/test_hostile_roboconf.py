"""Hostile Roboconf applications (each reproduced on main: a hang, a RecursionError, a ValueError
or an error without a line) get an InputError naming the file, the line and what to do."""

from __future__ import annotations

import os

from ansible_collections.appgraph.lifecycle.plugins.module_utils.limits import Limits
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.descriptor import read_properties

from ..model.hostile import ceiling, located_error

G = "graph/main.graph"
I = "instances/initial.instances"   # noqa: E741 - the file most cases write, next to G
D = "descriptor/application.properties"
GRAPH = "VM {\n    installer: target;\n    children: App;\n}\n\nApp {\n    installer: script;\n    exports: port = 80;\n}\n"


def make_app(root, files: dict) -> str:
    """A Roboconf application in ``root/app`` with ``files`` (text or bytes) and a descriptor."""
    app = root / "app"
    files = {D: "name = demo\ngraph-entry-point = main.graph\ninstance-entry-point = initial.instances\n",
             G: GRAPH, I: "instance of VM {\n    name: vm;\n}\n", **files}
    for relative, data in files.items():
        path = app.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return str(app)


def at(app: str, relative: str) -> str:
    return os.path.join(app, *relative.split("/"))


def test_twelve_hundred_nested_instances_stop_at_the_nesting_cap(tmp_path):
    nested = "".join("%sinstance of VM {\n%s    name: vm;\n" % ("  " * i, "  " * i) for i in range(1200))
    app = make_app(tmp_path, {I: nested + "}\n" * 1200})
    err = located_error(load_application, app)
    assert (err.location.file, err.location.line) == (at(app, I), 63)      # the 32nd block
    assert "instances nested more than 31 deep" in err.message and "APPGRAPH_MAX_DEPTH" in err.hint


def test_nesting_at_the_cap_reads_and_a_raised_cap_reads_deeper(tmp_path):
    graph = "".join("C%d {\n    installer: %s;\n    children: C%d;\n}\n" % (i, "script" if i else "target", i + 1)
                    for i in range(40))
    graph += "C40 {\n    installer: script;\n}\n"
    nested = "".join("instance of C%d {\n    name: c%d;\n" % (i, i) for i in range(40)) + "}\n" * 40
    app = make_app(tmp_path, {G: graph, I: nested})
    located_error(load_application, app)
    assert len(load_application(app, limits=Limits(max_depth=90)).instances) == 40


def test_a_count_of_a_billion_is_refused_at_its_line(tmp_path):
    app = make_app(tmp_path, {I: "instance of VM {\n    name: vm;\n    count: 1000000000;\n}\n"})
    err = located_error(load_application, app)
    assert (err.location.file, err.location.line, err.key) == (at(app, I), 3, "count")
    assert "more than 100000 instances" in err.message


def test_counts_that_are_not_whole_numbers_or_too_long_are_refused(tmp_path):
    for count in ("1e9", "9" * 5000):
        app = make_app(tmp_path, {I: "instance of VM {\n    name: vm;\n    count: %s;\n}\n" % count})
        err = located_error(load_application, app)
        assert (err.location.line, err.key) == (3, "count") and "whole number" in err.message


def test_an_export_value_too_long_for_an_int_stays_text(tmp_path):
    digits = "9" * 5000
    app = make_app(tmp_path, {I: "instance of VM {\n    name: vm;\n    instance of App {\n        name: app;\n"
                                 "        port: %s;\n    }\n}\n" % digits})
    assert load_application(app).instances["/vm/app"].exports["App.port"] == digits


def test_a_nul_byte_is_an_error_at_its_line(tmp_path):
    app = make_app(tmp_path, {G: GRAPH + "\nDb {\n    installer: \x00script;\n}\n"})
    err = located_error(load_application, app)
    assert (err.location.file, err.location.line, err.location.column) == (at(app, G), 12, 16)
    assert "NUL" in err.message


def test_invalid_utf8_is_an_error_at_the_line_of_the_first_bad_byte(tmp_path):
    app = make_app(tmp_path, {I: "instance of VM {\n    name: caf\u00e9".encode() + b"\xe9;\n}\n"})
    err = located_error(load_application, app)
    assert (err.location.file, err.location.line, err.location.column) == (at(app, I), 2, 15)
    assert "not UTF-8" in err.message


def test_an_invalid_descriptor_and_empty_files_are_errors_at_a_line(tmp_path):
    for files, where in (({D: b"name = \xff\n"}, D), ({D: ""}, D), ({G: ""}, G)):
        app = make_app(tmp_path, files)
        err = located_error(load_application, app)
        assert err.location.file == at(app, where) and err.location.line >= 1


def test_a_file_past_the_size_cap_is_refused_at_the_line_where_it_passes(tmp_path):
    app = make_app(tmp_path, {G: GRAPH + "# padding\n" * 100})
    err = located_error(load_application, app, limits=Limits(max_document_bytes=len(GRAPH) + 15))
    assert (err.location.file, err.location.line) == (at(app, G), 11) and "larger than" in err.message


def test_a_containment_cycle_in_a_graph_names_the_cycle(tmp_path):
    graph = GRAPH.replace("    exports: port = 80;\n", "    children: Db;\n") + "\nDb {\n    installer: script;\n    children: App;\n}\n"
    err = located_error(load_application, make_app(tmp_path, {G: graph}))
    assert err.location.line == 8 and err.key == "children"
    assert "containment forms a cycle: App contains Db, Db contains App" in err.message


def test_a_descriptor_of_200000_continued_lines_reads_in_linear_time():
    text = "name = demo\ndescription = " + "word \\\n" * 200_000 + "end\n"
    with ceiling():
        props = read_properties(text, "application.properties")
    assert props["description"][0].endswith("word end") and props["name"][1].line == 1
