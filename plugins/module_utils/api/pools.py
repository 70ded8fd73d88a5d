# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ``server_pool`` and ``server_pool_info`` modules call: one pool operation (or its plan),
and the pools' status, as task output."""

from __future__ import annotations

from ..errors import InputError
from ..servers.pool_decision import ABSENT, DECREASE, ENSURE, INCREASE, REBOOT
from ..servers.pools import DEFAULT_CONCURRENCY, PoolService


def pool_task(store_dsn: str, params: dict, check_mode: bool = False, **service_options) -> dict:
    """What ``appgraph.lifecycle.server_pool`` asked for: one operation (or its plan), as task output.

    ``params``: ``name``, ``provider``, ``provider_options``, ``count`` | ``increase`` | ``decrease``,
    ``state`` (present, rebooted, absent), ``max_servers``, ``wait``, ``timeout``, ``parallelism``.
    """
    state = params.get("state") or "present"
    amounts = {key: params.get(key) for key in ("count", "increase", "decrease") if params.get(key) is not None}
    if len(amounts) > 1:
        raise InputError("give one of count, increase or decrease, not %s" % " and ".join(sorted(amounts)),
                         key=sorted(amounts)[1])
    if state != "present" and amounts:
        raise InputError("%s goes with state: present, not %s" % (next(iter(amounts)), state),
                         key=next(iter(amounts)))
    if state == "present" and not amounts:
        raise InputError("state: present needs count, increase or decrease", key="count",
                         hint="count: N keeps N servers; increase/decrease: N more or fewer")
    operation, amount = {"rebooted": (REBOOT, None), "absent": (ABSENT, None)}.get(state, (None, None))
    if operation is None:
        key, amount = next(iter(amounts.items()))
        operation = {"count": ENSURE, "increase": INCREASE, "decrease": DECREASE}[key]
    name, provider, options = params["name"], params.get("provider"), params.get("provider_options")
    wait, timeout = params.get("wait", True), params.get("timeout")
    service = PoolService(store_dsn, concurrency=params.get("parallelism") or DEFAULT_CONCURRENCY, **service_options)
    if check_mode:
        result = service.plan(operation, name, amount, provider, options, params.get("max_servers"), wait)
    elif operation == ENSURE:
        result = service.ensure(name, amount, provider or "local", options, max_servers=params.get("max_servers"), wait=wait,
                                timeout=timeout)
    elif operation == INCREASE:
        result = service.increase(name, amount, provider or "local", options, max_servers=params.get("max_servers"),
                                  wait=wait, timeout=timeout)
    elif operation == DECREASE:
        result = service.decrease(name, amount, provider, options, wait=wait, timeout=timeout)
    elif operation == REBOOT:
        result = service.reboot(name, provider, options, wait=wait, timeout=timeout)
    else:
        result = service.absent(name, provider, options, wait=wait, timeout=timeout)
    out = result.as_dict()
    out["diff"] = {"before": {"counts": result.counts_before}, "after": {"counts": result.counts}}
    return out


def pool_status(store_dsn: str, name: str | None = None) -> dict:
    """``server_pool_info``: the servers of one pool (or of all), their counts; changes nothing."""
    return dict(PoolService(store_dsn).status(name), changed=False)
