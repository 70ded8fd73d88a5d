# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Ansible modules call: one function per module, plain data in and out.

Each function opens nothing itself (the caller passes a Store), raises only AppGraphError
subclasses, and returns a dict ready for ``exit_json`` (``changed``, ``diff`` and the documented
return values).
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from . import lifecycle as lc
from .app_loader import application_from_document, load_application
from .components import suggest
from .converge import Converger, ConvergeResult
from .errors import InputError, PermanentError
from .graph import application_graph, topological_order
from .heartbeats import check_heartbeats
from .installers.registry import InstallerRegistry
from .model import Application
from .states import NOT_DEPLOYED, InstanceState
from .store import Store

STATE_TO_ACTION = {"deployed": "deploy_all", "started": "start_all", "stopped": "stop_all",
                   "undeployed": "undeploy_all"}
DEFAULT_WAIT_TIMEOUT = 3600.0   # waiting for ancestors with no timeout given: an hour, not forever
INSTANCE_STATE_TO_ACTION = {"deployed": "deploy", "started": "start", "stopped": "stop", "undeployed": "undeploy"}


def _digest(document: dict) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def _base_dir(source: str | None) -> str | None:
    if not source:
        return None
    return source if os.path.isdir(source) else os.path.dirname(os.path.abspath(source))


def stored_application(store: Store, name: str) -> Application:
    """The application as last added, rebuilt from the store (no file needed)."""
    record = store.application(name)
    if record is None:
        raise InputError("no application %r in the store %s" % (name, store.identity), key="name",
                         hint="add it first with state=present and src=<file>")
    return application_from_document(record.document, lambda _path: None, source=record.source,
                                     base_dir=_base_dir(record.source), validate=False)


def add_application(store: Store, src: str, name: str | None = None, check_mode: bool = False) -> dict:
    """Add or update an application from ``src``; instances new to the model start not deployed."""
    app = load_application(src)
    if name and name != app.name:
        raise InputError("the file names the application %r, not %r" % (app.name, name), key="name",
                         hint="make 'name' match the file's 'application' key, or leave 'name' out")
    source = os.path.abspath(src)
    record = store.application(app.name)
    digest = _digest(app.document)
    if record is not None and record.digest == digest and record.source == source:
        return {"changed": False, "application": app.name, "added": [], "removed": []}
    rows = store.instance_rows(app.name) if record else {}
    added = [p for p in app.instances if p not in rows]
    removed = [p for p in rows if p not in app.instances]
    if not check_mode:
        with store.transaction(app.name) as tx:
            tx.put_application(app.name, app.document, source, digest,
                               [(p, i.component, i.parent) for p, i in app.instances.items()])
            tx.append_events([(None, "application_added" if record is None else "application_updated",
                               {"source": source, "added": len(added), "removed": len(removed)})])
    return {"changed": True, "application": app.name, "added": added, "removed": removed,
            "diff": {"before": {"instances": sorted(rows)}, "after": {"instances": list(app.instances)}}}


def remove_application(store: Store, name: str, check_mode: bool = False) -> dict:
    """Remove an application; refused while any of its roots is deployed (Roboconf)."""
    if store.application(name) is None:
        return {"changed": False, "application": name}
    require_removable(store, name)
    rows = store.instance_rows(name)
    if not check_mode:
        with store.transaction(name) as tx:
            tx.delete_application(name)
            tx.append_events([(None, "application_removed", {})])
    return {"changed": True, "application": name, "diff": {"before": {"instances": sorted(rows)}, "after": {}}}


def ensure_application(store: Store, name: str | None = None, src: str | None = None, state: str = "present",
                       instance_path: str | None = None, parallelism: int = 10, timeout: float | None = None,
                       wait: bool = True, check_mode: bool = False,
                       installers: InstallerRegistry | None = None) -> dict:
    """The ``application`` module's whole request: ``absent`` removes; with ``src`` the application is
    added or updated first; a life-cycle state then converges it (or the subtree at ``instance_path``).
    In check mode a new or changed application is planned against the file, as nothing is stored."""
    if state == "absent":
        name = name or load_application(src).name
        before = _stored_states(store, name)
        result = remove_application(store, name, check_mode=check_mode)
        return _application_result(result, name, before, {}, [])
    added = {"changed": False, "added": [], "removed": []}
    if src:
        added = add_application(store, src, name=name, check_mode=check_mode)
        name = added["application"]
    elif not name or store.application(name) is None:
        raise InputError("no application %r in the store %s" % (name, store.identity), key="src",
                         hint="give src (an *.app.yml file or a Roboconf directory) to add it")
    before = _stored_states(store, name)
    app = load_application(src) if check_mode and added["changed"] else stored_application(store, name)
    if state == "present":
        rows = store.instance_rows(name)
        instances = [_instance_dict(app, path, rows[path].state if path in rows else InstanceState())
                     for path in app.instances]
        return _application_result(added, name, before, {i["path"]: i["state"] for i in instances}, instances)
    result = converge_application(store, name, state, instance_path=instance_path, parallelism=parallelism,
                                  timeout=timeout, wait=wait, check_mode=check_mode, installers=installers, app=app)
    after = {p: s for p, s in before.items() if p not in added["removed"]}
    after.update({path: NOT_DEPLOYED for path in added["added"]})
    after.update({i["path"]: i["state"] for i in result["instances"]})
    result["changed"] = result["changed"] or added["changed"]
    result.update(added=added["added"], removed=added["removed"])
    return _application_result(result, name, before, after, result["instances"])


def _stored_states(store: Store, name: str) -> dict:
    return {path: row.state.state for path, row in store.instance_rows(name).items()}


def _application_result(result: dict, name: str, before: dict, after: dict, instances: list) -> dict:
    """The application module's return values; the diff lists the instances whose state moved."""
    return {
        "changed": bool(result.get("changed")),
        "application": name,
        "instances": instances,
        "operations": result.get("operations", []),
        "failed_operations": result.get("failed_operations", []),
        "timed_out": bool(result.get("timed_out")),
        "added": result.get("added", []),
        "removed": result.get("removed", []),
        "diff": {"before": {p: s for p, s in before.items() if after.get(p) != s},
                 "after": {p: s for p, s in after.items() if before.get(p) != s}},
    }


def require_instance(app: Application, path: str | None, key: str) -> None:
    """InputError naming the closest path when ``path`` is not an instance of ``app``."""
    if path is not None and path not in app.instances:
        raise InputError("no instance %r in application %r" % (path, app.name), key=key,
                         hint=suggest(path, app.instances))


def converge_application(store: Store, name: str, state: str, instance_path: str | None = None,
                         parallelism: int = 10, timeout: float | None = None, wait: bool = True,
                         check_mode: bool = False, installers: InstallerRegistry | None = None,
                         poll_interval: float = 1.0, sleep=time.sleep, clock=time.monotonic,
                         app: Application | None = None) -> dict:
    """Bring the application (or the subtree at ``instance_path``) to ``state``. ``app`` (check mode
    only) plans against a model that is not stored yet."""
    if state not in STATE_TO_ACTION:
        raise InputError("unknown state %r" % state, key="state", hint="one of %s" % ", ".join(STATE_TO_ACTION))
    app = app or stored_application(store, name)
    require_instance(app, instance_path, "instance_path")
    scope = app.subtree(instance_path)

    def waiting(result: ConvergeResult) -> bool:
        return _busy_elsewhere(result, scope)     # another process is working on part of it

    return _converge(store, app, STATE_TO_ACTION[state], instance_path, parallelism, timeout,
                     waiting if wait else None, check_mode, installers, poll_interval, sleep, clock, scope=scope)


def converge_instance(store: Store, name: str, path: str, state: str, wait_for_ancestors: bool = True,
                      timeout: float | None = None, check_mode: bool = False,
                      installers: InstallerRegistry | None = None, poll_interval: float = 1.0,
                      sleep=time.sleep, clock=time.monotonic) -> dict:
    """One instance, Roboconf's single-instance semantics (``start`` may wait for its ancestors)."""
    if state not in INSTANCE_STATE_TO_ACTION:
        raise InputError("unknown state %r" % state, key="state",
                         hint="one of %s" % ", ".join(INSTANCE_STATE_TO_ACTION))
    app = stored_application(store, name)
    require_instance(app, path, "path")
    if wait_for_ancestors and timeout is None:
        timeout = DEFAULT_WAIT_TIMEOUT

    def waiting(result: ConvergeResult) -> bool:
        # Not there yet and nothing failed: it waits for ancestors (to be deployed or started) or
        # for imports, which another run or a later request will bring.
        current = result.after[path]
        failed = any(op.path == path and not op.ok for op in result.operations)
        return (current.state != current.desired and not failed) or _busy_elsewhere(result, [path])

    return _converge(store, app, INSTANCE_STATE_TO_ACTION[state], path, 10, timeout,
                     waiting if wait_for_ancestors else None, check_mode, installers, poll_interval, sleep, clock,
                     scope=[path])


def _converge(store, app, action, path, parallelism, timeout, waiting, check_mode, installers, poll_interval,
              sleep, clock, scope) -> dict:
    """Run ``action``; then, while ``waiting(result)`` says the work is not done and time is left,
    poll: each poll is a new run that catches up with the store and carries on what waits."""
    converger = Converger(store, app, installers=installers, parallelism=parallelism, clock=clock)
    before = {p: converger.snap[p] for p in scope}
    if check_mode:
        plan = converger.plan(action, path)
        after = {p: plan.snapshot[p] for p in scope}
        operations = [{"operation": op.kind, "path": op.path, "planned": True} for op in plan.operations]
        return _report(app, before, after, operations, [], timed_out=False, scope=scope)
    started = clock()
    result = converger.run(action, path, timeout=timeout)
    reports = list(result.operations)
    while waiting is not None and waiting(result) and not _expired(started, timeout, clock):
        sleep(poll_interval)
        converger = Converger(store, app, installers=installers, parallelism=parallelism, clock=clock)
        result = converger.run(None, None, timeout=_left(started, timeout, clock))
        reports.extend(result.operations)
    after = {p: result.after[p] for p in scope}
    failed = [op.as_dict() for op in reports if not op.ok and not op.cancelled]
    return _report(app, before, after, [op.as_dict() for op in reports], failed,
                   timed_out=result.timed_out or (waiting is not None and waiting(result)), scope=scope)


def _busy_elsewhere(result: ConvergeResult, scope) -> bool:
    busy = set(result.busy_elsewhere)
    return any(p in busy for p in scope)


def _expired(started, timeout, clock) -> bool:
    return timeout is not None and clock() - started >= timeout


def _left(started, timeout, clock):
    return None if timeout is None else max(0.0, timeout - (clock() - started))


def _report(app, before, after, operations, failed, timed_out, scope) -> dict:
    changed_paths = [p for p in scope if before[p] != after[p]]
    return {
        "changed": bool(changed_paths) or any(not op.get("planned") and op.get("ok") for op in operations),
        "application": app.name,
        "instances": [_instance_dict(app, p, after[p]) for p in scope],
        "operations": operations,
        "failed_operations": failed,
        "timed_out": timed_out,
        "diff": {"before": {p: before[p].state for p in changed_paths},
                 "after": {p: after[p].state for p in changed_paths}},
    }


def _instance_dict(app: Application, path: str, state) -> dict:
    return {"path": path, "component": app.instances[path].component, "state": state.state,
            "desired_state": state.desired}


def application_info(store: Store, name: str, heartbeats: bool = True) -> dict:
    """States, order, resolved exports and imports of one application.

    With ``heartbeats``, the servers' heartbeats are read first, so a silent root shows as
    ``problem`` (an observation recorded in the store, not a change anybody asked for)."""
    app = stored_application(store, name)
    if heartbeats:
        check_heartbeats(store, app)
    rows = store.instance_rows(name)
    snap = lc.Snapshot(app, {p: r.state for p, r in rows.items()})
    graph = application_graph(app)
    published = {p: rows[p].exports for p in rows if snap[p].state in ("deployed_started", "problem")}
    instances = []
    for path, inst in app.instances.items():
        row = rows.get(path)
        instances.append({
            "path": path, "name": inst.name, "component": inst.component, "parent": inst.parent,
            "installer": app.components[inst.component].installer,
            "state": snap[path].state, "desired_state": snap[path].desired,
            "exports": (row.exports if row and row.exports else inst.exports),
            "imports": app.imported_values(path, published),
            "runtime": row.runtime if row else {},
        })
    return {"application": name, "source": app.source, "instances": instances,
            "order": topological_order(app, graph), "graph": graph, "snapshot": snap}


def require_removable(store: Store, name: str) -> None:
    app = stored_application(store, name)
    rows = store.instance_rows(name)
    try:
        lc.check_removable(lc.Snapshot(app, {p: r.state for p, r in rows.items()}))
    except PermanentError as exc:
        raise PermanentError("%s; run state=undeployed first" % exc) from None
