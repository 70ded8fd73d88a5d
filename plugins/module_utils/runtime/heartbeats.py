# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the heartbeats of an application's servers and apply Roboconf's rule to them.

The rule itself (3 missed periods -> ``problem``; any heartbeat -> ``deployed_started``) is in
``lifecycle``; this is the I/O around it: ask each root's provider when its agent last spoke,
keep that in the store, and write the resulting states and events in one transaction.
"""

from __future__ import annotations

import time

from .. import lifecycle as lc
from ..providers.registry import get_provider
from ..servers.flows import fleet_provider
from ..store.store import Store

DEFAULT_PERIOD = 60.0
MISSES = 3


def _period(runtime: dict) -> float:
    """The agent's heartbeat interval when its provider has one (local), else DESIGN's 60 s."""
    options = runtime.get("provider_options") or {}
    try:
        return float(options.get("heartbeat_interval", DEFAULT_PERIOD))
    except (TypeError, ValueError):
        return DEFAULT_PERIOD


def last_heartbeats(app, rows: dict, snap: lc.Snapshot, provider_factory=get_provider) -> dict:
    """``{root path: (epoch seconds, period)}`` for started roots whose provider reports heartbeats."""
    out = {}
    providers: dict = {}
    for path in app.roots:
        runtime = rows[path].runtime if path in rows else {}
        if snap[path].state not in lc.STARTED or not runtime.get("provider") or not runtime.get("provider_id"):
            continue
        key = (runtime["provider"], repr(sorted((runtime.get("provider_options") or {}).items())), runtime.get("fleet"))
        if key not in providers:
            providers[key] = fleet_provider(provider_factory, runtime["provider"], runtime.get("provider_options") or {},
                                            runtime.get("fleet"))
        seen = providers[key].last_heartbeat(runtime["provider_id"])
        if seen is not None:
            out[path] = (seen, _period(runtime))
    return out


def heartbeat_step(snap: lc.Snapshot, beats: dict, now: float) -> lc.Step:
    """Roboconf's rule over ``beats`` (``last_heartbeats``): one step for every root."""
    step = lc.Step()
    for path, (seen, period) in sorted(beats.items()):
        if now - seen > MISSES * period:
            more = lc.missed_heartbeats(snap, {path: seen}, now, period=period, misses=MISSES)
        else:
            more = lc.heartbeat(snap, path)
        snap.apply(more)
        step.changes.update(more.changes)
        step.events.extend(more.events)
    return step


def check_heartbeats(store: Store, app, now: float | None = None, provider_factory=get_provider,
                     record: bool = True) -> dict:
    """Read the roots' last heartbeats; roots silent for 3 periods become ``problem``, roots heard
    again leave it. With ``record`` the heartbeats, states and events are written; without (check
    mode) nothing is. Returns ``{path: new state}`` for the roots that changed."""
    now = time.time() if now is None else now
    rows = store.instance_rows(app.name)
    snap = lc.Snapshot(app, {p: r.state for p, r in rows.items()})
    beats = last_heartbeats(app, rows, snap, provider_factory)
    if not beats:
        return {}
    step = heartbeat_step(snap, beats, now)
    if record:
        with store.transaction(app.name) as tx:
            for path, (seen, _period) in sorted(beats.items()):
                tx.heartbeat(path, seen)
            tx.write_states(step.changes)
            tx.append_events([(e.path, e.kind, e.data) for e in step.events])
    return {path: state.state for path, state in step.changes.items()}
