# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ``provision`` and ``provision_info`` modules call (and the playbooks that mirror DFE's
``dfe:provision``, ``dfe:deprovision``, ``dfe:export`` and ``dfe:import``): one service, as task output."""

from __future__ import annotations

from ..errors import InputError
from ..provisioning.config import load_config
from ..provisioning.manager import ProvisionManager

SERVICES = {"provisioned": "provision", "deprovisioned": "deprovision", "exported": "export", "imported": "import"}


def provision_task(store_dsn: str, params: dict, check_mode: bool = False, **manager_options) -> dict:
    """``appgraph.lifecycle.provision``: ``state`` names the service (provisioned, deprovisioned,
    exported, imported); ``params`` are the module's options."""
    state = params.get("state") or "provisioned"
    if state not in SERVICES:
        raise InputError("unknown state %r" % state, key="state", hint=", ".join(SERVICES))
    config = load_config(params["provisioners"]) if params.get("provisioners") else None
    manager = ProvisionManager(store_dsn, config, timeout=params.get("timeout"), **manager_options)
    if state == "provisioned":
        _need(params, "owner", "instance_id")
        result = manager.provision(params["owner"], params["instance_id"], params.get("guest_location"),
                                   params.get("offerings"), params.get("provisioner"), check_mode=check_mode)
    elif state == "deprovisioned":
        _need(params, "instance_id")
        result = manager.deprovision(params["instance_id"], bool(params.get("keep_database")), check_mode=check_mode)
    elif state == "exported":
        _need(params, "instance_id")
        result = manager.export(params["instance_id"], params.get("destination"), check_mode=check_mode)
    else:
        _need(params, "owner", "instance_id", "snapshot")
        result = manager.import_snapshot(params["owner"], params["instance_id"], params["snapshot"],
                                         params.get("guest_location"), params.get("provisioner"),
                                         check_mode=check_mode)
    return _with_diff(result, SERVICES[state])


def _need(params: dict, *keys) -> None:
    for key in keys:
        if not params.get(key):
            raise InputError("is required for this state", key=key)


def _with_diff(result: dict, service: str) -> dict:
    provision = result.get("provision") or {}
    before = {} if result.get("changed") else {"state": provision.get("state")}
    after = {"state": provision.get("would_be") or provision.get("state"), "service": service}
    return dict(result, service=service, diff={"before": before, "after": after})


def provision_status(store_dsn: str, instance_id: str | None = None) -> dict:
    """``appgraph.lifecycle.provision_info``: one provision or every one, and their snapshots."""
    return ProvisionManager(store_dsn).status(instance_id)


def reconcile_provisions(store_dsn: str, clock, check_mode: bool = False) -> dict:
    """For ``reconcile``: provisions whose run died rolled back or finished; snapshots pruned."""
    return ProvisionManager(store_dsn, clock=clock).reconcile(check_mode)


def provision_failure(result: dict) -> str | None:
    """A provision task fails when its service failed (the store says what exists: what a
    rollback could not undo is in ``not_undone``)."""
    return result.get("error")
