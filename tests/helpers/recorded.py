# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An application whose recipes record every operation they run, for the concurrency and crash tests.

``write_recorded_app(folder, ...)`` writes ``<folder>/recorded.app.yml`` and the recipes of its
components. Every script (deploy, start, update, stop, undeploy) appends two lines to
``<folder>/ops.log`` with ``>>`` (O_APPEND: lines from several processes never mix):
``begin <path> <operation> <pid> <time>`` and ``end ...``, the ``end`` line carrying the imports the
recipe was given (``Db=<port>,<port>``). A script waits while the file
``<folder>/hold/<clean instance path>.<operation>`` exists, so a test can keep an operation running
(and kill its process, or start another run, meanwhile) without sleeping itself.

Components: ``Host`` (noop roots: the recipes run on this machine), ``Db`` (exports a random
port), ``Api`` (imports ``Db.*``, exports a random port), ``Web`` (imports ``Api.*``).
"""

from __future__ import annotations

import os
import re
from collections import Counter

import yaml

SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
log=%(log)s
hold=%(hold)s/$(printf %%s "$ROBOCONF_CLEAN_INSTANCE_PATH").%(op)s
echo "begin $APPGRAPH_INSTANCE_PATH %(op)s $$ $(date +%%s.%%N)" >> "$log"
while [ -e "$hold" ]; do sleep 0.01; done
seen=""
for prefix in %(imports)s; do
    size_var="${prefix}_size"
    ports=""
    for ((i = 0; i < ${!size_var:-0}; i++)); do
        port_var="${prefix}_${i}_port"
        ports="$ports${!port_var},"
    done
    seen="$seen $prefix=$ports"
done
echo "end $APPGRAPH_INSTANCE_PATH %(op)s $$ $(date +%%s.%%N)$seen" >> "$log"
"""

OPERATIONS = ("deploy", "start", "update", "stop", "undeploy")


def write_recorded_app(folder: str, hosts: int = 3, dbs: int = 2, webs_per_host: int = 1, name: str = "recorded",
                       servers: int = 0, local_root: str | None = None) -> str:
    """The application file; ``hosts`` Api hosts (each an Api with ``webs_per_host`` Webs under it)
    and ``dbs`` Db hosts, all noop roots; and ``servers`` real servers of the ``local`` provider
    (under ``local_root``), each carrying a ``Cache`` without recipes (its server is what counts).
    Instances: 2 * dbs + hosts * (2 + webs_per_host) + 2 * servers."""
    folder = os.path.abspath(folder)
    log, hold = os.path.join(folder, "ops.log"), os.path.join(folder, "hold")
    os.makedirs(hold, exist_ok=True)
    imports = {"Host": "", "Db": "", "Api": "Db", "Web": "Api"}
    for component, prefixes in imports.items():
        scripts = os.path.join(folder, "components", component, "scripts")
        os.makedirs(scripts, exist_ok=True)
        for op in OPERATIONS:
            path = os.path.join(scripts, "%s.sh" % op)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(SCRIPT % {"log": log, "hold": hold, "op": op, "imports": prefixes})
            os.chmod(path, 0o755)
    doc = {
        "application": name,
        "components": {
            "Host": {"installer": "noop", "children": ["Db", "Api", "Web"]},
            "Db": {"installer": "script", "recipes": "components/Db", "exports": {"port": {"random": "port"}}},
            "Api": {"installer": "script", "recipes": "components/Api", "imports": ["Db.*"],
                    "exports": {"port": {"random": "port"}}, "children": ["Web"]},
            "Web": {"installer": "script", "recipes": "components/Web", "imports": ["Api.*"]},
            "Server": {"installer": "server", "provider": "local", "children": ["Cache"],
                       "provider_options": {"root": local_root or os.path.join(folder, "servers")}},
            "Cache": {"installer": "noop", "exports": {"ip": None, "port": 6379}},
        },
        "instances": [
            {"name": "db-host", "component": "Host", "count": dbs, "children": [{"name": "db", "component": "Db"}]},
        ] + ([{"name": "srv", "component": "Server", "count": servers,
               "children": [{"name": "cache", "component": "Cache"}]}] if servers else []) + [
            {"name": "api-host", "component": "Host", "count": hosts, "children": [
                {"name": "api", "component": "Api",
                 "children": [{"name": "web", "component": "Web", "count": webs_per_host}]}]},
        ],
    }
    path = os.path.join(folder, "%s.app.yml" % name)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle)
    return path


def write_bound_apps(folder: str, dbs: int = 2) -> tuple:
    """Two templates whose recipes record as ``write_recorded_app``'s do (one ``ops.log``):
    ``store.app.yml`` (``dbs`` Db hosts, exports_prefix ``Store``: ``Db.port as port``) and
    ``front.app.yml`` (an Api importing ``external Store.port``, a Web under it importing
    ``Api.*``). Returns both paths."""
    folder = os.path.abspath(folder)
    log, hold_dir = os.path.join(folder, "ops.log"), os.path.join(folder, "hold")
    os.makedirs(hold_dir, exist_ok=True)
    for component, prefixes in {"Db": "", "Api": "Store", "Web": "Api"}.items():
        scripts = os.path.join(folder, "components", component, "scripts")
        os.makedirs(scripts, exist_ok=True)
        for op in OPERATIONS:
            path = os.path.join(scripts, "%s.sh" % op)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(SCRIPT % {"log": log, "hold": hold_dir, "op": op, "imports": prefixes})
            os.chmod(path, 0o755)
    store = {"application": "store", "exports_prefix": "Store", "external_exports": {"Db.port": "port"},
             "components": {"Host": {"installer": "noop", "children": ["Db"]},
                            "Db": {"installer": "script", "recipes": "components/Db",
                                   "exports": {"port": {"random": "port"}}}},
             "instances": [{"name": "db-host", "component": "Host", "count": dbs,
                            "children": [{"name": "db", "component": "Db"}]}]}
    front = {"application": "front",
             "components": {"Host": {"installer": "noop", "children": ["Api"]},
                            "Api": {"installer": "script", "recipes": "components/Api",
                                    "imports": ["external Store.port"], "exports": {"port": {"random": "port"}},
                                    "children": ["Web"]},
                            "Web": {"installer": "script", "recipes": "components/Web", "imports": ["Api.*"]}},
             "instances": [{"name": "api-host", "component": "Host", "children": [
                 {"name": "api", "component": "Api", "children": [{"name": "web", "component": "Web"}]}]}]}
    paths = []
    for name, doc in (("store", store), ("front", front)):
        path = os.path.join(folder, "%s.app.yml" % name)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(doc, handle)
        paths.append(path)
    return tuple(paths)


def hold(folder: str, path: str, operation: str) -> str:
    """Keep ``operation`` of the instance at ``path`` running once it begins; returns the hold file."""
    clean = re.sub(r"[^A-Za-z0-9]", "_", "_".join(p for p in path.split("/") if p))
    marker = os.path.join(folder, "hold", "%s.%s" % (clean, operation))
    open(marker, "w").close()
    return marker


def operations(folder: str) -> list:
    """``[{path, operation, pid, begin, end, imports}]`` from the log; ``end`` None if it never ended."""
    try:
        with open(os.path.join(folder, "ops.log"), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return []
    running: dict = {}
    done = []
    for line in lines:
        kind, path_and_rest = line.split(" ", 1)
        match = re.match(r"^(/.*) (\w+) (\d+) ([\d.]+)((?: \w+=[\d,]*)*)$", path_and_rest)
        path, op, pid, when, seen = match.groups()
        key = (path, op, pid)
        if kind == "begin":
            running[key] = {"path": path, "operation": op, "pid": int(pid), "begin": float(when), "end": None,
                            "imports": None}
            done.append(running[key])
        else:
            entry = running.pop(key)
            entry["end"] = float(when)
            entry["imports"] = dict(part.split("=") for part in seen.split()) if seen else {}
    return done


def overlapping(ops: list) -> list:
    """Pairs of operations on one instance whose runs overlap in time (never allowed)."""
    found = []
    by_path: dict = {}
    for op in ops:
        by_path.setdefault(op["path"], []).append(op)
    for runs in by_path.values():
        runs.sort(key=lambda o: o["begin"])
        for first, second in zip(runs, runs[1:]):
            if first["end"] is None or first["end"] > second["begin"]:
                found.append((first, second))
    return found


def counts(ops: list) -> Counter:
    return Counter((o["path"], o["operation"]) for o in ops)


def descendants(pid: int) -> list:
    """Every process below ``pid`` (from /proc), children before grandchildren."""
    children: dict = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, queue = [], list(children.get(pid, ()))
    while queue:
        current = queue.pop(0)
        out.append(current)
        queue.extend(children.get(current, ()))
    return out


def _is_server(pid: int) -> bool:
    """A local server's agent: a machine of its own, though the controller started it."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return b"local_agent" in handle.read()
    except OSError:
        return False


def kill_everything(proc) -> None:
    """SIGKILL a converge process and every process it started (its recipes run in sessions of
    their own, so a process-group kill would miss them) but the local servers' agents, which stand
    for machines of their own: the controller died, its servers did not."""
    import signal

    for pid in [proc.pid] + [p for p in descendants(proc.pid) if not _is_server(p)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
