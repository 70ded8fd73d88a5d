# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The states of one application's instances, with the counts the rules read in O(1)."""

from __future__ import annotations

from collections import Counter

from ..model.application import Application
from ..model.states import NOT_DEPLOYED, InstanceState
from .states import ACTIVE, PUBLISHING
from .step import Step


class Counts:
    """Counts derived from the states, kept up to date as states change, so the rules read them
    in O(1): publishers per export prefix, and per parent its active and its deployed children."""

    __slots__ = ("published", "active", "deployed")

    def __init__(self):
        self.published: Counter = Counter()
        self.active: Counter = Counter()
        self.deployed: Counter = Counter()

    def copy(self) -> "Counts":
        other = Counts()
        other.published = Counter(self.published)
        other.active = Counter(self.active)
        other.deployed = Counter(self.deployed)
        return other

    def record(self, app: Application, path: str, before: str | None, after: str) -> list:
        """Account for ``path`` moving from ``before`` (None: not counted yet) to ``after``;
        return the export prefixes whose count of publishers changed."""
        inst = app.instances[path]
        changed = []
        was, now = before in PUBLISHING, after in PUBLISHING
        if was != now:
            delta = 1 if now else -1
            for prefix in app.components[inst.component].exports:
                self.published[prefix] += delta
                changed.append(prefix)
        if not inst.is_root:
            was, now = before in ACTIVE, after in ACTIVE
            if was != now:
                self.active[inst.parent] += 1 if now else -1
            was, now = before not in (None, NOT_DEPLOYED), after != NOT_DEPLOYED
            if was != now:
                self.deployed[inst.parent] += 1 if now else -1
        return changed


class Snapshot:
    """The states of one application's instances, with counts derived from them, and what the
    applications it is bound to publish (``external``: ``{prefix: {exporter key: {var: value}}}``,
    see ``external.py``).

    Life-cycle functions never change a snapshot; the driver calls ``apply`` with their steps.
    """

    def __init__(self, app: Application, states: dict | None = None, external: dict | None = None):
        self.app = app
        states = states or {}
        self.states = {path: states.get(path) or InstanceState() for path in app.instances}
        self.external = dict(external or {})
        self.counts = Counts()
        for path, current in self.states.items():
            self.counts.record(app, path, None, current.state)

    def __getitem__(self, path: str) -> InstanceState:
        return self.states[path]

    def apply(self, step: Step) -> "Snapshot":
        for path, new in step.changes.items():
            old = self.states[path]
            if old.state != new.state:
                self.counts.record(self.app, path, old.state, new.state)
            self.states[path] = new
        if step.external is not None:
            self.external = dict(step.external)
        return self

    def copy(self) -> "Snapshot":
        other = Snapshot.__new__(Snapshot)
        other.app, other.states, other.counts = self.app, dict(self.states), self.counts.copy()
        other.external = dict(self.external)
        return other
