# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the provisioning services answer, made from a provision row (pure): the row as a task
returns it, a service's result, check mode's plan, and the text of what a rollback left."""

from __future__ import annotations

from . import states
from .base import Request
from .schema import ROLES


def undone_text(not_undone: list) -> str:
    if not not_undone:
        return ""
    return "; could not undo: " + "; ".join("%s %s: %s" % (n["role"], n["name"], n["error"]) for n in not_undone)


def summary_parts(parts: dict, subs: dict) -> dict:
    return {role: subs[role].describe(parts[role]) if role in subs else parts[role]
            for role in ROLES if role in parts}


def row_view(row) -> dict | None:
    if row is None:
        return None
    view = {"instance_id": row.instance_id, "owner": row.owner, "provisioner": row.provisioner,
            "guest_location": row.guest_location, "offerings": row.offerings, "operation": row.operation,
            "state": row.state, "resource_uri": row.resource_uri, "error": row.error,
            "parts": {role: row.parts[role] for role in ROLES if role in row.parts},
            "updated_at": row.updated_at}
    if states.EXPORT_RECORD in row.parts:       # an export running, or the files a dead one left
        view["export"] = row.parts[states.EXPORT_RECORD]
    return view


def service_result(row, subs: dict, events: list) -> dict:
    view = row_view(row)
    view["parts"] = summary_parts(row.parts, subs)
    return {"provision": view, "events": list(events)}


def plan_or_same(row, request: Request, subs: dict, service: str, check_mode: bool) -> dict:
    """Check mode's plan, or the unchanged answer of a service with nothing to do."""
    if row is not None and states.already_done(row.state, service):
        return {"changed": False, "check_mode": check_mode, "provision": row_view(row), "events": [], "plan": []}
    plan = ["%s: %s %s" % (role, sub.name, intent_text(sub, request)) for role, sub in
            ((r, subs[r]) for r in ROLES if r in subs)]
    view = row_view(row) or {"instance_id": request.instance_id, "owner": request.owner,
                             "provisioner": request.provisioner, "state": None}
    return {"changed": True, "check_mode": check_mode, "provision": dict(view, would_be=states.PROVISIONED),
            "plan": plan, "events": []}


def intent_text(sub, request: Request) -> str:
    try:
        return str(sub.intent(request, {"instance": {"home": "<server home>"}}))
    except Exception:  # pylint: disable=broad-exception-caught
        return "(decided once the earlier parts exist)"
