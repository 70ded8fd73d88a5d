# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a Roboconf application directory into the same document an ``*.app.yml`` holds.

Layout (Roboconf's): ``descriptor/application.properties`` names the first ``.graph`` file under
``graph/`` and the first ``.instances`` file under ``instances/``; each may ``import`` others
(relative to the importing file, else to its folder as Roboconf does; each file is read once,
so import cycles are harmless).

``read_roboconf_application(dir)`` returns ``(document, locate)``: ``app_builder`` validates the
document exactly as it validates YAML, and ``locate`` maps any JSON path of the document to the
file, line and column where the Roboconf files say it, so semantic errors (an unknown child, an
import of an unknown component) point at the ``.graph`` and ``.instances`` lines.

The document says ``dialect: roboconf``: the model then applies Roboconf's own rules where they
differ from the YAML format's (``count`` names, roots installed by ``target``). The descriptor's
``version``, ``exports-prefix`` and external ``exports`` become ``version``, ``exports_prefix`` and
``external_exports``. Syntax errors are raised here, one per file, all files together. A component directory
``graph/<Component>/`` (Roboconf's recipes) becomes the component's ``recipes``.
"""

from __future__ import annotations

import os

from ..errors import InputError, InputErrors, Location
from ..limits import Limits, resolve as resolve_limits
from ..text_input import read_text
from .blocks import instance_fragment, type_fragment
from .descriptor import read_descriptor
from .lexer import Source
from .parser import GRAPH, INSTANCES, parse

GRAPH_DIR = "graph"
INSTANCES_DIR = "instances"


def read_roboconf_application(app_dir: str, limits: Limits | None = None) -> tuple:
    """(document, locate) of the Roboconf application in ``app_dir``; raise InputError(s) if malformed.

    Each file is read under the caps of ``limits`` (default: ``Limits.from_environment()``)."""
    limits = resolve_limits(limits)
    descriptor = read_descriptor(app_dir, limits)
    reader = _ApplicationReader(app_dir, descriptor, limits)
    doc = reader.read()
    return doc, make_locator(reader.locations, Location(descriptor.path, 1, 1))


def make_locator(locations: dict, fallback: Location):
    """``locate(path)``: where ``path`` was written, else its nearest enclosing element."""

    def locate(path) -> Location:
        path = tuple(path)
        while path:
            found = locations.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return locations.get((), fallback)

    return locate


class _ApplicationReader:
    def __init__(self, app_dir: str, descriptor, limits: Limits):
        self.app_dir = app_dir
        self.descriptor = descriptor
        self.limits = limits
        self.errors: list = []
        self.locations: dict = {}

    def read(self) -> dict:
        desc = self.descriptor
        self.locations[("application",)] = desc.locations["name"]
        self.locations[("description",)] = desc.locations["description"]
        # A whole section is the entry file that starts it: its first line.
        self.locations[("components",)] = self.locations[("facets",)] = Location(desc.graph_entry, 1, 1)
        if desc.instances_entry is not None:
            self.locations[("instances",)] = Location(desc.instances_entry, 1, 1)
        self.locations[("version",)] = desc.locations["version"]
        self.locations[("dialect",)] = desc.locations["name"]
        self.locations[("exports_prefix",)] = desc.locations["exports_prefix"]
        self.locations[("external_exports",)] = desc.locations["external_exports"]
        for internal in desc.external_exports:
            self.locations[("external_exports", internal)] = desc.locations["external_exports"]
        doc: dict = {"application": desc.name}
        if desc.version is not None:
            doc["version"] = desc.version
        if desc.description is not None:
            doc["description"] = desc.description
        doc["dialect"] = "roboconf"         # Roboconf's own rules: count names, 'target' roots
        if desc.exports_prefix is not None:
            doc["exports_prefix"] = desc.exports_prefix
        if desc.external_exports:
            doc["external_exports"] = dict(desc.external_exports)
        graph_files = self._parse_tree(desc.graph_entry, GRAPH, desc.locations["graph"])
        components, facets = self._types(graph_files)
        doc["components"] = components
        if facets:
            doc["facets"] = facets
        if desc.instances_entry is not None:
            doc["instances"] = self._instances(self._parse_tree(desc.instances_entry, INSTANCES,
                                                                desc.locations["instances"]))
        if not components and not self.errors:
            self.errors.append(InputError("no component is declared in %s nor in the files it imports"
                                          % desc.graph_entry, Location(desc.graph_entry, 1, 1),
                                          hint="declare components as 'Name { installer: script; }' blocks"))
        if self.errors:
            raise InputErrors(self.errors)
        return doc

    # -- files ----------------------------------------------------------------------------------

    def _parse_tree(self, entry: str, kind: str, entry_at: Location) -> list:
        """The entry file and every file it imports, transitively, each once, in reading order."""
        queue, seen, parsed = [(entry, entry_at)], set(), []
        while queue:
            path, imported_at = queue.pop(0)
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            result = self._parse_file(path, kind, imported_at)
            if result is None:
                continue
            parsed.append(result)
            for target, where in result.imports:
                resolved = self._resolve(target, path, kind, where)
                if resolved is not None:
                    queue.append((resolved, where))
        return parsed

    def _parse_file(self, path: str, kind: str, imported_at: Location):
        try:
            text = read_text(path, self.limits)
        except OSError as exc:
            self.errors.append(InputError("cannot read %s: %s" % (path, exc.strerror), imported_at))
            return None
        except InputError as exc:
            self.errors.append(exc)
            return None
        try:
            parsed = parse(Source(text, path), kind, self.limits.max_instance_nesting)
        except InputError as exc:          # a lexical error: nothing of the file is usable
            self.errors.append(exc)
            return None
        if parsed.error is not None:
            self.errors.append(parsed.error)
        return parsed

    def _resolve(self, target: str, importer: str, kind: str, where: Location):
        folder = os.path.join(self.app_dir, GRAPH_DIR if kind == GRAPH else INSTANCES_DIR)
        candidates = [os.path.normpath(os.path.join(os.path.dirname(importer), target)),
                      os.path.normpath(os.path.join(folder, target))]
        for candidate in candidates:
            if os.path.isfile(candidate):
                return candidate
        self.errors.append(InputError("imported file %r not found" % target, where, key="import",
                                      hint="paths are relative to the importing file (looked for %s)"
                                           % candidates[0]))
        return None

    # -- components, facets, instances ----------------------------------------------------------

    def _types(self, files: list) -> tuple:
        tables: dict = {"component": {}, "facet": {}}
        declared: dict = {}
        for parsed in files:
            for block in parsed.blocks:
                table = tables[block.kind]
                first = declared.get((block.kind, block.name))
                if first is not None:
                    self.errors.append(InputError(
                        "%s '%s' is declared twice (first at %s)" % (block.kind, block.name, first),
                        block.name_location, key=block.name, hint="merge the two blocks or rename one"))
                    continue
                declared[(block.kind, block.name)] = block.name_location
                fragment = self._fragment(type_fragment, block)
                if fragment is None:
                    continue
                value, where = fragment
                section = "components" if block.kind == "component" else "facets"
                table[block.name] = value
                self._add_locations((section, block.name), where)
                if block.kind == "component":
                    self._add_recipes(block.name, value)
        return tables["component"], tables["facet"]

    def _add_recipes(self, name: str, value: dict) -> None:
        if os.path.isdir(os.path.join(self.app_dir, GRAPH_DIR, name)):
            value["recipes"] = "%s/%s" % (GRAPH_DIR, name)

    def _instances(self, files: list) -> list:
        instances: list = []
        for parsed in files:
            for block in parsed.blocks:
                fragment = self._fragment(instance_fragment, block)
                if fragment is not None:
                    self._add_locations(("instances", len(instances)), fragment[1])
                    instances.append(fragment[0])
        return instances

    def _fragment(self, build, block):
        try:
            return build(block)
        except InputError as exc:
            self.errors.append(exc)
            return None

    def _add_locations(self, prefix: tuple, where: dict) -> None:
        for path, location in where.items():
            self.locations[prefix + path] = location
