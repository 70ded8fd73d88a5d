# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The picture of an application: DOT text, the pure-Python SVG (layout and drawing), the report."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import info
from ansible_collections.appgraph.lifecycle.plugins.module_utils.picture import dot as pdot, layout as playout, style as pstyle, svg as psvg
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import InstanceState
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

SVG = "{http://www.w3.org/2000/svg}"

SHOP = """\
application: shop
components:
  Host:  {installer: noop, children: [Db, Api, Lb]}
  Db:    {installer: noop, exports: {port: 5432}}
  Api:   {installer: noop, imports: [Db.port], exports: {port: 8080}}
  Lb:    {installer: noop, imports: ["Api.* (optional)"]}
instances:
  - {name: db-vm, component: Host, children: [{name: db, component: Db}]}
  - {name: "api vm", component: Host, count: 2, children: [{name: api, component: Api}]}
  - {name: lb-vm, component: Host, children: [{name: lb, component: Lb}]}
"""

STATES = {
    "/db-vm": "deployed_started",
    "/db-vm/db": "deployed_stopped",
    "/api vm 1": "deployed_started",
    "/api vm 1/api": "waiting_for_ancestor",
    "/api vm 2": "problem",
    "/api vm 2/api": "starting",
    "/lb-vm": "deployed_started",
    "/lb-vm/lb": "not_deployed",
}


def _info(tmp_path, text=SHOP, states=None):
    src = tmp_path / "app.app.yml"
    src.write_text(text, encoding="utf-8")
    store = Store(str(tmp_path / "store.db"))
    name = engine.add_application(store, str(src))["application"]
    if states:
        with store.transaction(name) as tx:
            tx.write_states({p: InstanceState(s, "deployed_started") for p, s in states.items()})
    return store, info.application_info(store, name)


@pytest.fixture
def shop(tmp_path):
    store, info = _info(tmp_path, states=STATES)
    yield info
    store.close()


# -- DOT ------------------------------------------------------------------------------------------


def test_dot_has_one_node_per_instance_with_label_and_state_colour(shop):
    dot = pdot.to_dot(shop)
    assert dot.startswith('digraph "shop" {') and dot.rstrip().endswith("}")
    for path, state in STATES.items():
        line = next(line for line in dot.splitlines() if line.strip().startswith('"%s" [' % path))
        name = path.rsplit("/", 1)[-1]
        assert 'label="%s\\n' % name in line and state in line
        assert 'fillcolor="%s"' % pstyle.state_style(state)[1] in line
    assert pstyle.state_style("deployed_started")[1] != pstyle.state_style("deployed_stopped")[1]


def test_dot_edge_styles_follow_the_edge_kind(shop):
    dot = pdot.to_dot(shop)
    assert '"/db-vm" -> "/db-vm/db" [style=solid' in dot                       # containment
    assert '"/db-vm/db" -> "/api vm 1/api" [style=dashed' in dot                # required import
    assert '"/api vm 2/api" -> "/lb-vm/lb" [style=dotted' in dot                # optional import
    assert dot.count(" -> ") == shop["graph"].number_of_edges()


def test_dot_quotes_names_with_quotes_and_backslashes():
    assert pdot._dot_id('a "b" \\c') == '"a \\"b\\" \\\\c"'


# -- SVG ------------------------------------------------------------------------------------------


def _nodes(root):
    return [g for g in root.iter(SVG + "g") if "node" in (g.get("class") or "").split()]


def test_svg_is_well_formed_with_one_node_per_instance_and_state_colours(shop):
    root = ET.fromstring(psvg.to_svg(shop).encode("utf-8"))
    assert root.tag == SVG + "svg"
    nodes = _nodes(root)
    assert sorted(g.get("data-path") for g in nodes) == sorted(STATES)
    for g in nodes:
        state = STATES[g.get("data-path")]
        rect = g.find(SVG + "rect")
        assert rect.get("fill") == pstyle.state_style(state)[1]
        texts = [t.text for t in g.findall(SVG + "text")]
        assert texts[0] == g.get("data-path").rsplit("/", 1)[-1] and state in texts
    assert len(set(g.get("id") for g in nodes)) == len(nodes)


def test_svg_draws_every_edge_with_its_style_and_a_legend(shop):
    svg = psvg.to_svg(shop)
    root = ET.fromstring(svg.encode("utf-8"))
    edges = [p for p in root.iter(SVG + "path") if "edge" in (p.get("class") or "").split()]
    assert len(edges) == shop["graph"].number_of_edges()
    kinds = {tuple(sorted(p.get("class").split())): p.get("stroke-dasharray") for p in edges}
    assert kinds[("contains", "edge")] is None
    assert kinds[("edge", "requires")] and kinds[("edge", "optional")]
    for group, _fill, _stroke in pstyle.LEGEND:
        assert ">%s<" % group.replace("/", "/") in svg


def test_failed_paths_are_drawn_red(shop):
    svg = psvg.to_svg(shop, failed=["/lb-vm/lb"])
    root = ET.fromstring(svg.encode("utf-8"))
    lb = next(g for g in _nodes(root) if g.get("data-path") == "/lb-vm/lb")
    assert lb.find(SVG + "rect").get("fill") == pstyle.state_style("failed")[1] == pstyle.state_style("problem")[1]


def test_layout_ranks_follow_containment_and_imports_and_boxes_do_not_overlap(shop):
    layout = playout.Layout(shop)
    for source, target, _data in shop["graph"].edges(data=True):
        assert layout.rank[target] > layout.rank[source]     # optional Api -> Lb too: no cycle
    assert layout.crossings() == 0
    _assert_no_overlap(layout)


def _assert_no_overlap(layout):
    for layer in layout.layers:
        spans = sorted(((layout.y[n] - layout.height_of(n) / 2, layout.y[n] + layout.height_of(n) / 2, n)
                        for n in layer), key=lambda span: span[:2])
        for (_top, bottom, node), (next_top, _bottom, next_node) in zip(spans, spans[1:]):
            bends = isinstance(node, tuple) and isinstance(next_node, tuple)    # two edges passing through
            assert next_top >= bottom + (playout.BEND_GAP if bends else playout.NODE_GAP) - 1e-6


def _synthetic(paths, edges):
    import networkx as nx
    graph = nx.DiGraph()
    graph.add_nodes_from(paths)
    for source, target in edges:
        graph.add_edge(source, target, contains=True, imports=[], required=False)
    instances = [{"path": p, "name": p.strip("/"), "component": "C", "parent": None, "state": "not_deployed",
                  "desired_state": "not_deployed"} for p in paths]
    return {"application": "synthetic", "instances": instances, "order": list(paths), "graph": graph}


def test_barycenter_pass_removes_avoidable_crossings():
    # Declaration order puts /c1 first, but /c1 hangs from /p2 and /c2 from /p1: a crossing
    # that ordering by barycenter removes (/d1 and /d2 one rank further follow along).
    info = _synthetic(["/p1", "/p2", "/c1", "/c2", "/d1", "/d2"],
                      [("/p1", "/c2"), ("/p2", "/c1"), ("/c1", "/d1"), ("/c2", "/d2")])
    layout = playout.Layout(info)
    naive = [["/p1", "/p2"], ["/c1", "/c2"], ["/d1", "/d2"]]
    assert layout.crossings(naive) == 1
    assert layout.crossings() == 0
    assert layout.layers[1] == ["/c2", "/c1"]


def test_long_edges_bend_through_every_rank_they_cross():
    info = _synthetic(["/a", "/b", "/c", "/d"], [("/a", "/b"), ("/b", "/c"), ("/c", "/d"), ("/a", "/d")])
    layout = playout.Layout(info)
    assert [layout.rank[p] for p in ("/a", "/b", "/c", "/d")] == [0, 1, 2, 3]
    long_edge = next(r for r in layout.routes if r[:2] == ("/a", "/d"))
    assert len(long_edge[3]) == 2                  # a bend point in ranks 1 and 2
    _assert_no_overlap(layout)


def test_a_hundred_instances_draw_fast_readably(tmp_path):
    text = """\
application: big
components:
  VM: {installer: noop, children: [Web, Db, Worker]}
  Web: {installer: noop, exports: {port: 80}, imports: [Db.port]}
  Db: {installer: noop, exports: {port: 5432}}
  Worker: {installer: noop, imports: [Db.port, "Web.* (optional)"]}
instances:
  - {name: db-vm, component: VM, children: [{name: db, component: Db}]}
  - {name: web-vm, component: VM, count: 33,
     children: [{name: web, component: Web}, {name: worker-with-a-name-too-long-to-fit-in-a-box, component: Worker}]}
"""
    store, info = _info(tmp_path, text)
    try:
        started = time.monotonic()
        svg = psvg.to_svg(info)
        assert time.monotonic() - started < 5.0
        root = ET.fromstring(svg.encode("utf-8"))
        assert len(_nodes(root)) == len(info["instances"]) == 101
        assert "\u2026" in svg                       # long names are cut, the tooltip keeps the path
        assert int(root.get("width")) < 3000        # left to right: wide ranks grow down, not across
        _assert_no_overlap(playout.Layout(info))
    finally:
        store.close()


def test_empty_or_flat_application_draws(tmp_path):
    text = """\
application: flat
components:
  M: {installer: noop}
instances:
  - {name: only, component: M}
"""
    store, info = _info(tmp_path, text)
    try:
        root = ET.fromstring(psvg.to_svg(info).encode("utf-8"))
        assert [g.get("data-path") for g in _nodes(root)] == ["/only"]
        assert "->" not in pdot.to_dot(info)
    finally:
        store.close()


# -- the application_info report --------------------------------------------------------------------


def test_report_is_plain_data_and_writes_the_picture(tmp_path):
    store, _info_unused = _info(tmp_path, states=STATES)
    try:
        target = tmp_path / "shop.svg"
        report = info.application_report(store, "shop", str(target))
        json.dumps(report)                                        # plain data only (no graph objects)
        assert report["changed"] is False and report["picture"] == str(target)
        assert [i["path"] for i in report["instances"]] == list(STATES)
        assert set(report["instances"][0]) == set(info.INFO_KEYS)
        assert report["order"].index("/db-vm/db") < report["order"].index("/api vm 1/api")
        assert report["dot"].startswith("digraph")
        ET.parse(str(target))
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".appgraph-")]
    finally:
        store.close()


def test_report_refuses_a_picture_in_a_missing_folder(tmp_path):
    store, _info_unused = _info(tmp_path)
    try:
        with pytest.raises(InputError) as caught:
            info.application_report(store, "shop", str(tmp_path / "nope" / "x.svg"))
        assert caught.value.key == "picture" and "does not exist" in str(caught.value)
    finally:
        store.close()
