# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fold ``extends`` and facets into flat components (Roboconf's inheritance rules).

- A component inherits from the one it extends: installer, recipes, provider and options when it
  has none of its own; children, facets, imports and exports always (its own defaults win).
- Inherited exports are published under the ancestor's prefix and under the component's own,
  so ``Tomcat.*`` finds a ``SpecialTomcat`` and ``SpecialTomcat.*`` sees what it inherited.
- A facet contributes children and exports (under the facet's name); facets extend facets.
- A child name that is a facet allows every component carrying that facet; a child name that is
  a component allows the components extending it too.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import replace

from .errors import InputError, Location
from .model import INSTALLER_ALIASES, Component, ImportSpec

_IMPORT_RE = re.compile(r"^\s*(external\s+)?([A-Za-z_][A-Za-z0-9_\-]*)\.([A-Za-z_][A-Za-z0-9_\-]*|\*)"
                        r"\s*(\(optional\))?\s*$")


def suggest(name: str, choices) -> str | None:
    """A hint naming the closest valid choice, or listing a few."""
    choices = sorted(choices)
    lower = {c.lower(): c for c in choices}
    if name.lower() in lower:
        return "names are case-sensitive: did you mean %r?" % lower[name.lower()]
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return "did you mean %r?" % close[0]
    if choices:
        return "valid names: %s" % ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return None


def parse_import(text: str, where: tuple = (), locate=None) -> ImportSpec:
    match = _IMPORT_RE.match(text)
    if not match:
        raise InputError("malformed import %r" % text, locate(where) if locate else Location(), key="imports",
                         hint="write 'Component.variable', 'Component.*', "
                              "'Component.var (optional)' or 'external App.var'")
    return ImportSpec(prefix=match.group(2), variable=match.group(3), optional=bool(match.group(4)),
                      external=bool(match.group(1)), where=where)


class ComponentResolver:
    """Turns the ``components`` and ``facets`` sections into flat ``Component`` objects."""

    def __init__(self, components: dict, facets: dict, locate, base_dir: str | None):
        self.raw = components
        self.facets = facets or {}
        self.locate = locate
        self.base_dir = base_dir
        self.errors: list = []

    def resolve(self) -> dict:
        self._check_names()
        chains = {name: self._ancestors(name) for name in self.raw}
        facet_sets = {name: self._facets_of(name, chains[name]) for name in self.raw}
        built = {name: self._build(name, chains[name], facet_sets[name]) for name in self.raw}
        return self._expand_children(built, chains, facet_sets)

    # -- checks -------------------------------------------------------------------------------

    def _error(self, message, path, key=None, hint=None):
        self.errors.append(InputError(message, self.locate(path), key=key, hint=hint))

    def _check_names(self):
        for name in self.raw:
            if name in self.facets:
                self._error("%r is both a component and a facet" % name, ("facets", name),
                            key=name, hint="rename one of them")

    def _ancestors(self, name: str) -> tuple:
        chain, seen, current = [], {name}, name
        while True:
            parent = self.raw[current].get("extends")
            if parent is None:
                return tuple(chain)
            if parent not in self.raw:
                self._error("extends unknown component %r" % parent, ("components", current, "extends"),
                            key="extends", hint=suggest(parent, self.raw))
                return tuple(chain)
            if parent in seen:
                self._error("'extends' forms a cycle: %s" % " -> ".join([name] + chain + [parent]),
                            ("components", name, "extends"), key="extends",
                            hint="a component cannot extend itself, even indirectly")
                return tuple(chain)
            chain.append(parent)
            seen.add(parent)
            current = parent

    def _facet_closure(self, names, where) -> list:
        out, stack = [], list(names)
        while stack:
            facet = stack.pop(0)
            if facet in out:
                continue
            if facet not in self.facets:
                self._error("unknown facet %r" % facet, where, key="facets",
                            hint=suggest(facet, self.facets))
                continue
            out.append(facet)
            parents = self.facets[facet].get("extends") or []
            stack.extend([parents] if isinstance(parents, str) else parents)
        return out

    def _facets_of(self, name: str, chain: tuple) -> tuple:
        direct = []
        for owner in (name,) + chain:
            direct.extend(self.raw[owner].get("facets") or [])
        return tuple(self._facet_closure(direct, ("components", name, "facets")))

    # -- building -----------------------------------------------------------------------------

    def _inherited(self, key, name, chain):
        for owner in (name,) + chain:
            value = self.raw[owner].get(key)
            if value is not None:
                return value
        return None

    def _exports(self, name, chain, facets) -> dict:
        merged: dict = {}
        for owner in reversed((name,) + chain):        # the farthest ancestor first: nearer ones win
            merged.update(self.raw[owner].get("exports") or {})
        exports = {name: merged}
        declared: set = set()
        for owner in reversed(chain):                  # an ancestor's prefix carries what it declares
            declared |= set(self.raw[owner].get("exports") or {})
            exports[owner] = {k: merged[k] for k in declared}
        for facet in facets:
            exports[facet] = self._facet_exports(facet)
        return {prefix: variables for prefix, variables in exports.items() if variables}

    def _facet_exports(self, facet: str) -> dict:
        out: dict = {}
        for owner in reversed(self._facet_closure([facet], ("facets", facet))):
            out.update(self.facets[owner].get("exports") or {})
        return out

    def _imports(self, name, chain) -> tuple:
        specs, seen = [], set()
        for owner in (name,) + chain:
            for index, text in enumerate(self.raw[owner].get("imports") or []):
                try:
                    spec = parse_import(text, ("components", owner, "imports", index), self.locate)
                except InputError as exc:
                    self.errors.append(exc)
                    continue
                if (spec.prefix, spec.variable, spec.external) not in seen:
                    seen.add((spec.prefix, spec.variable, spec.external))
                    specs.append(spec)
        return tuple(specs)

    def _recipe_dirs(self, name, chain) -> tuple:
        dirs = []
        for owner in (name,) + chain:
            recipes = self.raw[owner].get("recipes")
            if recipes is not None and self.base_dir is not None:
                dirs.append(os.path.normpath(os.path.join(self.base_dir, recipes)))
            elif recipes is not None:
                dirs.append(recipes)
        return tuple(dirs)

    def _build(self, name, chain, facets) -> Component:
        installer = self._inherited("installer", name, chain)
        if installer is None:
            self._error("component %r has no installer" % name, ("components", name), key=name,
                        hint="add 'installer: script' (or server, noop, ansible), or 'extends' one that has it")
            installer = "noop"
        recipe_dirs = self._recipe_dirs(name, chain)
        return Component(
            name=name,
            installer=INSTALLER_ALIASES.get(installer, installer),
            children=frozenset(),
            exports=self._exports(name, chain, facets),
            imports=self._imports(name, chain),
            facets=facets,
            ancestors=chain,
            recipes=recipe_dirs[0] if recipe_dirs else None,
            recipe_dirs=recipe_dirs,
            provider=self._inherited("provider", name, chain),
            provider_options=dict(self._inherited("provider_options", name, chain) or {}),
            options=dict(self._inherited("options", name, chain) or {}),
        )

    def _expand_children(self, built, chains, facet_sets) -> dict:
        carriers: dict = {}      # facet -> components carrying it
        subtypes: dict = {}      # component -> components extending it (and itself)
        for name in built:
            for facet in facet_sets[name]:
                carriers.setdefault(facet, set()).add(name)
            for owner in (name,) + chains[name]:
                subtypes.setdefault(owner, set()).add(name)
        out = {}
        for name, comp in built.items():
            allowed = set()
            declared = []
            for owner in (name,) + chains[name]:
                declared.extend(("components", owner, "children", i, child)
                                for i, child in enumerate(self.raw[owner].get("children") or []))
            for facet in facet_sets[name]:
                declared.extend(("facets", facet, "children", i, child)
                                for i, child in enumerate(self.facets[facet].get("children") or []))
            for *where, child in declared:
                if child in self.raw:
                    allowed |= subtypes.get(child, {child})
                elif child in self.facets:
                    allowed |= carriers.get(child, set())
                else:
                    self._error("unknown child %r" % child, tuple(where), key="children",
                                hint=suggest(child, list(self.raw) + list(self.facets)))
            out[name] = replace(comp, children=frozenset(allowed))
        return out
