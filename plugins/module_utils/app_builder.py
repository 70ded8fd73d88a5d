# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Application document (a dict, from YAML or the Roboconf DSL) -> validated ``Application``.

Every problem found is reported at once, each with file:line, the key and a hint.
``locate(json_path)`` maps a path into the document to where the user wrote it.
"""

from __future__ import annotations

import copy
import importlib

from .app_schema import APPLICATION_SCHEMA
from .components import ComponentResolver, suggest
from .errors import InputError, InputErrors, Location
from .model import Application, Instance, child_path


def _import(name: str):
    """A validation library, imported on first use (0.1 s each, and an application read back from
    the store is not validated again, so most runs never need them); None when not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


MAX_REPORTED = 20

_VALIDATOR = None
_FAST_CHECK = []


def _validator():
    global _VALIDATOR  # a compiled validator is costly to build and immutable: build it once
    if _VALIDATOR is None:
        jsonschema = _import("jsonschema")
        if jsonschema is None:
            raise InputError("the Python package 'jsonschema' is required to validate applications",
                             hint="pip install jsonschema")
        _VALIDATOR = jsonschema.Draft202012Validator(APPLICATION_SCHEMA)
    return _VALIDATOR


def _no_location(_path):
    return Location()


def _passes_fast_check(doc) -> bool:
    """True when the compiled validator accepts ``doc``; False when it rejects it or is absent.

    Only the verdict is used: the errors a person reads always come from jsonschema."""
    fastjsonschema = _import("fastjsonschema")    # compiles the schema: ~20x faster on big files
    if fastjsonschema is None:
        return False
    if not _FAST_CHECK:
        # compile() rewrites the references of the schema it is given: give it a copy
        _FAST_CHECK.append(fastjsonschema.compile(copy.deepcopy(APPLICATION_SCHEMA)))
    try:
        _FAST_CHECK[0](doc)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def schema_errors(doc, locate) -> list:
    """Schema violations as InputErrors, in document order."""
    if _passes_fast_check(doc):
        return []
    found = sorted(_validator().iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [_schema_error(err, locate) for err in found[:MAX_REPORTED]]


def _schema_error(err, locate) -> InputError:
    path = tuple(err.absolute_path)
    key = str(path[-1]) if path else None
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed)) if isinstance(err.instance, dict) else []
        if extra:
            return InputError("unknown key %r" % extra[0], locate(path + (extra[0],)), key=extra[0],
                              hint=suggest(extra[0], allowed) if allowed else None)
    if err.validator == "required":
        return InputError(err.message.replace("is a required property", "is missing"), locate(path), key=key,
                          hint="add it")
    if err.validator == "pattern":
        return InputError("invalid value %r" % (err.instance,), locate(path), key=key,
                          hint="it must match %s" % err.validator_value)
    if err.validator == "propertyNames":
        return InputError("invalid name %r" % (err.instance,), locate(path), key=key,
                          hint="use letters, digits, '_' and '-' (no dots or spaces)")
    message = err.message if len(err.message) < 200 else err.message[:200] + "..."
    return InputError(message, locate(path), key=key)


def build_application(doc, locate=_no_location, source: str | None = None,
                      base_dir: str | None = None, validate: bool = True) -> Application:
    """Validate ``doc`` and build the model; raise InputErrors listing every problem."""
    if not isinstance(doc, dict):
        raise InputError("an application file must be a mapping with 'application' and 'components'",
                         locate(()), hint="start the file with 'application: <name>'")
    errors = schema_errors(doc, locate) if validate else []
    if errors:
        raise InputErrors(errors)
    resolver = ComponentResolver(doc["components"], doc.get("facets") or {}, locate, base_dir)
    components = resolver.resolve()
    errors = resolver.errors + _import_errors(components, doc, locate)
    builder = _InstanceBuilder(components, locate)
    builder.build(doc.get("instances") or [])
    errors += builder.errors
    if errors:
        raise InputErrors(_unique(errors)[:MAX_REPORTED])
    return Application(name=doc["application"], components=components, instances=builder.instances,
                       description=doc.get("description", ""), source=source, document=doc,
                       locate=locate)


def _unique(errors: list) -> list:
    seen, out = set(), []
    for err in errors:
        if str(err) not in seen:
            seen.add(str(err))
            out.append(err)
    return out


def _import_errors(components: dict, doc, locate) -> list:
    """Each import must name a prefix (component or facet) that exports the variable."""
    exported: dict = {}
    for comp in components.values():
        for prefix, variables in comp.exports.items():
            exported.setdefault(prefix, set()).update(variables)
    known = set(components) | set(doc.get("facets") or {})
    errors = []
    for comp in components.values():
        for spec in comp.imports:
            if spec.external:
                continue
            if spec.prefix not in known:
                errors.append(InputError("import of unknown component or facet %r" % spec.prefix, locate(spec.where),
                                         key="imports", hint=suggest(spec.prefix, known)))
            elif spec.prefix not in exported:
                errors.append(InputError("%r imports %s but %r exports nothing" % (comp.name, spec.text, spec.prefix),
                                         locate(spec.where), key="imports",
                                         hint="add 'exports' to %r or remove the import" % spec.prefix))
            elif spec.variable != "*" and spec.variable not in exported[spec.prefix]:
                errors.append(InputError("%r imports %s but no component exports it" % (comp.name, spec.text),
                                         locate(spec.where), key="imports",
                                         hint=suggest(spec.variable, exported[spec.prefix])))
    return errors


class _InstanceBuilder:
    """Expands the ``instances`` tree: counts, paths, allowed children, export overrides."""

    def __init__(self, components: dict, locate):
        self.components = components
        self.locate = locate
        self.instances: dict = {}
        self.errors: list = []
        self._children: dict = {}

    def build(self, entries: list) -> None:
        self._add_level(entries, None, ("instances",))
        for path, children in self._children.items():
            inst = self.instances[path]
            self.instances[path] = Instance(inst.path, inst.name, inst.component, inst.parent,
                                            tuple(children), inst.exports, inst.where)

    def _add_level(self, entries, parent, where):
        for index, entry in enumerate(entries):
            self._add(entry, parent, where + (index,))

    def _add(self, entry, parent, where):
        comp_name = entry["component"]
        comp = self.components.get(comp_name)
        if comp is None:
            self.errors.append(InputError("unknown component %r" % comp_name, self.locate(where + ("component",)),
                                          key="component", hint=suggest(comp_name, self.components)))
            return
        if parent is not None:
            parent_comp = self.instances[parent].component
            if comp_name not in self.components[parent_comp].children:
                allowed = sorted(self.components[parent_comp].children)
                self.errors.append(InputError(
                    "a %r cannot contain a %r" % (parent_comp, comp_name), self.locate(where + ("component",)),
                    key="component",
                    hint="%r allows: %s" % (parent_comp, ", ".join(allowed)) if allowed
                    else "%r allows no children" % parent_comp))
                return
        exports = self._exports(comp, entry.get("exports") or {}, where)
        count = entry.get("count", 1)
        names = [entry["name"]] if count == 1 else ["%s %d" % (entry["name"], i) for i in range(1, count + 1)]
        for name in names:
            path = child_path(parent, name)
            if path in self.instances:
                self.errors.append(InputError("duplicate instance path %r" % path, self.locate(where + ("name",)),
                                              key="name", hint="give sibling instances distinct names"))
                continue
            self.instances[path] = Instance(path, name, comp_name, parent, (), exports, where)
            if parent is not None:
                self._children.setdefault(parent, []).append(path)
            self._add_level(entry.get("children") or [], path, where + ("children",))

    def _exports(self, comp, overrides: dict, where) -> dict:
        values = {"%s.%s" % (prefix, var): default
                  for prefix, variables in comp.exports.items() for var, default in variables.items()}
        for key, value in overrides.items():
            targets = [k for k in values if k == key or k.endswith("." + key)] if "." not in key else \
                ([key] if key in values else [])
            if not targets:
                self.errors.append(InputError(
                    "%r does not export %r" % (comp.name, key), self.locate(where + ("exports", key)), key=key,
                    hint=suggest(key.split(".")[-1], {k.split(".", 1)[1] for k in values}) or
                    "%r exports nothing" % comp.name))
            for target in targets:
                values[target] = value
        return values
