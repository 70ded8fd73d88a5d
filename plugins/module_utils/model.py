# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The application model: components (types), instances (things), and the indexes the life cycle reads.

Built by ``app_builder`` from a validated document (YAML or Roboconf DSL); immutable afterwards.
Names follow Roboconf: an instance is named by its path, ``/root/child/grandchild``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Location

INSTALLER_ALIASES = {"target": "server", "bash": "script"}


@dataclass(frozen=True)
class ImportSpec:
    """One import of a component: ``Prefix.variable`` (``*`` for all), maybe optional or external."""

    prefix: str
    variable: str
    optional: bool = False
    external: bool = False
    where: tuple = field(default=(), compare=False)   # JSON path into the document

    @property
    def text(self) -> str:
        text = "%s.%s" % (self.prefix, self.variable)
        if self.external:
            text = "external " + text
        return text + (" (optional)" if self.optional else "")


@dataclass(frozen=True)
class Component:
    """A component with everything it inherits (extends, facets) already folded in."""

    name: str
    installer: str
    children: frozenset            # component names an instance of this one may contain
    exports: dict                  # prefix -> {variable: default}; own name, ancestors, facets
    imports: tuple                 # ImportSpec, own and inherited
    facets: tuple = ()
    ancestors: tuple = ()          # the ``extends`` chain, nearest first
    recipes: str | None = None     # directory of recipes, absolute once built
    recipe_dirs: tuple = ()        # own recipes first, then inherited ones (scripts fall back)
    provider: str | None = None
    provider_options: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    @property
    def required_prefixes(self) -> frozenset:
        """Prefixes with at least one required (non-optional, same-application) variable."""
        return frozenset(i.prefix for i in self.imports if not i.optional and not i.external)

    @property
    def import_prefixes(self) -> frozenset:
        return frozenset(i.prefix for i in self.imports if not i.external)

    @property
    def external_required(self) -> frozenset:
        return frozenset("%s.%s" % (i.prefix, i.variable) for i in self.imports
                         if i.external and not i.optional)


@dataclass(frozen=True)
class Instance:
    path: str
    name: str
    component: str
    parent: str | None
    children: tuple                # child paths, in declaration order
    exports: dict                  # "Prefix.var" -> value: defaults with this instance's overrides
    where: tuple = field(default=(), compare=False)   # JSON path into the document

    @property
    def is_root(self) -> bool:
        return self.parent is None


def child_path(parent: str | None, name: str) -> str:
    return "%s/%s" % (parent or "", name)


@dataclass
class Application:
    """An application model plus the indexes the life cycle needs in O(1)."""

    name: str
    components: dict               # name -> Component
    instances: dict                # path -> Instance, parents before children
    description: str = ""
    source: str | None = None
    document: dict = field(default_factory=dict, repr=False)   # the normalised input document
    locate: Any = field(default=None, repr=False, compare=False)  # JSON path -> Location
    exporters: dict = field(default_factory=dict, repr=False)  # prefix -> [paths]
    importers: dict = field(default_factory=dict, repr=False)  # prefix -> [paths]

    def __post_init__(self):
        if not self.exporters and not self.importers:
            self._index()

    def _index(self) -> None:
        exporters: dict = {}
        importers: dict = {}
        for inst in self.instances.values():
            comp = self.components[inst.component]
            for prefix in comp.exports:
                exporters.setdefault(prefix, []).append(inst.path)
            for prefix in comp.import_prefixes:
                importers.setdefault(prefix, []).append(inst.path)
        self.exporters, self.importers = exporters, importers

    @property
    def roots(self) -> list:
        return [p for p, i in self.instances.items() if i.parent is None]

    def location_of(self, path: str) -> Location:
        where = self.instances[path].where
        return self.locate(where) if self.locate else Location(self.source)

    def component_of(self, path: str) -> Component:
        return self.components[self.instances[path].component]

    def descendants(self, path: str) -> list:
        """Every path under ``path`` (not itself), parents before children."""
        out: list = []
        stack = list(reversed(self.instances[path].children))
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self.instances[current].children))
        return out

    def subtree(self, path: str | None) -> list:
        """``path`` and its descendants; the whole application for None."""
        if path is None:
            return list(self.instances)
        return [path] + self.descendants(path)

    def exporters_for(self, importer: str, prefix: str) -> list:
        """Instances that can satisfy ``prefix`` for ``importer`` (never itself)."""
        return [p for p in self.exporters.get(prefix, ()) if p != importer]

    def imported_values(self, path: str, published: dict) -> dict:
        """What ``path`` imports now: ``{prefix: {exporter path: {var: value}}}``.

        ``published`` maps a started instance's path to its exported values ("Prefix.var" -> v).
        """
        comp = self.component_of(path)
        wanted: dict = {}
        for spec in comp.imports:
            if not spec.external:
                wanted.setdefault(spec.prefix, set()).add(spec.variable)
        out: dict = {}
        for prefix, variables in wanted.items():
            for exporter in self.exporters_for(path, prefix):
                values = published.get(exporter)
                if values is None:
                    continue
                head = prefix + "."
                picked = {k[len(head):]: v for k, v in values.items() if k.startswith(head)
                          and ("*" in variables or k[len(head):] in variables)}
                out.setdefault(prefix, {})[exporter] = picked
        return out
