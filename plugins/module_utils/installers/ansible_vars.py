# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The variables contract of ``ansible`` recipes: the ``script`` contract, as structured data.

Every host of a run is one instance (its inventory name is the instance path) and has:

- ``appgraph_operation``, ``appgraph_application``, ``appgraph_instance_path``,
  ``appgraph_instance_name``, ``appgraph_component``;
- ``appgraph_exports``: the instance's own exports by variable name (``{ip: ..., port: 8080}``;
  the component's own prefix wins over its facets', as for scripts);
- ``appgraph_imports``: per imported prefix, a list of dicts, one per started exporter in path
  order (``appgraph_imports.MySQL[0].port``); an imported prefix with no started exporter is ``[]``;
  ``appgraph_import_paths``: the exporters' instance paths, in the same order;
- ``appgraph_old_imports`` (and ``appgraph_old_import_paths``): for ``update``, what the last start
  or update saw (``{}`` for the other operations);
- ``appgraph_ancestors``: the ancestors' exports by component name (the nearest ancestor wins);
- ``appgraph_data``: the instance's runtime data (Roboconf's ``data.*``), keys as written;
- ``appgraph_instance_dir``: a directory of the instance's own on its server (relative paths start
  in the connection's working directory: the sandbox of a ``local`` server, the slot directory's
  parent of an ``ssh`` one is its user's home), made before ``deploy`` runs and removed after
  ``undeploy``.

Values arrive as data: the inventory marks every string unsafe (``{"__ansible_unsafe": ...}`` in
the JSON inventory, ``!unsafe`` in the YAML one), so a value such as ``{{ lookup('pipe', 'id') }}``
reaches a task as those characters and is never templated.
"""

from __future__ import annotations

import json

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core always brings PyYAML (ansible-test's import check does not)
    yaml = None

from ..errors import InstallerError
from ..names import local_name
from .base import OperationContext


def own_exports(ctx: OperationContext) -> dict:
    """``{variable: value}``: the component's own prefix last, so it wins over facets."""
    ordered = sorted((ctx.exports or {}).items(), key=lambda kv: kv[0].partition(".")[0] == ctx.component.name)
    return {local_name(key): value for key, value in ordered}


def import_lists(imports: dict, prefixes) -> tuple:
    """``({prefix: [values per exporter]}, {prefix: [exporter paths]})``, exporters in path order."""
    values, paths = {}, {}
    for prefix in sorted(set(prefixes) | set(imports or {})):
        exporters = (imports or {}).get(prefix) or {}
        ordered = sorted(exporters)
        values[prefix] = [dict(exporters[path] or {}) for path in ordered]
        paths[prefix] = ordered
    return values, paths


def ancestor_exports(ancestors) -> dict:
    """``{component: {variable: value}}``; ``ancestors`` is nearest first, and the nearest wins."""
    found: dict = {}
    for component, exports in reversed(ancestors or []):
        found[component] = {local_name(key): value for key, value in (exports or {}).items()}
    return found


def instance_vars(ctx: OperationContext, instance_dir: str) -> dict:
    """The ``appgraph_*`` variables of ``ctx``'s host (see the module's documentation)."""
    prefixes = {spec.prefix for spec in getattr(ctx.component, "imports", ()) or ()}
    imports, import_paths = import_lists(ctx.imports, prefixes)
    old, old_paths = import_lists(ctx.old_imports, prefixes) if ctx.operation == "update" else ({}, {})
    return {
        "appgraph_operation": ctx.operation,
        "appgraph_application": ctx.application,
        "appgraph_instance_path": ctx.path,
        "appgraph_instance_name": ctx.name,
        "appgraph_component": ctx.component.name,
        "appgraph_exports": own_exports(ctx),
        "appgraph_imports": imports,
        "appgraph_import_paths": import_paths,
        "appgraph_old_imports": old,
        "appgraph_old_import_paths": old_paths,
        "appgraph_ancestors": ancestor_exports(ctx.ancestors),
        "appgraph_data": dict(getattr(ctx, "data", None) or {}),
        "appgraph_instance_dir": instance_dir,
    }


class _Unsafe(str):
    """A string Ansible must never template."""


def _unsafe_representer(dumper, value):
    return dumper.represent_scalar("!unsafe", str(value))


def _inventory_dumper():
    """Plain YAML, with ``!unsafe`` on every string value (mapping keys stay plain)."""
    if yaml is None:
        raise InstallerError("the ansible installer needs PyYAML (ansible-core's own dependency): pip install PyYAML")

    class InventoryDumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
        pass

    InventoryDumper.add_representer(_Unsafe, _unsafe_representer)
    return InventoryDumper


def _mark(value, unsafe):
    """``value`` with every string (not mapping keys) made ``unsafe(string)``."""
    if isinstance(value, str):
        return unsafe(value)
    if isinstance(value, dict):
        return {str(key): _mark(item, unsafe) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mark(item, unsafe) for item in value]
    return value


def _document(hosts: dict, unsafe) -> dict:
    """The inventory's data: every host in ``all`` with its variables (``{host: {var: value}}``).
    Only the instance's values are marked: connection variables are this collection's own, and
    Ansible reads them as it reads any inventory's."""
    return {"all": {"hosts": {name: {key: _mark(value, unsafe) if key.startswith("appgraph_") else value
                                     for key, value in variables.items()}
                              for name, variables in hosts.items()}}}


# Keys that Ansible's JSON decoder turns into something else than a mapping
RESERVED_JSON_KEY = "__ansible_"


def inventory_file(hosts: dict) -> tuple:
    """``(file name, text)`` of the run's inventory: JSON, which Ansible reads several times faster
    than YAML (its YAML loader records where every string came from: 2.5 s of a 190-host run), or
    YAML when a value holds a mapping key that Ansible's JSON decoder would take for its own."""
    if any(_has_reserved_key(value) for variables in hosts.values() for value in variables.values()):
        return "hosts.yml", inventory_yaml(hosts)
    return "hosts.json", inventory_json(hosts)


def _has_reserved_key(value) -> bool:
    if isinstance(value, dict):
        return any(str(key).startswith(RESERVED_JSON_KEY) or _has_reserved_key(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_reserved_key(item) for item in value)
    return False


def inventory_json(hosts: dict) -> str:
    """A JSON inventory, the instance's strings as Ansible's ``{"__ansible_unsafe": ...}``."""
    return json.dumps(_document(hosts, lambda text: {"__ansible_unsafe": text}), sort_keys=True, ensure_ascii=False)


def inventory_yaml(hosts: dict) -> str:
    """A YAML inventory, the instance's strings tagged ``!unsafe``."""
    return yaml.dump(_document(hosts, _Unsafe), Dumper=_inventory_dumper(), default_flow_style=False, sort_keys=True,
                     allow_unicode=True, width=1 << 20)
