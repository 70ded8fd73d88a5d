# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the reserve modules return about reserves and clones (plain data, ready for exit_json)."""

from __future__ import annotations

from .settings import Settings
from .states import MIGRATED, READY


def clone_entry(clone, digest: str | None) -> dict:
    return {"name": clone.name, "clone_id": clone.clone_id, "state": clone.state, "alias": clone.alias,
            "application": clone.application, "address": clone.address, "server_status": clone.server_status,
            "current": clone.template_digest == digest, "fallback": clone.fallback, "reason": clone.reason,
            "error": clone.error, "created_at": clone.created_at, "ready_at": clone.ready_at,
            "claimed_at": clone.claimed_at, "migrated_at": clone.migrated_at}


def counts_of(clones) -> dict:
    counts: dict = {}
    for clone in clones:
        counts[clone.state] = counts.get(clone.state, 0) + 1
    return dict(sorted(counts.items()))


def description(reserve) -> dict | None:
    """A reserve's settings as the diff and the info module show them."""
    if reserve is None:
        return None
    return dict(Settings.from_dict(reserve.settings).as_dict(), provider=reserve.provider, src=reserve.source,
                template_digest=reserve.template_digest)


def reserve_status(name: str, reserve, clones: list, now: float) -> dict:
    """``{name, settings, clones, counts, available, hits, misses, hit_rate, window_open}``; the hits
    are the reserve's counter and the clones still handed out that it served (see ``fold_hit``)."""
    digest = reserve.template_digest if reserve is not None else None
    hits, misses = (reserve.hits, reserve.misses) if reserve is not None else (0, 0)
    hits += sum(1 for c in clones if c.claimed_at is not None and not c.fallback)
    settings = Settings.from_dict(reserve.settings) if reserve is not None else None
    return {"name": name, "present": reserve is not None, "settings": description(reserve),
            "clones": [clone_entry(c, digest) for c in clones], "counts": counts_of(clones),
            "available": sum(1 for c in clones if c.state == READY and c.template_digest == digest),
            "hits": hits, "misses": misses, "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
            "window_open": settings.window_open(now) if settings is not None else False}


def predicted_counts(rows: list, report: dict) -> dict:
    """The counts a planned pass (``report``, check mode) would leave: what it deletes gone, what
    it builds, resumes or gives back ready, what it migrates migrated."""
    states = {c.name: c.state for c in rows}
    for name in report["deleted"]:
        states.pop(name, None)
    for name in report["built"] + report["resumed"] + report["returned"]:
        states[name] = READY
    for entry in report["migrated"]:
        states[entry["name"]] = MIGRATED
    counts: dict = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    return dict(sorted(counts.items()))
