# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One request run to its end: the converge, then, while its work waits on something another run
will bring (an ancestor, an import, another process's operation), polling until it is done or the
time is up; then the applications that import from it react (``runtime.bound``). Returns what the
application and instance modules report."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..errors import PermanentError
from ..installers.registry import InstallerRegistry
from ..model.application import Application
from ..store.store import Store
from .bound import react
from .converge import Converger, ConvergeResult


def converge_request(store: Store, app: Application, action: str, path: str | None, scope: list, parallelism: int,
                     timeout: float | None, waiting, check_mode: bool, installers: InstallerRegistry | None,
                     poll_interval: float, sleep, clock, bindings: dict | None = None) -> dict:
    """Run ``action``; then, while ``waiting(result)`` says the work is not done and time is left,
    poll: each poll is a new run that catches up with the store and carries on what waits.
    ``waiting`` None: return after the first run. Then the applications importing from this one
    converge (``reactions``). ``bindings`` (check mode): plan with these, not the stored ones."""
    converger = Converger(store, app, installers=installers, parallelism=parallelism, clock=clock,
                          bindings=bindings if check_mode else None)
    before = {p: converger.snap[p] for p in scope}
    if check_mode:
        plan = converger.plan(action, path)
        after = {p: plan.snapshot[p] for p in scope}
        operations = [_planned(op, converger) for op in plan.operations]
        _check_playbooks(converger, action, path, operations, parallelism)
        failed = [op for op in operations if op.get("error")]
        return _report(app, before, after, operations, failed, timed_out=False, scope=scope)
    _refuse_missing_installers(converger, app, action, path)
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
    report = _report(app, before, after, [op.as_dict() for op in reports], failed,
                     timed_out=result.timed_out or (waiting is not None and waiting(result)), scope=scope)
    if store.bound_by(app.name):
        report["reactions"] = react(store, app.name, installers=installers, parallelism=parallelism,
                                    timeout=_left(started, timeout, clock), clock=clock)
        report["changed"] = report["changed"] or any(r["operations"] for r in report["reactions"])
    return report


def _planned(op, converger: Converger) -> dict:
    """A planned operation; one its component's installer cannot do says so (``error``)."""
    out = {"operation": op.kind, "path": op.path, "planned": True}
    component = converger.app.component_of(op.path)
    if not converger.installers.provides(component.installer):
        out.update(ok=False, error=converger.installers.missing_message(component.installer, component.name))
    return out


def _check_playbooks(converger: Converger, action: str, path: str | None, operations: list, parallelism: int) -> None:
    """Check mode: the ``ansible`` operations the run would start with, on servers that exist,
    run their playbooks with ``--check --diff`` (one run per component and kind, as for real);
    each planned operation says how that went (``checked``, ``batch``, ``log``; ``error``)."""
    wave = [(op, ctx) for op, ctx in converger.first_wave(action, path)
            if ctx.component.installer == "ansible" and converger.server_is_up(op.path)]
    if not wave:
        return
    from ..installers.ansible_installer import AnsibleInstaller  # pylint: disable=import-outside-toplevel
    checker = AnsibleInstaller(check=True, diff=True)

    def check(item) -> tuple:
        op, ctx = item
        try:
            result = checker.run(ctx)
        except Exception as exc:  # pylint: disable=broad-except
            return (op.kind, op.path), dict(getattr(exc, "report", None) or {}, checked=False, ok=False,
                                            error="check mode: %s" % exc)
        return (op.kind, op.path), dict(getattr(result, "report", None) or {}, checked=True)

    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(wave)))) as pool:
        found = dict(pool.map(check, wave))
    for entry in operations:
        entry.update(found.pop((entry["operation"], entry["path"]), {}))


def _refuse_missing_installers(converger: Converger, app: Application, action: str, path: str | None) -> None:
    """A run that would need an installer nobody provides makes nothing: it is refused before its
    first step (the plan says which operations; an application naming such an installer still
    loads, plans and draws)."""
    registry = converger.installers
    lacking = {c.name for c in app.components.values() if not registry.provides(c.installer)}
    if not lacking or action is None:
        return
    needed = [op for op in converger.plan(action, path).operations if app.instances[op.path].component in lacking]
    if needed:
        component = app.component_of(needed[0].path)
        raise PermanentError("%s: nothing was done; %d operation(s) would need it, the first: %s %s"
                             % (registry.missing_message(component.installer, component.name), len(needed),
                                needed[0].kind, needed[0].path))


def busy_elsewhere(result: ConvergeResult, scope) -> bool:
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
        "instances": [instance_dict(app, p, after[p]) for p in scope],
        "operations": operations,
        "failed_operations": failed,
        "timed_out": timed_out,
        "diff": {"before": {p: before[p].state for p in changed_paths},
                 "after": {p: after[p].state for p in changed_paths}},
    }


def instance_dict(app: Application, path: str, state) -> dict:
    return {"path": path, "component": app.instances[path].component, "state": state.state,
            "desired_state": state.desired}
