"""Property tests: random applications, random requests, random failures; the rules always hold."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.appgraph.lifecycle.plugins.module_utils import lifecycle as lc
from ansible_collections.appgraph.lifecycle.plugins.module_utils.lifecycle.states import (
    DEPLOYED, PUBLISHING, STARTED, TRANSITIVE)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import DEPLOYED_STARTED, NOT_DEPLOYED

from ansible_collections.appgraph.lifecycle.tests.helpers.lifecycle import make_app


@st.composite
def applications(draw):
    """Components C0 (roots) .. Cn: a component contains higher-numbered ones and imports
    lower-numbered ones, so required imports and containment never form a cycle."""
    n = draw(st.integers(min_value=2, max_value=6))
    comps = {}
    for i in range(n):
        comp = {"installer": "noop", "exports": {"v": i}}
        children = draw(st.lists(st.integers(min_value=i + 1, max_value=n - 1), unique=True, max_size=3)) \
            if i + 1 < n else []
        if children:
            comp["children"] = ["C%d" % c for c in children]
        if i > 0:
            imports = draw(st.lists(st.tuples(st.integers(min_value=1, max_value=i - 1), st.booleans()),
                                    min_size=1, max_size=2, unique_by=lambda t: t[0])) if i > 1 else []
            if imports:
                comp["imports"] = ["C%d.v%s" % (j, " (optional)" if opt else "") for j, opt in imports]
        comps["C%d" % i] = comp

    def subtree(comp_index, depth):
        allowed = comps["C%d" % comp_index].get("children", [])
        if not allowed or depth > 3:
            return []
        out = []
        for k in range(draw(st.integers(min_value=1 if depth < 3 else 0, max_value=2))):
            child = draw(st.sampled_from(allowed))
            out.append({"name": "%s-%d" % (child.lower(), k), "component": child,
                        "children": subtree(int(child[1:]), depth + 1)})
        return out

    roots = [{"name": "vm%d" % r, "component": "C0", "children": subtree(0, 1)}
             for r in range(draw(st.integers(min_value=1, max_value=3)))]
    return make_app(comps, roots)


ACTIONS = lc.INSTANCE_ACTIONS + lc.BULK_ACTIONS


def check_invariants(snap: lc.Snapshot) -> None:
    app = snap.app
    for path, inst in app.instances.items():
        state = snap[path].state
        parent = snap[inst.parent].state if inst.parent else None
        if state != NOT_DEPLOYED and inst.parent is not None:
            assert parent in DEPLOYED, "%s is %s under a %s parent" % (path, state, parent)
        if state == DEPLOYED_STARTED:
            if inst.parent is not None:
                assert parent in STARTED, "%s started under a %s parent" % (path, parent)
            for prefix in app.component_of(path).required_prefixes:
                assert any(snap[e].state in PUBLISHING for e in app.exporters_for(path, prefix)), \
                    "%s started without %s" % (path, prefix)
    fresh = lc.Snapshot(app, snap.states).counts
    for name in ("published", "active", "deployed"):
        assert +getattr(fresh, name) == +getattr(snap.counts, name), "derived %s counts drifted" % name


def drive(snap, step, failing):
    """Apply a step and finish its operations wave by wave, checking the rules at every step."""
    blocked = set()
    for _wave in range(10000):
        snap.apply(step)
        check_invariants(snap)
        blocked |= {o.operation.path for o in step.failed}
        if not step.operations:
            return
        outcomes = [lc.Outcome(op, (op.kind, op.path) not in failing, "boom") for op in step.operations]
        step = lc.finish(snap, outcomes, lc.RunContext(blocked=frozenset(blocked)))
    raise AssertionError("the operations never settled")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rules_hold_under_random_requests_and_failures(data):
    app = data.draw(applications())
    paths = list(app.instances)
    snap = lc.Snapshot(app)
    for _request in range(data.draw(st.integers(min_value=1, max_value=10))):
        action = data.draw(st.sampled_from(ACTIONS))
        path = data.draw(st.sampled_from(paths)) if action in lc.INSTANCE_ACTIONS else \
            data.draw(st.one_of(st.none(), st.sampled_from(paths)))
        if action == "stop" and app.instances[path].parent is None:
            continue
        failing = set(data.draw(st.lists(st.tuples(st.sampled_from(["deploy", "start", "stop", "undeploy"]),
                                                   st.sampled_from(paths)), max_size=3)))
        drive(snap, lc.request(snap, action, path), failing)
        assert not [p for p, s in snap.states.items() if s.state in TRANSITIVE], "left in a transitive state"


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_without_failures_start_all_then_undeploy_all_round_trips(data):
    app = data.draw(applications())
    snap = lc.Snapshot(app)
    drive(snap, lc.request(snap, "start_all"), set())
    for path, inst in app.instances.items():
        present = all(any(snap[e].state in PUBLISHING for e in app.exporters_for(path, p))
                      for p in app.component_of(path).required_prefixes)
        parent_ok = inst.parent is None or snap[inst.parent].state in STARTED
        if present and parent_ok:
            assert snap[path].state == DEPLOYED_STARTED, path
    drive(snap, lc.request(snap, "undeploy_all"), set())
    assert {s.state for s in snap.states.values()} == {NOT_DEPLOYED}
