# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The application model: components (types), instances (things), and the indexes the life cycle reads.

Built by ``app_builder`` from a validated document (YAML or Roboconf DSL); immutable afterwards.
Names follow Roboconf: an instance is named by its path, ``/root/child/grandchild``.

The document is a *template* (Roboconf's application template: its ``application`` key is the
template's name); an ``Application`` is one application made from it, under its own name (the
template's unless the application module's ``name`` says otherwise), with its own instances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, Location, suggest

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
    def required_external_prefixes(self) -> frozenset:
        """Prefixes of ``external`` imports with at least one required variable: the instance waits
        for a bound application to publish them, as it waits for its own application's."""
        return frozenset(i.prefix for i in self.imports if not i.optional and i.external)

    @property
    def external_prefixes(self) -> frozenset:
        return frozenset(i.prefix for i in self.imports if i.external)


@dataclass(frozen=True)
class Instance:
    path: str
    name: str
    component: str
    parent: str | None
    children: tuple                # child paths, in declaration order
    exports: dict                  # "Prefix.var" -> value: defaults with this instance's overrides
    where: tuple = field(default=(), compare=False)   # JSON path into the document
    data: dict = field(default_factory=dict)          # runtime data kept with it (Roboconf's data.*)

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
    template: str = ""             # the template's name (the document's ``application``)
    dialect: str = "appgraph"      # "roboconf": Roboconf's own rules (see builder)
    warnings: list = field(default_factory=list, repr=False, compare=False)   # InputErrors that refuse nothing
    external_importers: dict = field(default_factory=dict, repr=False)  # external prefix -> [paths]

    def __post_init__(self):
        self.template = self.template or self.document.get("application") or self.name
        if not self.exporters and not self.importers and not self.external_importers:
            self._index()

    def _index(self) -> None:
        exporters: dict = {}
        importers: dict = {}
        external: dict = {}
        for inst in self.instances.values():
            comp = self.components[inst.component]
            for prefix in comp.exports:
                exporters.setdefault(prefix, []).append(inst.path)
            for prefix in comp.import_prefixes:
                importers.setdefault(prefix, []).append(inst.path)
            for prefix in comp.external_prefixes:
                external.setdefault(prefix, []).append(inst.path)
        self.exporters, self.importers, self.external_importers = exporters, importers, external

    @property
    def exports_prefix(self) -> str | None:
        """The prefix other applications import this one's external exports with."""
        return self.document.get("exports_prefix")

    @property
    def external_exports(self) -> dict:
        """``{"Component.variable": external name}``: what a bound application may import."""
        return dict(self.document.get("external_exports") or {})

    @property
    def version(self):
        return self.document.get("version")

    @property
    def roots(self) -> list:
        return [p for p, i in self.instances.items() if i.is_root]

    def location_of(self, path: str) -> Location:
        where = self.instances[path].where
        return self.locate(where) if self.locate else Location(self.source)

    def root_of(self, path: str) -> str:
        """The root (server) instance above ``path`` (``path`` itself for a root)."""
        while not self.instances[path].is_root:
            path = self.instances[path].parent
        return path

    def ancestors(self, path: str) -> list:
        """The instances above ``path``, nearest first."""
        out, current = [], self.instances[path].parent
        while current is not None:
            out.append(current)
            current = self.instances[current].parent
        return out

    def require(self, path: str | None, key: str = "path") -> None:
        """InputError naming the closest path when ``path`` is not an instance of this application."""
        if path is not None and path not in self.instances:
            raise InputError("no instance %r in application %r" % (path, self.name), key=key,
                             hint=suggest(path, self.instances))

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

    def imported_values(self, path: str, published: dict, external: dict | None = None) -> dict:
        """What ``path`` imports now: ``{prefix: {exporter: {var: value}}}``.

        ``published`` maps a started instance's path to its exported values ("Prefix.var" -> v);
        ``external`` maps an external prefix to what bound applications publish under it,
        ``{exporter key: {var: value}}`` (a key names the application and the instance:
        ``shop-db:/db-vm/db``). Both kinds share a prefix's entry, as in Roboconf.
        """
        comp = self.component_of(path)
        wanted: dict = {}
        outside: dict = {}
        for spec in comp.imports:
            (outside if spec.external else wanted).setdefault(spec.prefix, set()).add(spec.variable)
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
        for prefix, variables in outside.items():
            for exporter, values in sorted(((external or {}).get(prefix) or {}).items()):
                picked = {k: v for k, v in values.items() if "*" in variables or k in variables}
                out.setdefault(prefix, {})[exporter] = picked
        return out
