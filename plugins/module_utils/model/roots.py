# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root components, and what Roboconf asks of them (its ``RuntimeModelValidator``).

A root component is one no component may contain (through ``children``, facets or ``extends``):
its instances are servers. Roboconf refuses:

- a component reachable only as a child of a facet no component has (RM_UNREACHABLE_COMPONENT):
  nothing can ever contain it, and it was not meant as a root; in both formats;
- in Roboconf applications (``dialect: roboconf``) a root whose installer is not ``target``
  (RM_ROOT_INSTALLER_MUST_BE_TARGET; the YAML format keeps ``server`` and ``noop`` roots, and any
  installer), and a root instance of a component that some component contains
  (RM_MISSING_INSTANCE_PARENT).
"""

from __future__ import annotations

from ..errors import InputError

TARGET = "target"


def root_components(components: dict) -> list:
    """Names of the components no component may contain, in declaration order."""
    contained = set()
    for comp in components.values():
        contained.update(comp.children)
    return [name for name in components if name not in contained]


def root_errors(components: dict, raw: dict, facets: dict, carriers: dict, roboconf: bool, locate) -> list:
    """InputErrors for the root components of ``components`` (folded) written as ``raw``;
    ``facets`` are the facets as written, ``carriers`` facet -> the components having it."""
    errors = []
    roots = root_components(components)
    orphan_children = _children_of_orphan_facets(components, facets, carriers)
    for name in roots:
        if name in orphan_children:
            facet = orphan_children[name]
            errors.append(InputError(
                "%r is unreachable: only the facet %r contains it, and no component has that facet" % (name, facet),
                locate(("components", name)), key=name,
                hint="give the facet %r to a component, or list %r in a component's 'children'" % (facet, name)))
        if roboconf:
            installer = _installer_written(name, components, raw)
            if installer != TARGET:
                errors.append(InputError(
                    "%r is a root component (no component contains it), so its installer must be %r, not %r"
                    % (name, TARGET, installer), locate(("components", _installer_owner(name, components, raw),
                                                         "installer")), key="installer",
                    hint="write 'installer: target;' (its instances are machines), or make it a child of a "
                         "component or of a facet a component has"))
    return errors


def root_instance_error(components: dict, component: str, where: tuple, locate) -> InputError | None:
    """Roboconf's RM_MISSING_INSTANCE_PARENT: a root instance of a component another contains."""
    parents = [name for name, comp in components.items() if component in comp.children]
    if not parents:
        return None
    return InputError("an instance of %r cannot be a root: %r is contained by %s" % (
        component, component, ", ".join(repr(p) for p in parents[:5])), locate(where + ("component",)),
        key="component", hint="declare it inside an 'instance of %s' block" % parents[0])


def _children_of_orphan_facets(components: dict, facets: dict, carriers: dict) -> dict:
    """component -> the facet without carriers that names it (or a component it extends) as a child."""
    out: dict = {}
    for facet, body in facets.items():
        if carriers.get(facet):
            continue
        for written in body.get("children") or []:
            for name, comp in components.items():
                if name == written or written in comp.ancestors:
                    out.setdefault(name, facet)
    return out


def _installer_owner(name: str, components: dict, raw: dict) -> str:
    """The component (``name`` or the ancestor it inherits it from) whose ``installer`` counts."""
    for owner in (name,) + tuple(components[name].ancestors):
        if raw.get(owner, {}).get("installer") is not None:
            return owner
    return name


def _installer_written(name: str, components: dict, raw: dict) -> str | None:
    """The installer as written (before ``target`` becomes ``server``)."""
    return raw.get(_installer_owner(name, components, raw), {}).get("installer")
