# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A component cannot contain itself, even indirectly (A contains B contains A).

Which components an instance may contain comes from ``children``: its own, those inherited
through ``extends``, those of its facets, each widened to the components that extend a named
component or carry a named facet. A cycle there makes no finite application: it is reported like
a cycle of imports, naming every step and where the first one is declared.
"""

from __future__ import annotations

from ..errors import InputError


def containment_cycle(children: dict) -> list | None:
    """One cycle of ``children`` (component -> the components it may contain) as ``[(parent,
    child), ...]`` from its earliest component in declaration order; None when there is none.

    An iterative depth-first search in declaration order, so the cycle named is always the same."""
    order = {name: i for i, name in enumerate(children)}
    state: dict = {}                                  # 1: on the current path, 2: done
    for root in children:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(sorted(children[root], key=order.__getitem__)))]
        while stack:
            name, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                state[name] = 2
                stack.pop()
            elif state.get(child) == 1:
                path = [entry[0] for entry in stack]
                return _rotate(path[path.index(child):], order)
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(sorted(children[child], key=order.__getitem__))))
    return None


def _rotate(cycle: list, order: dict) -> list:
    first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
    cycle = cycle[first:] + cycle[:first]
    return list(zip(cycle, cycle[1:] + cycle[:1]))


def containment_error(components: dict, why, locate) -> InputError | None:
    """The InputError naming a containment cycle of ``components`` (name -> Component), at the
    declaration of its first step. ``why(parent, child)`` says why ``parent`` may contain ``child``:
    ``(JSON path of the declaration, the name written there, whether it is a facet)``."""
    cycle = containment_cycle({name: comp.children for name, comp in components.items()})
    if cycle is None:
        return None
    reasons = [why(parent, child) for parent, child in cycle]
    steps = [_describe(parent, child, *reason) for (parent, child), reason in zip(cycle, reasons)]
    return InputError("containment forms a cycle: %s" % ", ".join(steps), locate(reasons[0][0]),
                      key="children", hint="a component cannot contain itself, even indirectly: "
                                           "remove one of these children")


def _describe(parent: str, child: str, where: tuple, written: str, is_facet: bool) -> str:
    notes = []
    if where[0] == "facets":
        notes.append("a child of facet %s" % where[1])
    elif where[1] != parent:
        notes.append("inherited from %s" % where[1])
    if written != child:
        notes.append("%s %s %s" % (child, "has facet" if is_facet else "extends", written))
    return "%s contains %s" % (parent, child) + (" (%s)" % "; ".join(notes) if notes else "")
