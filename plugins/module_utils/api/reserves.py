# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ``reserve``, ``reserve_claim`` and ``reserve_info`` modules call: set or remove a
reserve (and run a pass over it), claim or release a clone, look at reserves; as task output."""

from __future__ import annotations

from ..reserves.service import ReserveService
from ..reserves.settings import SETTING_KEYS
from ..store.store import Store


def reserve_task(store_dsn: str, params: dict, check_mode: bool = False, **service_options) -> dict:
    """``appgraph.lifecycle.reserve``: ``state: present`` sets the reserve (settings, template) and
    runs one pass over it; ``absent`` removes it. ``params`` are the module's options."""
    service = ReserveService(store_dsn, build_timeout=params.get("timeout"), **service_options)
    if (params.get("state") or "present") == "absent":
        return service.absent(params["name"], check_mode=check_mode)
    return service.ensure(params["name"], {key: params.get(key) for key in SETTING_KEYS},
                          provider=params.get("provider"), provider_options=params.get("provider_options"),
                          src=params.get("src"), check_mode=check_mode)


def claim_task(store: Store, params: dict, check_mode: bool = False, **service_options) -> dict:
    """``appgraph.lifecycle.reserve_claim``: claim (``present``) or release (``absent``) the clone
    of ``params["reserve"]`` named ``params["name"]``, on the module's open store."""
    service = ReserveService(store.dsn, build_timeout=params.get("timeout"), **service_options)
    service = service.with_credentials(params["reserve"], params.get("provider_options"), store)
    if (params.get("state") or "present") == "absent":
        result = service.release(params["reserve"], params["name"], check_mode=check_mode)
        released = result["released"]
        result["diff"] = {"before": {"alias": params["name"], "clone": released and released["name"]} if released
                          else {}, "after": {}}
        return result
    result = service.claim(params["reserve"], params["name"], fallback=params.get("fallback", True),
                           check_mode=check_mode, store=store)
    server = result["server"]
    result["diff"] = {"before": {} if result["changed"] else {"alias": server["alias"], "clone": server["name"]},
                      "after": {"alias": server["alias"], "clone": server["name"], "state": server["state"]}}
    return result


def reserve_status(store_dsn: str, name: str | None = None) -> dict:
    """``appgraph.lifecycle.reserve_info``: one reserve or every one; changes nothing."""
    return dict(ReserveService(store_dsn).status(name), changed=False)
