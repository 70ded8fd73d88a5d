# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Chain reactions across applications: after a run of an application, the applications that
import from it (through bindings, directly or through others) converge too, exporters before
importers, so that stopping a bound database leaves the importer of the other application
``unresolved`` in the same task, and starting it brings the importer back.

Each reaction is a plain converge of the importer with nothing asked (``Converger.run(None)``):
it reads what the applications it is bound to publish in its own transactions, and its
operations hold its own leases, so two processes reacting (or one reacting while another
converges the importer) never run one operation twice; whatever one of them does not see, the
other (or the next run, or ``reconcile``) finds from the states, level-triggered.
"""

from __future__ import annotations

import time

from ..model.graph import topological
from ..store.store import Store
from .converge import Converger
from .stored import stored_application


def dependents(bindings, name: str) -> list:
    """The applications importing from ``name``, directly or through others, each after every
    application of the list it imports from; ``bindings``: ``[(application, prefix, bound)]``."""
    importers: dict = {}
    for application, _prefix, bound in bindings:
        importers.setdefault(bound, set()).add(application)
    reached, frontier = [], [name]
    while frontier:
        current = frontier.pop(0)
        for importer in sorted(importers.get(current, ())):
            if importer != name and importer not in reached:
                reached.append(importer)
                frontier.append(importer)
    inside = set(reached) | {name}
    edges = [(bound, application) for application, _prefix, bound in bindings
             if application in inside and bound in inside and application != bound]
    order, _left = topological([name] + reached, edges)       # bindings never cycle (api.bindings)
    return [application for application in order if application != name]


def order_by_bindings(names: list, bindings) -> list:
    """``names`` with every application after those it imports from (ties: the given order)."""
    known = set(names)
    order, left = topological(list(names), [(bound, application) for application, _prefix, bound in bindings
                                            if application in known and bound in known and application != bound])
    return order + [name for name in names if name in left]


def react(store: Store, name: str, installers=None, parallelism: int = 10, timeout: float | None = None,
          clock=time.monotonic) -> list:
    """Converge the applications that import from ``name``; one entry per application that did
    something: ``{application, operations, failed_operations, timed_out}``."""
    out = []
    started = clock()
    for dependent in dependents(store.all_bindings(), name):
        if store.application(dependent) is None:
            continue
        left = None if timeout is None else max(0.0, timeout - (clock() - started))
        app = stored_application(store, dependent)
        result = Converger(store, app, installers=installers, parallelism=parallelism, clock=clock).run(
            None, timeout=left)
        if result.operations or result.timed_out:
            operations = [op.as_dict() for op in result.operations]
            out.append({"application": dependent, "operations": operations,
                        "failed_operations": [op for op in operations if op.get("ok") is False
                                              and not op.get("cancelled")],
                        "timed_out": result.timed_out})
    return out
