# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible glue that every appgraph module shares (the only module_utils file that imports ansible).

- ``common_argument_spec()``: the ``store`` option (documented by the ``appgraph.lifecycle.store``
  doc fragment).
- ``AppGraphModule``: an ``AnsibleModule`` that checks the libraries the engine needs, opens the
  store, runs one engine call in a single ``try``, turns ``AppGraphError`` into ``fail_json`` and calls
  ``exit_json`` once.
- Small result helpers that turn an engine result into what a task reports: the failure message of
  failed operations, the application module's add/remove/converge sequence, the instance module's
  single instance.

Nothing here decides anything about life cycles: the engine does.
"""

from __future__ import annotations

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.appgraph.lifecycle.plugins.module_utils import engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.app_loader import load_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.components import suggest
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (
    AppGraphError, InputError, InputErrors, TransientError)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import Store
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store_backends import (
    PSYCOPG_IMPORT_ERROR, is_postgresql, resolve_dsn)

try:
    import networkx  # noqa: F401 pylint: disable=unused-import
except ImportError:
    NETWORKX_IMPORT_ERROR = traceback.format_exc()
else:
    NETWORKX_IMPORT_ERROR = None

try:
    import jsonschema  # noqa: F401 pylint: disable=unused-import
except ImportError:
    JSONSCHEMA_IMPORT_ERROR = traceback.format_exc()
else:
    JSONSCHEMA_IMPORT_ERROR = None

# Instance states in which a started instance waits for something else.
WAITING_STATES = ("waiting_for_ancestor", "unresolved")


def common_argument_spec() -> dict:
    """Options every appgraph module takes (doc fragment ``appgraph.lifecycle.store``)."""
    return dict(store=dict(type="str", no_log=False))


def missing_libraries(store: str | None) -> list:
    """``[(library, import traceback)]`` for each library the engine needs and cannot import."""
    missing = []
    if NETWORKX_IMPORT_ERROR:
        missing.append(("networkx", NETWORKX_IMPORT_ERROR))
    if JSONSCHEMA_IMPORT_ERROR:
        missing.append(("jsonschema", JSONSCHEMA_IMPORT_ERROR))
    if PSYCOPG_IMPORT_ERROR and is_postgresql(resolve_dsn(store)):
        missing.append(("psycopg", PSYCOPG_IMPORT_ERROR))
    return missing


def error_details(exc: AppGraphError) -> dict:
    """What a failed task returns next to ``msg`` for an engine error."""
    details = {"error_kind": type(exc).__name__}
    if isinstance(exc, InputError):
        details["error_location"] = _location(exc)
        if exc.hint:
            details["hint"] = exc.hint
        if isinstance(exc, InputErrors):
            details["errors"] = [dict(_location(e), message=e.message, hint=e.hint) for e in exc.errors]
    if isinstance(exc, TransientError) and exc.retry_after is not None:
        details["retry_after"] = exc.retry_after
    return details


def _location(exc: InputError) -> dict:
    where = exc.location
    return {"file": where.file, "line": where.line, "column": where.column, "key": exc.key}


def failed_operations_message(result: dict) -> str | None:
    """The failure message of a converge result, or None when the task succeeded."""
    failed = result.get("failed_operations") or []
    if failed:
        lines = ["%s %s: %s" % (op.get("operation"), op.get("path"), op.get("error") or "failed") for op in failed]
        return "%d operation(s) failed:\n%s" % (len(failed), "\n".join(lines))
    if result.get("timed_out"):
        waiting = [i["path"] for i in result.get("instances", []) if i.get("state") != i.get("desired_state")]
        return "timed out before every instance reached its desired state%s" % (
            " (not there yet: %s)" % ", ".join(waiting[:10]) if waiting else "")
    return None


class AppGraphModule(AnsibleModule):
    """An AnsibleModule with the common options, the library checks and one way to run the engine."""

    def __init__(self, argument_spec: dict, **kwargs):
        spec = common_argument_spec()
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        super().__init__(argument_spec=spec, **kwargs)
        for library, error in missing_libraries(self.params.get("store")):
            self.fail_json(msg=missing_required_lib(library), exception=error)

    def run(self, call, outcome=None) -> None:
        """Open the store, ``result = call(store)``, then exit (never returns).

        ``outcome(result)`` returns a failure message or None; without it, failed operations and
        time-outs of a converge fail the task. Either way the result is returned with the failure.
        """
        outcome = outcome or failed_operations_message
        try:
            with Store(self.params.get("store")) as store:
                result = call(store)
        except AppGraphError as exc:
            self.fail_json(msg=str(exc), **error_details(exc))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # A bug, not bad input: say so, with the traceback for -vvv.
            self.fail_json(msg="appgraph internal error: %s: %s" % (type(exc).__name__, exc),
                           exception=traceback.format_exc())
        message = outcome(result)
        if message:
            self.fail_json(**dict(result, msg=message))
        self.exit_json(**result)


# -- the application module ---------------------------------------------------------------------


def ensure_application(store: Store, params: dict, check_mode: bool) -> dict:
    """What ``appgraph.lifecycle.application`` asked for, as engine calls.

    ``absent`` removes; with ``src`` the application is added or updated first; a life-cycle state
    then converges the application (or the subtree at ``instance_path``).
    """
    name, src, state = params.get("name"), params.get("src"), params.get("state")
    if state == "absent":
        name = name or load_application(src).name
        before = _stored_states(store, name)
        result = engine.remove_application(store, name, check_mode=check_mode)
        return _application_result(result, name, before, {}, [])

    added = {"changed": False, "added": [], "removed": []}
    app = None
    if src:
        added = engine.add_application(store, src, name=name, check_mode=check_mode)
        name = added["application"]
    elif store.application(name) is None:
        raise InputError("no application %r in the store %s" % (name, store.identity), key="src",
                         hint="give src (an *.app.yml file or a Roboconf directory) to add it")
    before = _stored_states(store, name)
    if check_mode and added["changed"]:
        app = load_application(src)     # not stored in check mode: plan against the file
    if params.get("instance_path") is not None:
        require_instance(app or engine.stored_application(store, name), params["instance_path"], "instance_path")

    if state == "present":
        app = app or engine.stored_application(store, name)
        rows = store.instance_rows(name)
        instances = [_instance_entry(app, path, rows.get(path)) for path in app.instances]
        after = {i["path"]: i["state"] for i in instances}
        return _application_result(added, name, before, after, instances)

    if app is not None:
        # Check mode on a new or changed application: the store does not hold it, so plan against
        # the model just read, with the engine's own check-mode planner and report (nothing waits
        # in check mode: the ``waiting`` argument is None).
        result = engine._converge(  # pylint: disable=protected-access
            store, app, engine.STATE_TO_ACTION[state], params.get("instance_path"), params["parallelism"],
            params.get("timeout"), None, True, None, 1.0, time.sleep, time.monotonic,
            scope=app.subtree(params.get("instance_path")))
    else:
        result = engine.converge_application(
            store, name, state, instance_path=params.get("instance_path"), parallelism=params["parallelism"],
            timeout=params.get("timeout"), wait=params["wait"], check_mode=check_mode)
    after = dict(before)
    for path in added.get("removed", []):
        after.pop(path, None)
    after.update({path: "not_deployed" for path in added.get("added", [])})
    after.update({i["path"]: i["state"] for i in result["instances"]})
    result["changed"] = result["changed"] or added["changed"]
    result.update(added=added.get("added", []), removed=added.get("removed", []))
    return _application_result(result, name, before, after, result["instances"])


def require_instance(app, path: str, key: str) -> None:
    """InputError naming the closest path when ``path`` is not an instance of ``app``."""
    if path not in app.instances:
        raise InputError("no instance %r in application %r" % (path, app.name), key=key,
                         hint=suggest(path, app.instances))


def _stored_states(store: Store, name: str) -> dict:
    return {path: row.state.state for path, row in store.instance_rows(name).items()}


def _instance_entry(app, path: str, row) -> dict:
    state = row.state if row is not None else None
    return {"path": path, "component": app.instances[path].component,
            "state": state.state if state else "not_deployed",
            "desired_state": state.desired if state else "not_deployed"}


def _application_result(result: dict, name: str, before: dict, after: dict, instances: list) -> dict:
    out = {
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
    return out


# -- the instance module ------------------------------------------------------------------------


def converge_one_instance(store: Store, params: dict, check_mode: bool) -> dict:
    """What ``appgraph.lifecycle.instance`` asked for: ``converge_instance``, its result shaped."""
    require_instance(engine.stored_application(store, params["application"]), params["path"], "path")
    return instance_result(engine.converge_instance(
        store, params["application"], params["path"], params["state"],
        wait_for_ancestors=params["wait_for_ancestors"], timeout=params.get("timeout"), check_mode=check_mode))


def instance_result(result: dict) -> dict:
    """The instance module's return values from a ``converge_instance`` result."""
    out = {key: result[key] for key in ("changed", "application", "operations", "failed_operations",
                                        "timed_out", "diff") if key in result}
    out["instance"] = result["instances"][0]
    state = out["instance"]["state"]
    if state == "waiting_for_ancestor":
        out["msg"] = "%s waits for an ancestor to be started; it starts by itself then" % out["instance"]["path"]
    elif state == "unresolved":
        out["msg"] = "%s waits for its required imports; it starts by itself once they are present" \
            % out["instance"]["path"]
    return out


def instance_outcome(wait_for_ancestors: bool, check_mode: bool):
    """Failure rule of the instance module: failed operations, time-outs (saying what the instance
    still waits for), and an instance left waiting although the task was to wait (outside check mode)."""
    def outcome(result: dict) -> str | None:
        instance = result["instance"]
        if result.get("failed_operations"):
            return failed_operations_message(result)
        if result.get("timed_out"):
            reason = " (%s)" % result["msg"] if result.get("msg") else ""
            return "timed out: %s is %s, not %s%s" % (instance["path"], instance["state"], instance["desired_state"],
                                                      reason)
        if wait_for_ancestors and not check_mode and instance["state"] in WAITING_STATES \
                and instance["desired_state"] == "deployed_started":
            return "%s (state %s). Start what it waits for first, or set wait_for_ancestors: false to leave " \
                   "it waiting" % (result["msg"], instance["state"])
        return None
    return outcome
