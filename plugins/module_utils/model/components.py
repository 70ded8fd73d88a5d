# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fold ``extends`` and facets into flat components (Roboconf's inheritance rules).

- A component inherits from the one it extends: installer, recipes, provider and options when it
  has none of its own; children, facets, imports and exports always (its own defaults win).
- Variables resolve as Roboconf's ``ComponentHelpers.findAllExportedVariables`` says: a facet
  exports its own variables under its name and what the facets it extends export under theirs (an
  extending facet does not re-export them under its own name); a component exports its facets'
  and its ancestors' variables under their prefixes, its own under its name, and every inherited
  variable under its own name too (``Comp1.param1`` when ``Comp1``'s facet ``f1`` exports
  ``param1``), so ``Tomcat.*`` finds a ``SpecialTomcat`` and ``SpecialTomcat.*`` sees what it
  inherited. A component's ``exports: f1.param1 = x`` overrides that inherited variable;
  ``exports: param1 = x`` overrides it under every prefix. A prefixed name that overrides nothing
  (``exports: db.ip`` when ``db`` is neither a facet nor an ancestor) is, as in Roboconf, a variable
  of the component's own prefix whose name holds a dot (``tomcat.db.ip``), with a warning.
- A child name that is a facet allows every component carrying that facet; a child name that is
  a component allows the components extending it too.
- Refused, as Roboconf refuses them: a cycle of ``extends`` among components or among facets, a
  containment cycle, and a component importing (without ``(optional)``) a variable it exports
  itself. A facet no component carries is a warning (Roboconf's RM_ORPHAN_FACET).

Input can make this work grow faster than the file: chains of ``extends`` are capped at
``max_depth`` (as nesting is), facets' exports are folded once per facet, the (component, child)
pairs the children allow are counted against ``max_dependencies`` before they are made, and
past ``MAX_COLLECTED`` errors no more are made (each one costs a location and a suggestion).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace

from ..errors import InputError, Location, suggest
from ..limits import DEPTH_CEILING, Limits, cap_hint
from ..names import IMPORT_PATTERN, split_variable
from .application import INSTALLER_ALIASES, Component, ImportSpec
from .containment import containment_error

_IMPORT_RE = re.compile(IMPORT_PATTERN)
MAX_COLLECTED = 100          # errors kept for one report (20 are shown, after duplicates go)


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

    def __init__(self, components: dict, facets: dict, locate, base_dir: str | None,
                 limits: Limits | None = None):
        self.raw = components
        self.facets = facets or {}
        self.locate = locate
        self.base_dir = base_dir
        self.limits = limits                      # None: a stored document, already within the caps
        self.max_depth = limits.max_depth if limits else DEPTH_CEILING
        self.errors: list = []
        self.refusals: list = []                  # Roboconf's rules newer than some stored documents
        self.warnings: list = []                  # InputErrors that do not refuse the application
        self._facet_exports_of: dict = {}         # facet -> {full name: default}, folded once
        self._component_exports_of: dict = {}     # component -> {full name: default}
        self._in_progress: set = set()            # guards the folds against cycles (reported apart)
        self._declared: dict = {}                 # component -> [(JSON path, child name written)]
        self._chains: dict = {}
        self._facet_sets: dict = {}
        self._carriers: dict = {}
        self._subtypes: dict = {}

    def resolve(self) -> dict:
        self._check_names()
        self._check_facet_cycles()
        chains = self._chains = {name: self._ancestors(name) for name in self.raw}
        facet_sets = self._facet_sets = {name: self._facets_of(name, chains[name]) for name in self.raw}
        built = {name: self._build(name, chains[name], facet_sets[name]) for name in self.raw}
        components = self._expand_children(built, chains, facet_sets)
        cycle = containment_error(components, self._why, self.locate)
        if cycle is not None:
            self.errors.append(cycle)
        self._check_self_imports(components)
        self._check_orphan_facets()
        return components

    @property
    def carriers(self) -> dict:
        """facet -> the components having it (directly, through an ancestor or an extending facet)."""
        return self._carriers

    def _refuse(self, message, path, key=None, hint=None):
        """An error of a rule that documents stored before it was enforced may break: the builder
        reports these only for input it validates, so no stored application is locked out."""
        if len(self.refusals) < MAX_COLLECTED:
            self.refusals.append(InputError(message, self.locate(path), key=key, hint=hint))

    def _warn(self, message, path, key=None, hint=None):
        if len(self.warnings) < MAX_COLLECTED:
            self.warnings.append(InputError(message, self.locate(path), key=key, hint=hint))

    # -- checks -------------------------------------------------------------------------------

    def _error(self, message, path, key=None, hint=None):
        """Keep an error, unless enough are kept; ``hint`` may be a function: a suggestion is
        made only for an error that is kept."""
        if len(self.errors) < MAX_COLLECTED:
            self.errors.append(InputError(message, self.locate(path), key=key, hint=hint() if callable(hint) else hint))

    def _check_names(self):
        for name in self.raw:
            if name in self.facets:
                self._error("%r is both a component and a facet" % name, ("facets", name),
                            key=name, hint="rename one of them")

    def _facet_parents(self, facet: str) -> list:
        parents = self.facets[facet].get("extends") or []
        return [parents] if isinstance(parents, str) else list(parents)

    def _check_facet_cycles(self) -> None:
        """A facet cannot extend itself, even indirectly (Roboconf's RM_CYCLE_IN_FACETS_INHERITANCE):
        one error per cycle, named from its first facet in declaration order, at its ``extends``."""
        order = {name: i for i, name in enumerate(self.facets)}
        state: dict = {}                              # 1: on the current path, 2: done
        for root in self.facets:
            if root in state:
                continue
            state[root] = 1
            stack = [(root, iter(self._facet_parents(root)))]
            while stack:
                name, pending = stack[-1]
                parent = next(pending, None)
                if parent is None:
                    state[name] = 2
                    stack.pop()
                elif parent not in self.facets:
                    continue                          # reported as an unknown facet
                elif state.get(parent) == 1:
                    path = [entry[0] for entry in stack]
                    cycle = path[path.index(parent):]
                    first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
                    cycle = cycle[first:] + cycle[:first]
                    self._refuse("facets extend each other in a cycle: %s" % " -> ".join(cycle + cycle[:1]),
                                 ("facets", cycle[0], "extends"), key="extends",
                                 hint="a facet cannot extend itself, even indirectly: remove one of these 'extends'")
                elif parent not in state:
                    state[parent] = 1
                    stack.append((parent, iter(self._facet_parents(parent))))

    def _check_self_imports(self, components: dict) -> None:
        """A component cannot import what it exports itself unless the import is optional (Roboconf's
        RM_COMPONENT_IMPORTS_EXPORTS; an optional one is how a cluster member finds its peers)."""
        for comp in components.values():
            own = set(self._component_exports_of.get(comp.name, {}))
            wildcards = {comp.name} | set(comp.ancestors) | set(comp.facets)
            for spec in comp.imports:
                if spec.optional or spec.external:
                    continue
                if (spec.variable == "*" and spec.prefix in wildcards) or "%s.%s" % (spec.prefix, spec.variable) in own:
                    self._refuse("%r imports %s, which it exports itself" % (comp.name, spec.text), spec.where,
                                 key="imports", hint="an instance never imports from itself: remove the import, or "
                                                     "mark it '(optional)' (how cluster members find each other)")

    def _check_orphan_facets(self) -> None:
        """A facet no component carries does nothing: Roboconf warns (RM_ORPHAN_FACET)."""
        for facet in self.facets:
            if facet not in self._carriers:
                children = self.facets[facet].get("children")
                reach = ": its children are reachable through nothing" if children else ""
                self._warn("no component has the facet %r%s" % (facet, reach),
                           ("facets", facet), key=facet,
                           hint="add it to a component's 'facets', or remove it")

    def _ancestors(self, name: str) -> tuple:
        chain, seen, current = [], {name}, name
        while True:
            parent = self.raw[current].get("extends")
            if parent is None:
                return tuple(chain)
            if parent not in self.raw:
                self._error("extends unknown component %r" % parent, ("components", current, "extends"),
                            key="extends", hint=lambda parent=parent: suggest(parent, self.raw))
                return tuple(chain)
            if parent in seen:
                self._error("'extends' forms a cycle: %s" % " -> ".join([name] + chain + [parent]),
                            ("components", name, "extends"), key="extends",
                            hint="a component cannot extend itself, even indirectly")
                return tuple(chain)
            if len(chain) >= self.max_depth:        # an error: inheriting nothing keeps the rest cheap
                self._error("'extends' chains more than %d components" % self.max_depth,
                            ("components", name, "extends"), key="extends",
                            hint="shorten the chain, " + cap_hint("max_depth"))
                return ()
            chain.append(parent)
            seen.add(parent)
            current = parent

    def _facet_closure(self, names, where) -> list:
        """The facets ``names`` and those they extend, breadth first; at most ``max_depth`` levels."""
        out, seen, frontier, level = [], set(), list(names), 0
        while frontier:
            level += 1
            if level > self.max_depth:
                self._error("facets extend each other more than %d deep" % self.max_depth, where,
                            key="extends", hint="shorten the chain, " + cap_hint("max_depth"))
                break
            following = []
            for facet in frontier:
                if facet in seen:
                    continue
                seen.add(facet)
                if facet not in self.facets:
                    self._error("unknown facet %r" % facet, where, key="facets",
                                hint=lambda facet=facet: suggest(facet, self.facets))
                    continue
                out.append(facet)
                parents = self.facets[facet].get("extends") or []
                following.extend([parents] if isinstance(parents, str) else parents)
            frontier = following
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

    def _exports(self, name) -> dict:
        """``{prefix: {variable: default}}`` of everything ``name`` exports (see the module's docstring)."""
        grouped: dict = {}
        for full, default in self._component_exports(name).items():
            prefix, variable = split_variable(full)
            grouped.setdefault(prefix, {})[variable] = default
        return grouped

    def _component_exports(self, name: str) -> dict:
        """``{full name: default}``: Roboconf's ``findAllExportedVariables(Component)``, folded once
        per component (its parent's fold first)."""
        if name in self._component_exports_of:
            return self._component_exports_of[name]
        if name in self._in_progress:             # an extends cycle, reported by _ancestors
            return {}
        self._in_progress.add(name)
        chain = self._chains.get(name, ())
        result: dict = {}
        for facet in self.raw[name].get("facets") or []:
            if facet in self.facets:
                result.update(self._facet_exports(facet))
        if chain:
            result.update(self._component_exports(chain[0]))     # the parent's fold holds its ancestors'
        result.update(self._own_exports(name, result))
        self._replicate(name, chain, result)
        self._in_progress.discard(name)
        self._component_exports_of[name] = result
        return result

    def _own_exports(self, name: str, inherited: dict) -> dict:
        """A component's own variables: ``f.v`` written as it is inherited overrides that variable;
        ``v`` is the component's own and overrides every inherited ``*.v`` too (Roboconf skips
        prefixes there); a prefixed name that overrides nothing stays the component's, dot included."""
        by_local: dict = {}
        for full in inherited:
            by_local.setdefault(split_variable(full)[1], []).append(full)
        own: dict = {}
        for written, default in (self.raw[name].get("exports") or {}).items():
            if written in inherited:
                own[written] = default
            elif written.startswith(name + "."):
                own[written] = default
            else:
                own["%s.%s" % (name, written)] = default
                if "." in written:
                    self._warn("%r exports %r, which overrides no variable of its facets or of the components it "
                               "extends: it is %s's variable %r" % (name, written, name, written),
                               ("components", name, "exports", written), key="exports",
                               hint="prefix a variable with a facet of %r or a component it extends to override it"
                                    % name)
            for full in by_local.get(written, ()):
                own[full] = default
        return own

    def _replicate(self, name: str, chain: tuple, result: dict) -> None:
        """Every inherited variable is exported under the component's own name too; when several
        prefixes hold one name, the nearest ancestor's value is taken, then the facets' (Roboconf
        leaves that to a hash map's order; its own tests expect the ancestor's)."""
        rank = {prefix: i for i, prefix in enumerate(chain + self._facet_sets.get(name, ()))}
        candidates = sorted(((rank.get(split_variable(full)[0], len(rank)), i, full)
                             for i, full in enumerate(result) if split_variable(full)[0] != name))
        for _rank, _i, full in candidates:
            copy = "%s.%s" % (name, split_variable(full)[1])
            if copy not in result:
                result[copy] = result[full]

    def _facet_exports(self, facet: str) -> dict:
        """``{full name: default}`` of a facet: Roboconf's ``findAllExportedVariables(Facet)``: what
        the facets it extends export (under their names), then its own under its name (``ff.v``
        written as inherited overrides that one)."""
        if facet in self._facet_exports_of:
            return self._facet_exports_of[facet]
        if facet in self._in_progress or len(self._in_progress) > self.max_depth:
            return {}                              # a cycle (reported apart), or too deep (reported)
        self._in_progress.add(facet)
        out: dict = {}
        for parent in self._facet_parents(facet):
            if parent in self.facets:
                out.update(self._facet_exports(parent))
        for written, default in (self.facets[facet].get("exports") or {}).items():
            out[written if written in out or written.startswith(facet + ".") else "%s.%s" % (facet, written)] = default
        self._in_progress.discard(facet)
        self._facet_exports_of[facet] = out
        return out

    def _imports(self, name, chain) -> tuple:
        specs, seen = [], set()
        for owner in (name,) + chain:
            for index, text in enumerate(self.raw[owner].get("imports") or []):
                try:
                    spec = parse_import(text, ("components", owner, "imports", index), self.locate)
                except InputError as exc:
                    if len(self.errors) < MAX_COLLECTED:
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
            exports=self._exports(name),
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
        self._carriers, self._subtypes = carriers, subtypes
        pairs, out = 0, {}
        for name, comp in built.items():
            declared = self._declared[name] = self._children_declared(name, chains[name], facet_sets[name])
            allowed_by = [self._allowed_by(written) for _where, written in declared]
            pairs += sum(len(allowed) for allowed in allowed_by if allowed)
            if self.limits is not None and pairs > self.limits.max_dependencies:
                self._error("the children allow more than %d (component, child) pairs" % self.limits.max_dependencies,
                            ("components", name, "children"), key="children",
                            hint="name fewer facets or components as children, " + cap_hint("max_dependencies"))
                return {n: out.get(n, c) for n, c in built.items()}
            allowed = set()
            for (where, written), allowed_here in zip(declared, allowed_by):
                if allowed_here is None:
                    self._error("unknown child %r" % written, where, key="children",
                                hint=lambda written=written: suggest(written, list(self.raw) + list(self.facets)))
                else:
                    allowed |= allowed_here
            out[name] = replace(comp, children=frozenset(allowed))
        return out

    def _children_declared(self, name, chain, facets) -> list:
        """``[(JSON path, name written)]``: the children of ``name``, its ancestors and its facets."""
        declared = []
        for owner in (name,) + chain:
            declared.extend((("components", owner, "children", i), child)
                            for i, child in enumerate(self.raw[owner].get("children") or []))
        for facet in facets:
            declared.extend((("facets", facet, "children", i), child)
                            for i, child in enumerate(self.facets[facet].get("children") or []))
        return declared

    def _allowed_by(self, written: str):
        """The components a child name allows (None: the name is unknown)."""
        if written in self.raw:
            return self._subtypes.get(written, {written})
        if written in self.facets:
            return self._carriers.get(written, set())
        return None

    def _why(self, parent: str, child: str) -> tuple:
        """Why ``parent`` may contain ``child``: (JSON path of the declaration, name written, a facet?)."""
        for where, written in self._declared[parent]:
            if child in (self._allowed_by(written) or ()):
                return where, written, written in self.facets
        raise KeyError((parent, child))
