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
  failed operations, the instance module's single instance.

Nothing here decides anything about life cycles: the engine does.
"""

from __future__ import annotations

import importlib.util
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.appgraph.lifecycle.plugins.module_utils import engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (
    AppGraphError, InputError, InputErrors, TransientError)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import Store
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store_backends import (
    is_postgresql, load_psycopg, resolve_dsn)

# Libraries the engine imports when it needs them (each costs 0.1 s or more to import): here they
# are only looked for, so a run that does not need them does not pay for them.
REQUIRED_LIBRARIES = ("networkx", "jsonschema")

# Instance states in which a started instance waits for something else.
WAITING_STATES = ("waiting_for_ancestor", "unresolved")


def common_argument_spec() -> dict:
    """Options every appgraph module takes (doc fragment ``appgraph.lifecycle.store``)."""
    return dict(store=dict(type="str", no_log=False))


def missing_libraries(store: str | None) -> list:
    """``[(library, import traceback)]`` for each library the engine needs and cannot import."""
    missing = [(library, "No module named %r" % library) for library in REQUIRED_LIBRARIES
               if importlib.util.find_spec(library) is None]
    if is_postgresql(resolve_dsn(store)):
        error = load_psycopg()[1]
        if error:
            missing.append(("psycopg", error))
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
    """``appgraph.lifecycle.application``'s parameters -> ``engine.ensure_application``."""
    return engine.ensure_application(
        store, name=params.get("name"), src=params.get("src"), state=params.get("state"),
        instance_path=params.get("instance_path"), parallelism=params["parallelism"],
        timeout=params.get("timeout"), wait=params["wait"], check_mode=check_mode)


# -- the instance module ------------------------------------------------------------------------


def converge_one_instance(store: Store, params: dict, check_mode: bool) -> dict:
    """What ``appgraph.lifecycle.instance`` asked for: ``converge_instance``, its result shaped."""
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
