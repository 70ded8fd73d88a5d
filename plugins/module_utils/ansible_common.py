# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible glue that every appgraph module shares (the only module_utils file that imports ansible).

- ``common_argument_spec()`` and ``run_argument_spec()``: the options every module takes
  (``store``; doc fragment ``appgraph.lifecycle.store``) and those of modules that run work
  (``parallelism``, ``wait``, ``timeout``; doc fragment ``appgraph.lifecycle.run``).
- ``AppGraphModule``: an ``AnsibleModule`` that checks the libraries the engine needs and the
  shared options, opens the store, runs one ``api`` call in a single ``try``, turns ``AppGraphError``
  into ``fail_json`` and calls ``exit_json`` once.
- Every "what counts as a failed task" policy: ``converge_failure``, ``instance_failure``,
  ``pool_failure``, ``reserve_failure``, ``reconcile_failure``. Each takes the api result and returns a message, or None
  when the task succeeded.

Nothing here decides anything about life cycles or servers: the engine does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ephemeral import ephemeral_state_warnings
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (
    AppGraphError, InputError, InputErrors, TransientError)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.lifecycle.states import WAITING
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.backends import (
    PASSWORD_VARIABLE, dsn_password, is_postgresql, load_psycopg, resolve_dsn)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

# Libraries the engine imports when it needs them (each costs 0.1 s or more to import): here they
# are only looked for, so a run that does not need them does not pay for them.
REQUIRED_LIBRARIES = ("networkx", "jsonschema")


def common_argument_spec() -> dict:
    """Options every appgraph module takes (doc fragment ``appgraph.lifecycle.store``)."""
    return dict(store=dict(type="str", no_log=False), store_password=dict(type="str", no_log=True))


def run_argument_spec(parallelism: int | None = 10, wait: bool = True, timeout: bool = True) -> dict:
    """``parallelism`` (with its default; None: not an option), ``wait`` and ``timeout``, as the
    doc fragment ``appgraph.lifecycle.run`` (and its variants) document them."""
    spec = {}
    if parallelism is not None:
        spec["parallelism"] = dict(type="int", default=parallelism)
    if wait:
        spec["wait"] = dict(type="bool", default=True)
    if timeout:
        spec["timeout"] = dict(type="float")
    return spec


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


class AppGraphModule(AnsibleModule):
    """An AnsibleModule with the common options, the library checks and one way to run the engine."""

    def __init__(self, argument_spec: dict, **kwargs):
        spec = common_argument_spec()
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        super().__init__(argument_spec=spec, **kwargs)
        self._keep_the_store_password_out()
        for library, error in missing_libraries(self.params.get("store")):
            self.fail_json(msg=missing_required_lib(library), exception=error)
        self._warn_of_ephemeral_state(spec)
        parallelism = self.params.get("parallelism")
        if parallelism is not None and parallelism < 1:
            self.fail_json(msg="parallelism must be at least 1, got %d" % parallelism, error_kind="InputError",
                           error_location={"file": None, "line": 0, "column": 0, "key": "parallelism"})

    def _keep_the_store_password_out(self) -> None:
        """A password written in the ``store`` DSN is masked in everything the task returns
        (``invocation`` included, which AWX keeps as job events); ``store_password`` reaches every
        store connection of this process through ``$APPGRAPH_STORE_PASSWORD``."""
        password = dsn_password(self.params.get("store") or os.environ.get("APPGRAPH_STORE"))
        if password:
            self.no_log_values.add(password)
        if self.params.get("store_password"):
            os.environ[PASSWORD_VARIABLE] = self.params["store_password"]

    def _warn_of_ephemeral_state(self, spec: dict) -> None:
        """Inside an execution environment, a SQLite store and local servers end with the job: say so."""
        dsn = resolve_dsn(self.params.get("store"))
        local = "provider" in spec and self.params.get("provider") in (None, "local")
        for warning in ephemeral_state_warnings(None if is_postgresql(dsn) else dsn, local, os.environ,
                                                os.path.exists):
            self.warn(warning)

    def mask_only_secrets(self, options_by_provider: dict) -> None:
        """Of ``no_log`` provider options, only the secrets stay masked in the output: Ansible
        masks every value of the option, ``options_by_provider`` maps a provider name to them."""
        # Imported here: the providers' registry (and the local provider) only matter to the modules
        # that take provider options.
        from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.secrets import (  # noqa
            public_values)  # pylint: disable=import-outside-toplevel
        for provider, options in (options_by_provider or {}).items():
            if isinstance(options, dict):
                self.no_log_values.difference_update(public_values(provider, options))

    def run(self, call, outcome=None) -> None:
        """Open the store, ``result = call(store)``, then exit (never returns).

        ``outcome(result)`` returns a failure message or None; without it, failed operations and
        time-outs of a converge fail the task. Either way the result is returned with the failure.
        With a ``timeout`` option, the process ends at most ``OVERTIME`` seconds after it, whatever
        it waits for (a provider call that hangs): the engine stops at the timeout itself; this is
        the guarantee, and what was under way is finished by the next run or ``reconcile``.
        """
        outcome = outcome or converge_failure
        timeout = self.params.get("timeout")
        try:
            with _deadline(timeout), Store(self.params.get("store")) as store:
                result = call(store)
        except _OutOfTime:
            self.fail_json(msg="the task ran past its timeout of %g s and was stopped; what was under way is "
                               "finished by the next run or appgraph.lifecycle.reconcile" % timeout,
                           timed_out=True, error_kind="TimeoutError")
        except AppGraphError as exc:
            self.fail_json(msg=str(exc), **error_details(exc))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # A bug, not bad input: say so, with the traceback for -vvv.
            self.fail_json(msg="appgraph internal error: %s: %s" % (type(exc).__name__, exc),
                           exception=traceback.format_exc())
        for warning in result.pop("warnings", None) or []:
            self.warn(warning)      # what Roboconf only warns about: Ansible shows it, the result's 'warnings' holds it
        message = outcome(result)
        if message:
            self.fail_json(**dict(result, msg=message))
        self.exit_json(**result)


OVERTIME = 5.0      # seconds a task may run past its timeout before its process is stopped


class _OutOfTime(BaseException):
    """Raised in the main thread by the timer of ``_deadline`` (a BaseException: nothing catches it
    on the way up)."""


@contextlib.contextmanager
def _deadline(timeout):
    """A timer of ``timeout + OVERTIME`` seconds for the block (none without a timeout)."""
    if not timeout or timeout <= 0:
        yield
        return

    def expired(_signum, _frame):
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, float(timeout) + OVERTIME)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- what counts as a failed task ------------------------------------------------------------------


def converge_failure(result: dict) -> str | None:
    """A converge (``application``) fails when an operation failed or its time ran out."""
    failed = result.get("failed_operations") or []
    if failed:
        lines = ["%s %s: %s" % (op.get("operation"), op.get("path"), op.get("error") or "failed") for op in failed]
        return "%d operation(s) failed:\n%s" % (len(failed), "\n".join(lines))
    if result.get("timed_out"):
        waiting = [i["path"] for i in result.get("instances", []) if i.get("state") != i.get("desired_state")]
        return "timed out before every instance reached its desired state%s" % (
            " (not there yet: %s)" % ", ".join(waiting[:10]) if waiting else "")
    return None


def instance_failure(wait_for_ancestors: bool, check_mode: bool):
    """The ``instance`` module fails on failed operations, on time-outs (saying what the instance
    still waits for), and when the instance is left waiting although the task was to wait (outside
    check mode)."""
    def outcome(result: dict) -> str | None:
        instance = result["instance"]
        if result.get("failed_operations"):
            return converge_failure(result)
        if result.get("timed_out"):
            reason = " (%s)" % result["msg"] if result.get("msg") else ""
            return "timed out: %s is %s, not %s%s" % (instance["path"], instance["state"], instance["desired_state"],
                                                      reason)
        if wait_for_ancestors and not check_mode and instance["state"] in WAITING \
                and instance["desired_state"] == "deployed_started":
            return "%s (state %s). Start what it waits for first, or set wait_for_ancestors: false to leave " \
                   "it waiting" % (result["msg"], instance["state"])
        return None
    return outcome


def pool_failure(fail_on_limit: bool = False, wait: bool = True):
    """A pool operation fails when a server's provider failed, when (with ``wait``) a server did not
    get there in time, and (with ``fail_on_limit``) when ``max_servers`` kept servers from being made."""
    def outcome(result: dict) -> str | None:
        problems = []
        if result.get("failed_servers"):
            problems.append("%d server(s) failed: %s" % (len(result["failed_servers"]), "; ".join(
                "%s: %s" % (f["name"], f["error"]) for f in result["failed_servers"][:10])))
        if wait and result.get("pending") and not result.get("check_mode"):
            problems.append("%d server(s) not done in time: %s" % (len(result["pending"]), ", ".join(
                "%s (%s)" % (p["name"], p["status"]) for p in result["pending"][:10])))
        limit = result.get("limit_hit")
        if fail_on_limit and limit:
            problems.append("max_servers %d reached at %s: %d live, %d asked, %d made" % (
                limit["limit"], limit["provider_identity"], limit["live"], limit["asked"], limit["allowed"]))
        return "; ".join(problems) or None
    return outcome


def reserve_failure(result: dict) -> str | None:
    """A ``reserve`` pass fails when a clone could not be built or deleted (the others are done;
    a clone that failed to build is deleted again, one that could not be deleted stays for the
    next pass). A clone left to another process (``pending``) is no failure."""
    failed = result.get("failed") or []
    if failed:
        return "%d clone(s) of reserve %s failed: %s" % (len(failed), result.get("reserve"), "; ".join(
            "%s: %s" % (f["name"], f["error"]) for f in failed[:10]))
    return None


def reconcile_failure(result: dict) -> str | None:
    """``reconcile`` fails when an operation it carried on failed, or a reserve's clone failed."""
    failed = ["%s: %s %s: %s" % (a["application"], op["operation"], op["path"], op.get("error", "failed"))
              for a in result["applications"] for op in a["failed"]]
    failed += ["reserve %s: clone %s: %s" % (r["reserve"], f["name"], f["error"])
               for r in result.get("reserves", []) for f in r["failed"]]
    failed += ["provision %s: %s" % (f["instance_id"], f["error"])
               for f in (result.get("provisions") or {}).get("failed", [])]
    return "%d operation(s) failed:\n%s" % (len(failed), "\n".join(failed)) if failed else None


def never_fails(_result: dict) -> None:
    """For ``*_info`` modules: the result is the answer, whatever it says."""
    return None
