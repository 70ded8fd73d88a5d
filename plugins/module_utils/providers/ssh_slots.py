# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``ssh`` provider's slots as its probe reads them: the claim a client token makes, the
``provider_id`` of an adoption, and the views parsed from the probe's lines (pure: no I/O)."""

from __future__ import annotations

import hashlib
import json

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import PermanentError, TransientError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh_client import Host


def claim_of(client_token: str) -> str:
    """The claim a slot carries for a client token: 16 hex digits of its SHA-256."""
    return hashlib.sha256(client_token.encode()).hexdigest()[:16]


def provider_id_of(host: Host, claim: str) -> str:
    return "%s:%s" % (host.name, claim)


def slot_views(slots: list, lines: list) -> dict:
    boot, views = "-", {}
    for line in lines:
        word, _space, rest = line.partition(" ")
        if word == "boot":
            boot = rest.strip() or "-"
        elif word == "slot":
            index, claim, stopped, reboot_from, info = (rest.split(" ", 4) + [""])[:5]
            try:
                data = json.loads(info) if info.strip() else {}
            except ValueError:
                data = {}
            views[slots[int(index)].name] = {"claim": claim, "stopped": stopped == "1", "reboot_from": reboot_from,
                                             "boot": boot, "info": data if isinstance(data, dict) else {}}
    for host in slots:
        views.setdefault(host.name, TransientError("no answer about slot %s from %s" % (host.name, host.label)))
    return views


def raise_unreadable(views: dict, what: str) -> None:
    failed = {name: exc for name, exc in views.items() if isinstance(exc, Exception)}
    if not failed:
        return
    cls = TransientError if any(isinstance(e, TransientError) for e in failed.values()) else PermanentError
    messages = sorted({str(exc) for exc in failed.values()})
    raise cls("cannot %s: %s" % (what, "; ".join(messages)))
