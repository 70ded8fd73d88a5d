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
import json

from .schema import APPLICATION_SCHEMA
from ..errors import InputError, InputErrors, Location, shorten, suggest
from ..schema_errors import schema_error
from ..limits import MAX_DATA_CHARACTERS, Limits, cap_hint
from ..names import EXPORT_NAME_PATTERN, QUALIFIED_PATTERN, TYPE_NAME_PATTERN, split_variable
from .components import MAX_COLLECTED, ComponentResolver
from .application import Application, Instance, child_path
from .external import external_export_errors
from .roots import root_errors, root_instance_error

APPGRAPH, ROBOCONF = "appgraph", "roboconf"


def _import(name: str):
    """A validation library, imported on first use (0.1 s each, and an application read back from
    the store is not validated again, so most runs never need them); None when not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


MAX_REPORTED = 20
# What a person reads instead of the regular expression a value missed.
_PATTERN_HINTS = {
    QUALIFIED_PATTERN: "write 'Component.variable' (the variable of a component or facet)",
    EXPORT_NAME_PATTERN: "a variable: letters, digits, '_' and '-', maybe prefixed ('Facet.name')",
    TYPE_NAME_PATTERN: "use letters, digits, '_' and '-' (no dots or spaces)",
}

_VALIDATOR = None
_FAST_CHECK = []


def _validator():
    global _VALIDATOR  # a compiled validator is costly to build and immutable: build it once
    if _VALIDATOR is None:
        jsonschema = _import("jsonschema")
        if jsonschema is None:
            raise InputError("the Python package 'jsonschema' is required to validate applications",
                             hint="pip install jsonschema")
        validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"uniqueItems": _unique_items})
        _VALIDATOR = validator(APPLICATION_SCHEMA)
    return _VALIDATOR


def _unique_items(_validator, unique, instance, _schema):
    """jsonschema's uniqueItems in linear time: its own compares every pair of a list it cannot
    sort (names mixed with numbers), 16 s for 10,000 entries."""
    if unique and isinstance(instance, list) and len(set(map(_json_key, instance))) < len(instance):
        yield _import("jsonschema").ValidationError("%s has non-unique elements" % shorten(instance))


def _json_key(value):
    """Hashable, and equal for values JSON Schema calls equal (1 and 1.0; not 1 and true)."""
    if isinstance(value, bool) or value is None:
        return (type(value).__name__, value)
    if isinstance(value, (int, float, str)):
        return ("number" if not isinstance(value, str) else "string", value)
    return ("json", json.dumps(value, sort_keys=True))


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
    return schema_error(err, locate, _application_wording)


def _application_wording(err, where, key) -> InputError | None:
    if err.validator == "pattern":
        return InputError("invalid value %s" % shorten(err.instance), where, key=key,
                          hint=_PATTERN_HINTS.get(err.validator_value, "it must match %s" % err.validator_value))
    if err.validator == "propertyNames":
        return InputError("invalid name %s" % shorten(err.instance), where, key=key,
                          hint="use letters, digits, '_' and '-' (no dots or spaces)")
    return None


def build_application(doc, locate=_no_location, source: str | None = None,
                      base_dir: str | None = None, validate: bool = True,
                      limits: Limits | None = None, name: str | None = None) -> Application:
    """Validate ``doc`` (a template) and build the application ``name`` (default: the template's
    name); raise InputErrors listing every problem. What Roboconf only warns about is kept in the
    application's ``warnings``.

    ``doc`` has passed ``document.check_document``; ``limits`` caps the instances (None: no cap)."""
    if not isinstance(doc, dict):
        raise InputError("an application file must be a mapping with 'application' and 'components'",
                         locate(()), hint="start the file with 'application: <name>'")
    errors = schema_errors(doc, locate) if validate else []
    if errors:
        raise InputErrors(errors)
    dialect = doc.get("dialect") or APPGRAPH
    resolver = ComponentResolver(doc["components"], doc.get("facets") or {}, locate, base_dir, limits)
    components = resolver.resolve()
    exported = {full for comp in components.values() for prefix, variables in comp.exports.items()
                for full in ("%s.%s" % (prefix, var) for var in variables)}
    errors = resolver.errors + _import_errors(components, doc, locate)
    if validate:        # rules newer than some stored documents: a stored one is never locked out
        errors += resolver.refusals + external_export_errors(doc, exported, locate)
        if not resolver.errors:                    # roots are only known once the graph is whole
            errors += root_errors(components, doc["components"], doc.get("facets") or {}, resolver.carriers,
                                  dialect == ROBOCONF, locate)
    too_many = instance_count_error(doc.get("instances") or [], locate, limits) if limits else None
    if too_many is not None:                       # expanding them is what must not happen
        raise InputErrors(_unique(errors + [too_many])[:MAX_REPORTED])
    builder = _InstanceBuilder(components, locate, dialect)
    builder.build(doc.get("instances") or [])
    errors += builder.errors
    if errors:
        raise InputErrors(_unique(errors)[:MAX_REPORTED])
    return Application(name=name or doc["application"], components=components, instances=builder.instances,
                       description=doc.get("description", ""), source=source, document=doc,
                       locate=locate, template=doc["application"], dialect=dialect,
                       warnings=_unique(resolver.warnings + builder.warnings)[:MAX_REPORTED])


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
            if len(errors) >= MAX_COLLECTED:     # enough to report: the rest would cost suggestions
                return errors
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


def count_of(entry: dict) -> int:
    """An entry's ``count``: the schema takes 3.0 for an integer (JSON Schema does), Python does not."""
    count = entry.get("count", 1)
    return int(count) if isinstance(count, float) else count


def instance_count_error(entries: list, locate, limits: Limits) -> InputError | None:
    """The error for instances that ``count`` multiplies past the cap, found before expanding any.

    An entry stands for the product of its own count and the counts above it; the walk stops as
    soon as the sum passes ``max_instances``, so ``count: 1000000000`` costs nothing. The error
    points at the innermost ``count`` that multiplies the entry where the sum passed the cap."""
    total = 0
    stack = [(entry, 1, ("instances", i), None) for i, entry in reversed(list(enumerate(entries)))]
    while stack:
        entry, above, where, counted_at = stack.pop()
        count = count_of(entry)
        if count > 1:
            counted_at = where
        total += above * count
        if total > limits.max_instances:
            return InputError("more than %d instances once 'count' is expanded" % limits.max_instances,
                              locate(counted_at + ("count",) if counted_at else where),
                              key="count" if counted_at else "instances",
                              hint="lower the count, " + cap_hint("max_instances"))
        children = entry.get("children") or []
        stack.extend((children[i], above * count, where + ("children", i), counted_at)
                     for i in range(len(children) - 1, -1, -1))
    return None


def count_names(name: str, count: int, dialect: str) -> list:
    """The names ``count`` gives an entry. The YAML format: ``name 1`` ... ``name N``. Roboconf
    (``FromInstanceDefinition.replicateInstancesFrom``): the number appended as it is, zero-padded
    to the width of the count (``vm-`` with count 3: ``vm-1`` ... ``vm-3``; count 12: ``vm-01``
    ... ``vm-12``). A count of 1 keeps the name."""
    if count == 1:
        return [name]
    if dialect == ROBOCONF:
        width = len(str(count))
        return ["%s%0*d" % (name, width, i) for i in range(1, count + 1)]
    return ["%s %d" % (name, i) for i in range(1, count + 1)]


class _InstanceBuilder:
    """Expands the ``instances`` tree: counts, paths, allowed children, export overrides, data."""

    def __init__(self, components: dict, locate, dialect: str = APPGRAPH):
        self.components = components
        self.locate = locate
        self.dialect = dialect
        self.instances: dict = {}
        self.errors: list = []
        self.warnings: list = []
        self._children: dict = {}
        self._declared: dict = {}          # path -> (JSON path of its entry, the entry's count)

    def build(self, entries: list) -> None:
        self._add_level(entries, None, ("instances",), True)
        for path, children in self._children.items():
            inst = self.instances[path]
            self.instances[path] = Instance(inst.path, inst.name, inst.component, inst.parent,
                                            tuple(children), inst.exports, inst.where, inst.data)

    def _add_level(self, entries, parent, where, with_data):
        for index, entry in enumerate(entries):
            self._add(entry, parent, where + (index,), with_data)

    def _add(self, entry, parent, where, with_data):
        if len(self.errors) >= MAX_COLLECTED:      # the build fails anyway: stop paying for errors
            return
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
        elif self.dialect == ROBOCONF:
            orphan = root_instance_error(self.components, comp_name, where, self.locate)
            if orphan is not None:
                self.errors.append(orphan)
                return
        exports = self._exports(comp, entry.get("exports") or {}, where)
        data = self._data(entry.get("data") or {}, where)
        count = count_of(entry)
        for number, name in enumerate(count_names(entry["name"], count, self.dialect), start=1):
            path = child_path(parent, name)
            if path in self.instances:
                self.errors.append(self._conflict(path, where, count))
                continue
            self._declared[path] = (where, count)
            # Roboconf's copies of a counted instance get no data (replicateInstance copies the
            # name, component, channels and exports): data belongs to the instance it was saved with.
            kept = with_data and (number == 1 or self.dialect != ROBOCONF)
            self.instances[path] = Instance(path, name, comp_name, parent, (), exports, where, data if kept else {})
            if parent is not None:
                self._children.setdefault(parent, []).append(path)
            self._add_level(entry.get("children") or [], path, where + ("children",), kept)

    def _conflict(self, path: str, where: tuple, count: int) -> InputError:
        """Two entries make one path: Roboconf's CO_CONFLICTING_INFERRED_INSTANCE when a count made
        it, CO_ALREADY_DEFINED_INSTANCE otherwise."""
        first_where, first_count = self._declared[path]
        if count == 1 and first_count == 1:
            return InputError("duplicate instance path %r" % path, self.locate(where + ("name",)), key="name",
                              hint="give sibling instances distinct names")
        counted, other = (where, first_where) if count > 1 else (first_where, where)
        return InputError("the instance %r inferred from a 'count' conflicts with another instance of that name "
                          "(%s)" % (path, self.locate(other + ("name",))), self.locate(counted + ("count",)),
                          key="count", hint="rename one of them, or lower the count (names from a count: %s)"
                          % ("'<name>1' ... '<name>N'" if self.dialect == ROBOCONF else "'<name> 1' ... '<name> N'"))

    def _data(self, data: dict, where: tuple) -> dict:
        """An entry's runtime data, within what a recipe's environment can hold."""
        size = 0
        for key, value in data.items():
            size += len(key) + len(str(value))
            if isinstance(value, str) and "\x00" in value:
                self.errors.append(InputError("the data %r holds a NUL character" % key,
                                              self.locate(where + ("data", key)), key=key,
                                              hint="no environment variable can carry it: remove it"))
        if size > MAX_DATA_CHARACTERS:
            self.errors.append(InputError("the data of one instance holds %d characters, more than %d"
                                          % (size, MAX_DATA_CHARACTERS), self.locate(where + ("data",)), key="data",
                                          hint="keep large values in files the recipes read; data reaches them as "
                                               "environment variables"))
        return dict(data)

    def _exports(self, comp, overrides: dict, where) -> dict:
        """The instance's values, as Roboconf's ``InstanceHelpers.findAllExportedVariables`` makes
        them: an override written in full (``Tomcat.port``) sets that variable; written by its local
        name (``port``) it sets every variable of that name; one the component does not export is
        kept as it is written (Roboconf's RM_MAGIC_INSTANCE_VARIABLE warning: it reaches the
        instance's recipes, and importers only under a prefix the component exports)."""
        values = {"%s.%s" % (prefix, var): default
                  for prefix, variables in comp.exports.items() for var, default in variables.items()}
        by_local: dict = {}
        for full in values:
            by_local.setdefault(split_variable(full)[1], []).append(full)
        for key, value in overrides.items():
            if key in values:
                values[key] = value
                continue
            targets = by_local.get(key)
            if not targets:
                values[key] = value
                self.warnings.append(InputError(
                    "%r does not export %r: the instance keeps it as a variable of its own" % (comp.name, key),
                    self.locate(where + ("exports", key)), key=key,
                    hint=suggest(split_variable(key)[1], set(by_local)) or "its recipes see it; importers do not"))
                continue
            if len({json.dumps(values[t], sort_keys=True) for t in targets}) > 1:
                self.warnings.append(InputError(
                    "%r sets %s, which are different variables of %r" % (key, ", ".join(targets), comp.name),
                    self.locate(where + ("exports", key)), key=key,
                    hint="write the prefix to set only one ('%s: ...')" % targets[0]))
            for target in targets:
                values[target] = value
        return values
