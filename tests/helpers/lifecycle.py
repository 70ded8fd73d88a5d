"""Small helpers for life-cycle tests: build an application from a dict, run a request to its end."""

from __future__ import annotations

from ansible_collections.appgraph.lifecycle.plugins.module_utils import lifecycle as lc
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import application_from_document
from ansible_collections.appgraph.lifecycle.plugins.module_utils.lifecycle.plan import settle


def make_app(components: dict, instances: list, facets: dict | None = None, name: str = "test",
             validate: bool = True):
    """``validate=False``: the model as a document the store kept is rebuilt (the newer of
    Roboconf's rules, such as a refused self-import, are not applied to it)."""
    doc = {"application": name, "components": components, "instances": instances}
    if facets:
        doc["facets"] = facets
    return application_from_document(doc, lambda path: None, validate=validate)


class Fleet:
    """A snapshot driven to quiescence after every request, with chosen operations failing."""

    def __init__(self, app):
        self.app = app
        self.snap = lc.Snapshot(app)
        self.fail: set = set()          # (kind, path) pairs that fail
        self.operations: list = []
        self.steps: list = []

    def _outcome(self, op):
        if (op.kind, op.path) in self.fail:
            return False, "recipe failed"
        return True, None

    def do(self, action, path=None):
        plan = settle(self.snap, lc.request(self.snap, action, path), outcome=self._outcome, copy=False)
        self.operations = plan.operations
        self.failed = plan.failed
        return plan

    def state(self, path):
        return self.snap[path].state

    def states(self):
        return {p: s.state for p, s in self.snap.states.items()}

    def order(self, kind):
        return [op.path for op in self.operations if op.kind == kind]
