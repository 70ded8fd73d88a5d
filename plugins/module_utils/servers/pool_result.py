# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a pool operation reports: the servers it started, stopped, ... and the counts by status."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PoolResult:
    """What one pool operation did (or, in check mode, would do)."""

    server_type: str
    operation: str
    changed: bool = False
    started: list = field(default_factory=list)     # new servers (names)
    resumed: list = field(default_factory=list)     # errored/hanging servers made again
    waited: list = field(default_factory=list)      # servers already on their way, driven to running
    stopped: list = field(default_factory=list)
    rebooted: list = field(default_factory=list)
    failed_servers: list = field(default_factory=list)   # [{name, status, error}]
    pending: list = field(default_factory=list)     # [{name, status, reason}]: not there (yet)
    limit_hit: dict | None = None                   # {limit, live, asked, allowed, provider_identity}
    counts_before: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    servers: list = field(default_factory=list)
    check_mode: bool = False

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


def server_entry(row) -> dict:
    return {"name": row.name, "status": row.status, "provider": row.provider, "address": row.address,
            "provider_id": row.provider_id, "server_type": row.server_type, "error": row.error}


def counts_of(rows) -> dict:
    counts: dict = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return dict(sorted(counts.items()))


def limit_report(limit: int, live: int, asked: int, allowed: int, identity: str | None) -> dict:
    """What ``limit_hit`` says when ``max_servers`` kept servers from being made."""
    return {"limit": limit, "live": live, "asked": asked, "allowed": allowed, "provider_identity": identity}


def acted(result: PoolResult) -> bool:
    return bool(result.started or result.resumed or result.stopped or result.rebooted or result.waited)
