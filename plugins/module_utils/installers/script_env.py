# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment contract of ``script`` recipes: which script runs, with which files and variables.

The environment of a script (values arrive as they are: spaces, quotes, ``$``, newlines):

- ``APPGRAPH_OPERATION``, ``APPGRAPH_APPLICATION``, ``APPGRAPH_INSTANCE_PATH``,
  ``APPGRAPH_INSTANCE_NAME``, ``APPGRAPH_COMPONENT``, ``APPGRAPH_FILES_DIR``, ``APPGRAPH_DATA_DIR``;
- Roboconf's ``ROBOCONF_INSTANCE_NAME``, ``ROBOCONF_INSTANCE_PATH``, ``ROBOCONF_CLEAN_INSTANCE_PATH``,
  ``ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH``, ``ROBOCONF_COMPONENT_NAME``, ``ROBOCONF_FILES_DIR``;
- the instance's own exports by variable name (``ip``, ``port``, ...);
- imports: ``<Prefix>_size`` and ``<Prefix>_<i>_<var>`` for every started exporter (``i`` from 0,
  exporters in path order; ``<Prefix>_size`` is 0 when none is started);
- the ancestors' exports as ``ANCESTOR_<Component>_<var>``;
- for update, what the last start or update saw: ``APPGRAPH_OLD_<Prefix>_size`` and
  ``APPGRAPH_OLD_<Prefix>_<i>_<var>``;
- the instance's runtime data (Roboconf's ``data.<key>`` and ``instance-data``, the YAML ``data``):
  ``APPGRAPH_INSTANCE_DATA`` holds all of it as a JSON object (keys as written), and each key is
  ``APPGRAPH_INSTANCE_DATA_<key>`` too (``data.ec2.elastic.ip`` -> ``APPGRAPH_INSTANCE_DATA_ec2_elastic_ip``).

In names, every character other than a letter, a digit or ``_`` becomes ``_`` (Roboconf replaces
spaces and ``-``). A script has until the operation's deadline; a non-zero exit (or the deadline)
fails the operation with a message naming the script, the instance and the exit code, and the
last lines of its output as detail.
"""

from __future__ import annotations

import json
import os
import re

from ..names import identifier, local_name
from .base import OperationContext

TAIL_LINES = 40


def script_name(operation: str) -> str:
    return "%s.sh" % operation


def find_script(recipe_dirs, operation: str) -> str | None:
    """The first recipes directory with ``scripts/<operation>.sh``, or None."""
    for folder in recipe_dirs or ():
        if os.path.isfile(os.path.join(folder, "scripts", script_name(operation))):
            return folder
    return None


def recipe_files(recipe_dirs) -> dict:
    """Relative path -> source file, every recipes directory merged, earlier directories winning."""
    files: dict = {}
    for folder in recipe_dirs or ():
        if not os.path.isdir(folder):
            continue
        for current, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for filename in sorted(filenames):
                source = os.path.join(current, filename)
                files.setdefault(os.path.relpath(source, folder), source)
    return files


def env_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def clean_path(path: str, reverse: bool = False) -> str:
    """Roboconf's clean instance path: ``/VM/my-server`` -> ``VM_my_server`` (reversed: ``my_server_VM``)."""
    parts = [p for p in path.split("/") if p]
    if reverse:
        parts.reverse()
    return re.sub(r"[^A-Za-z0-9]", "_", "_".join(parts))


def imports_env(imports: dict, prefixes, head: str = "") -> dict:
    env = {}
    for prefix in sorted(set(prefixes) | set(imports)):
        exporters = imports.get(prefix) or {}
        env["%s%s_size" % (head, identifier(prefix))] = str(len(exporters))
        for index, exporter in enumerate(sorted(exporters)):
            for var, value in sorted((exporters[exporter] or {}).items()):
                env["%s%s_%d_%s" % (head, identifier(prefix), index, identifier(var))] = env_value(value)
    return env


def script_env(ctx: OperationContext, files_dir: str, data_dir: str) -> dict:
    """The environment of ``ctx``'s script (see the module's documentation)."""
    env = {}
    for component, exports in reversed(ctx.ancestors or []):       # the nearest ancestor wins
        for key, value in (exports or {}).items():
            env["ANCESTOR_%s_%s" % (identifier(component), identifier(local_name(key)))] = env_value(value)
    # every prefix imported, ``external`` ones too: ``<Prefix>_size`` is 0 while nothing is published
    prefixes = {spec.prefix for spec in getattr(ctx.component, "imports", ()) or ()}
    env.update(imports_env(ctx.imports or {}, prefixes))
    if ctx.operation == "update":
        env.update(imports_env(ctx.old_imports or {}, prefixes, head="APPGRAPH_OLD_"))
    own = sorted((ctx.exports or {}).items(), key=lambda kv: kv[0].partition(".")[0] == ctx.component.name)
    for key, value in own:              # the component's own prefix last: it wins over facets
        env[identifier(local_name(key))] = env_value(value)
    data = getattr(ctx, "data", None) or {}
    for key, value in sorted(data.items()):
        env["APPGRAPH_INSTANCE_DATA_%s" % identifier(key)] = env_value(value)
    env.update({
        "APPGRAPH_INSTANCE_DATA": json.dumps(data, sort_keys=True, ensure_ascii=False),
        "APPGRAPH_OPERATION": ctx.operation,
        "APPGRAPH_APPLICATION": ctx.application,
        "APPGRAPH_INSTANCE_PATH": ctx.path,
        "APPGRAPH_INSTANCE_NAME": ctx.name,
        "APPGRAPH_COMPONENT": ctx.component.name,
        "APPGRAPH_FILES_DIR": files_dir,
        "APPGRAPH_DATA_DIR": data_dir,
        "ROBOCONF_INSTANCE_NAME": ctx.name,
        "ROBOCONF_INSTANCE_PATH": ctx.path,
        "ROBOCONF_CLEAN_INSTANCE_PATH": clean_path(ctx.path),
        "ROBOCONF_CLEAN_REVERSED_INSTANCE_PATH": clean_path(ctx.path, reverse=True),
        "ROBOCONF_COMPONENT_NAME": ctx.component.name,
        "ROBOCONF_FILES_DIR": files_dir,
    })
    return env


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join((text or "").rstrip("\n").splitlines()[-lines:])


def output_detail(stdout: str, stderr: str) -> str:
    parts = []
    for label, text in (("stdout", stdout), ("stderr", stderr)):
        if text and text.strip():
            parts.append("--- %s (last lines) ---\n%s" % (label, tail(text)))
    return "\n".join(parts)
