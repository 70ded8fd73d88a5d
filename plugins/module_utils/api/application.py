# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ``application`` module calls: add, update, remove and converge an application.

Like every ``api`` function: nothing opened here (the caller passes a Store), only AppGraphError
subclasses raised, and a dict returned ready for ``exit_json`` (``changed``, ``diff`` and the
documented return values).
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING

from .. import lifecycle as lc
from ..errors import InputError, PermanentError
from ..model.sources import source_digest
from ..model.states import NOT_DEPLOYED, InstanceState
from ..names import APPLICATION_NAME_PATTERN
from ..runtime.stored import document_digest, stored_application
from ..store.store import Store

# The loader (PyYAML, the schema, the builder) and the converge machinery (executor, installers,
# providers) are imported by the functions that need them: a converge of an unchanged application
# needs neither, and under Ansible every module imported is compiled anew on every run (40-70 ms).
if TYPE_CHECKING:  # pragma: no cover
    from ..installers.registry import InstallerRegistry
    from ..limits import Limits
    from ..model.application import Application
    from ..runtime.converge import ConvergeResult

STATE_TO_ACTION = {"deployed": "deploy_all", "started": "start_all", "stopped": "stop_all",
                   "undeployed": "undeploy_all"}
_APPLICATION_NAME = re.compile(APPLICATION_NAME_PATTERN)


def _unchanged_source(store: Store, source: str, raw: str | None, name: str | None) -> str | None:
    """The name of the application stored from ``source`` when its bytes are still ``raw``
    (without ``name``: the application the file names, not another one made from it)."""
    if raw is None:
        return None
    if name is None:
        return store.application_named_by(source, raw)
    record = store.application(name)
    return name if record is not None and (record.source, record.source_digest) == (source, raw) else None


def check_application_name(name: str | None) -> None:
    if name is not None and not _APPLICATION_NAME.match(name):
        raise InputError("invalid application name %r" % name[:100], key="name",
                         hint="letters, digits, spaces, '.', '_', '-', '(' and ')', starting with a letter, "
                              "a digit or '_'")


def add_application(store: Store, src: str, name: str | None = None, check_mode: bool = False,
                    limits: Limits | None = None) -> dict:
    """Add or update the application ``name`` from the template ``src`` (without ``name``: the
    application the file names); instances new to the model start not deployed. Several
    applications may be made from one template, each with its own instances, states and
    servers; an application stays with the template it was made from.

    A source whose bytes did not change since it was added is not read again. ``warnings``: what
    Roboconf would warn about the file (read only when it changed)."""
    check_application_name(name)
    source, raw = os.path.abspath(src), source_digest(src)
    known = _unchanged_source(store, source, raw, name)
    if known is not None:
        return {"changed": False, "application": known, "added": [], "removed": [], "warnings": []}
    from ..model.loader import load_application  # pylint: disable=import-outside-toplevel
    app = load_application(src, limits=limits, name=name)
    warnings = [str(w) for w in app.warnings]
    from ..servers.secrets import public_document  # pylint: disable=import-outside-toplevel
    stored = public_document(app.document)          # secrets never reach the store, nor its digest
    record = store.application(app.name)
    if record is not None and record.template != app.template:
        raise InputError("the application %r was made from the template %r, not %r" % (app.name, record.template,
                                                                                       app.template),
                         key="src", hint="give its own template, or another name to make a new application "
                                         "(or remove %r first: state=absent)" % app.name)
    digest = document_digest(stored)
    if record is not None and record.digest == digest and record.source == source:
        if not check_mode and raw is not None:      # other bytes, same application (a comment, spacing)
            with store.transaction(app.name) as tx:
                tx.set_source_digest(app.name, raw)
        return {"changed": False, "application": app.name, "added": [], "removed": [], "warnings": warnings}
    rows = store.instance_rows(app.name) if record else {}
    added = [p for p in app.instances if p not in rows]
    removed = [p for p in rows if p not in app.instances]
    if not check_mode:
        with store.transaction(app.name) as tx:
            tx.put_application(app.name, stored, source, digest,
                               [(p, i.component, i.parent) for p, i in app.instances.items()], source_digest=raw,
                               template=app.template)
            tx.append_events([(None, "application_added" if record is None else "application_updated",
                               {"source": source, "template": app.template, "added": len(added),
                                "removed": len(removed)})])
    return {"changed": True, "application": app.name, "added": added, "removed": removed, "warnings": warnings,
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
                       installers: InstallerRegistry | None = None, limits: Limits | None = None,
                       bindings: dict | None = None) -> dict:
    """The ``application`` module's whole request: ``absent`` removes; with ``src`` (a template) the
    application ``name`` is added or updated first; ``bindings`` (when given) replace where its
    ``external`` imports come from; a life-cycle state then converges it (or the subtree at
    ``instance_path``), and the applications importing from it react. In check mode a new or
    changed application is planned against the file, as nothing is stored."""
    if state == "absent":
        if not name:
            from ..model.loader import load_application  # pylint: disable=import-outside-toplevel
            name = load_application(src, limits=limits).name
        before = _stored_states(store, name)
        result = remove_application(store, name, check_mode=check_mode)
        return _application_result(result, name, before, {}, [])
    added = {"changed": False, "added": [], "removed": [], "warnings": []}
    if src:
        added = add_application(store, src, name=name, check_mode=check_mode, limits=limits)
        name = added["application"]
    elif not name or store.application(name) is None:
        raise InputError("no application %r in the store %s" % (name, store.identity), key="src",
                         hint="give src (an *.app.yml file or a Roboconf directory) to add it")
    unstored = bool(src and check_mode and added["changed"])      # the file holds what the store does not yet
    app = None
    rebound = False
    if bindings is not None:
        from . import bindings as binding  # pylint: disable=import-outside-toplevel
        bindings = binding.normalise(bindings)
        if store.bindings(name) != bindings:
            app = _model(store, name, src, limits, unstored)
            rebound = binding.set_bindings(store, name, app, bindings, check_mode=check_mode)
    if state in STATE_TO_ACTION and instance_path is None and not added["changed"] and not rebound \
            and not store.has_bindings(name):
        # Bound applications never take this path: what they import (or publish) can change
        # without a state of theirs changing, so only a converge can say there is nothing to do.
        at_rest = _at_rest(store, name, STATE_TO_ACTION[state])
        if at_rest is not None:
            return _application_result(dict(added, changed=False), name, {}, {}, at_rest)
    before = _stored_states(store, name)
    app = app or _model(store, name, src, limits, unstored)
    changed = added["changed"] or rebound
    if state == "present":
        from ..runtime.polling import instance_dict  # pylint: disable=import-outside-toplevel
        rows = store.instance_rows(name)
        instances = [instance_dict(app, path, rows[path].state if path in rows else InstanceState())
                     for path in app.instances]
        return _application_result(dict(added, changed=changed), name, before,
                                   {i["path"]: i["state"] for i in instances}, instances)
    result = converge_application(store, name, state, instance_path=instance_path, parallelism=parallelism,
                                  timeout=timeout, wait=wait, check_mode=check_mode, installers=installers, app=app,
                                  bindings=bindings if check_mode and rebound else None)
    after = {p: s for p, s in before.items() if p not in added["removed"]}
    after.update({path: NOT_DEPLOYED for path in added["added"]})
    after.update({i["path"]: i["state"] for i in result["instances"]})
    result["changed"] = result["changed"] or changed
    result.update(added=added["added"], removed=added["removed"], warnings=added["warnings"])
    return _application_result(result, name, before, after, result["instances"])


def _model(store: Store, name: str, src: str | None, limits, unstored: bool) -> Application:
    """The application's model: read from the file when the store does not hold all of it (check
    mode before it is stored, or secrets the store never keeps), else rebuilt from the store."""
    if src and (unstored or _left_out_secrets(store, name)):
        from ..model.loader import load_application  # pylint: disable=import-outside-toplevel
        return load_application(src, limits=limits, name=name)
    return stored_application(store, name)


def _at_rest(store: Store, name: str, action: str) -> list | None:
    """The instances of an application with nothing to do for ``action`` (each stable in its
    desired state, no operation announced anywhere, nothing else asked for): what the module
    returns then, read from the states alone. None: the converge must run. A lease, live or left by
    a run that died, means an operation was announced (an update keeps the state as it is), so the
    converge runs: it waits for the live one, and finishes the dead one."""
    rows = store.instance_states(name)
    if not rows or any(owner is not None for _p, _parent, _c, _s, owner, _e in rows):
        return None
    if not lc.at_rest(action, [(parent is None, current) for _p, parent, _c, current, _o, _e in rows]):
        return None
    return [{"path": path, "component": component, "state": current.state, "desired_state": current.desired}
            for path, _parent, component, current, _o, _e in rows]


def _left_out_secrets(store: Store, name: str) -> bool:
    """Whether the stored application had secret provider options left out (``public_document``)."""
    from ..servers.secrets import SECRETS_KEY  # pylint: disable=import-outside-toplevel
    record = store.application(name)
    return bool(record and record.document.get(SECRETS_KEY))


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
        "reactions": result.get("reactions", []),
        "warnings": result.get("warnings", []),
        "diff": {"before": {p: s for p, s in before.items() if after.get(p) != s},
                 "after": {p: s for p, s in after.items() if before.get(p) != s}},
    }


def converge_application(store: Store, name: str, state: str, instance_path: str | None = None,
                         parallelism: int = 10, timeout: float | None = None, wait: bool = True,
                         check_mode: bool = False, installers: InstallerRegistry | None = None,
                         poll_interval: float = 1.0, sleep=time.sleep, clock=time.monotonic,
                         app: Application | None = None, bindings: dict | None = None) -> dict:
    """Bring the application (or the subtree at ``instance_path``) to ``state``. ``app`` (check mode
    only) plans against a model that is not stored yet, ``bindings`` with bindings not stored yet."""
    from ..runtime.polling import busy_elsewhere, converge_request  # pylint: disable=import-outside-toplevel
    if state not in STATE_TO_ACTION:
        raise InputError("unknown state %r" % state, key="state", hint="one of %s" % ", ".join(STATE_TO_ACTION))
    app = app or stored_application(store, name)
    app.require(instance_path, "instance_path")
    scope = app.subtree(instance_path)

    def waiting(result: ConvergeResult) -> bool:
        return busy_elsewhere(result, scope)     # another process is working on part of it

    return converge_request(store, app, STATE_TO_ACTION[state], instance_path, scope, parallelism, timeout,
                            waiting if wait else None, check_mode, installers, poll_interval, sleep, clock,
                            bindings=bindings)


def require_removable(store: Store, name: str) -> None:
    app = stored_application(store, name)
    rows = store.instance_rows(name)
    try:
        lc.check_removable(lc.Snapshot(app, {p: r.state for p, r in rows.items()}))
    except PermanentError as exc:
        raise PermanentError("%s; run state=undeployed first" % exc) from None
