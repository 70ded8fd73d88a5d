"""A component cannot contain itself, even indirectly: the cycle is an error that names it, at the
line declaring its first step, whether the step is written, inherited or comes from a facet."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.containment import containment_cycle
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application

from .hostile import located_error

CASES = [
    ("two", "  A: {installer: noop, children: [B]}\n  B: {installer: noop, children: [A]}\n",
     3, "A contains B, B contains A"),
    ("itself", "  A: {installer: noop, children: [A]}\n", 3, "A contains A"),
    ("three", "  C: {installer: noop, children: [A]}\n  A: {installer: noop, children: [B]}\n"
              "  B: {installer: noop, children: [C]}\n", 3, "C contains A, A contains B, B contains C"),
    ("through a facet's children", "  A: {installer: noop, facets: [F]}\n  B: {installer: noop, children: [A]}\n"
                                   "facets:\n  F: {children: [B]}\n", 6, "A contains B (a child of facet F), B contains A"),
    ("through a facet as child", "  A: {installer: noop, children: [G]}\n  B: {installer: noop, facets: [G], children: [A]}\n"
                                 "facets:\n  G: {}\n", 3, "A contains B (B has facet G), B contains A"),
    ("through extends", "  A: {installer: noop, children: [B]}\n  B: {extends: A}\n", 3,
     "B contains B (inherited from A)"),
    ("through a subtype", "  VM: {installer: noop, children: [Server]}\n  Server: {installer: noop}\n"
                          "  Special: {extends: Server, children: [VM]}\n", 3,
     "VM contains Special (Special extends Server), Special contains VM"),
]


@pytest.mark.parametrize("components, line, cycle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_containment_cycle_is_an_error_naming_it(tmp_path, components, line, cycle):
    path = tmp_path / "a.app.yml"
    path.write_text("application: a\ncomponents:\n" + components)
    err = located_error(load_application, str(path))
    assert err.message == "containment forms a cycle: " + cycle
    assert (err.location.line, err.key) == (line, "children") and "cannot contain itself" in err.hint


def test_a_tree_of_components_has_no_cycle_and_the_first_cycle_is_always_the_same():
    assert containment_cycle({"VM": {"A", "B"}, "A": {"B"}, "B": set()}) is None
    cycles = {"VM": {"A"}, "A": {"B", "C"}, "B": {"A"}, "C": {"VM"}}
    assert containment_cycle(cycles) == [("A", "B"), ("B", "A")]          # declaration order: B before C
    assert containment_cycle(dict(reversed(list(cycles.items())))) == [("C", "VM"), ("VM", "A"), ("A", "C")]
