# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The states of a provision and the moves between them: pure, no I/O, no clock.

::

    created -> provisioning -> provisioned -> deprovisioning -> deprovisioned
                    |                               |
            provisioning_error              deprovisioning_error

A service asks ``start(state, service)`` which state to write before its first slow step (or why
not); ``finish`` and ``fail`` say where it ends. A sub-provisioner's part has states of its own:
``making`` (written before its step: it may exist in part), ``made``, and, once undone, ``undone``,
``removed`` or ``kept`` (a database a deprovision was told to keep); ``undo_failed`` says what a
rollback could not undo.
"""

from __future__ import annotations

CREATED, PROVISIONING, PROVISIONED = "created", "provisioning", "provisioned"
DEPROVISIONING, DEPROVISIONED = "deprovisioning", "deprovisioned"
PROVISIONING_ERROR, DEPROVISIONING_ERROR = "provisioning_error", "deprovisioning_error"
STATES = (CREATED, PROVISIONING, PROVISIONED, DEPROVISIONING, DEPROVISIONED, PROVISIONING_ERROR,
          DEPROVISIONING_ERROR)
TRANSITIVE = (PROVISIONING, DEPROVISIONING)

MAKING, MADE, UNDONE, REMOVED, KEPT, UNDO_FAILED = "making", "made", "undone", "removed", "kept", "undo_failed"
EXISTS = (MAKING, MADE, UNDO_FAILED)        # a part that may exist, in part or whole

PROVISION, DEPROVISION, EXPORT, IMPORT = "provision", "deprovision", "export", "import"
EXPORT_RECORD = "export"        # among a row's parts: the files a running export makes (leftovers.py)

# (state, service) -> the state written before the service's first slow step. A service that needs
# leftovers cleaned up first (a failed provision's parts) does that as part of its run.
_START = {
    (None, PROVISION): PROVISIONING, (CREATED, PROVISION): PROVISIONING,
    (DEPROVISIONED, PROVISION): PROVISIONING, (PROVISIONING_ERROR, PROVISION): PROVISIONING,
    (None, IMPORT): PROVISIONING, (CREATED, IMPORT): PROVISIONING,
    (DEPROVISIONED, IMPORT): PROVISIONING, (PROVISIONING_ERROR, IMPORT): PROVISIONING,
    (PROVISIONED, DEPROVISION): DEPROVISIONING, (PROVISIONING_ERROR, DEPROVISION): DEPROVISIONING,
    (DEPROVISIONING_ERROR, DEPROVISION): DEPROVISIONING, (CREATED, DEPROVISION): DEPROVISIONING,
    (PROVISIONED, EXPORT): PROVISIONED,
}
_DONE = {PROVISION: PROVISIONED, IMPORT: PROVISIONED, DEPROVISION: DEPROVISIONED, EXPORT: PROVISIONED}
_FAILED = {PROVISION: PROVISIONING_ERROR, IMPORT: PROVISIONING_ERROR, DEPROVISION: DEPROVISIONING_ERROR,
           EXPORT: PROVISIONED}


class Refused(Exception):
    """The service cannot run from this state (the message says why and what to do)."""


def already_done(state: str | None, service: str) -> bool:
    """Whether the service has nothing to do (idempotent by instance id)."""
    return (service in (PROVISION, IMPORT) and state == PROVISIONED) or \
        (service == DEPROVISION and state in (None, DEPROVISIONED))


def start(state: str | None, service: str) -> str:
    """The state to write before the service's first slow step; ``Refused`` when it cannot start."""
    if state in TRANSITIVE:
        raise Refused("it is %s: another run is at it, or one that died left it (the next call or "
                      "reconcile finishes it)" % state)
    target = _START.get((state, service))
    if target is None:
        raise Refused("cannot %s an instance that is %s" % (service, state or "not provisioned")
                      + ("; provision it first" if service == EXPORT else ""))
    return target


def finish(service: str) -> str:
    return _DONE[service]


def fail(service: str) -> str:
    return _FAILED[service]


def interrupted(state: str) -> str:
    """What a run that died in ``state`` is turned into by the next call or reconcile: a provision
    is rolled back (its parts undone, in reverse order), a deprovision is finished."""
    return {PROVISIONING: PROVISION, DEPROVISIONING: DEPROVISION}[state]


def to_undo(parts: dict, order) -> list:
    """The roles whose parts may exist, in reverse order of ``order`` (a rollback's or a
    deprovision's order: the database before the storage before the instance)."""
    return [role for role in reversed(list(order)) if (parts.get(role) or {}).get("status") in EXISTS]
