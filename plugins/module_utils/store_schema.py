# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store's schema as numbered migrations, applied in order, each in its own transaction.

A migration is a list of statements per dialect (``sqlite``, ``postgresql``); only the spelling of
types differs. Never edit a released migration: add the next one.
"""

from __future__ import annotations

_COMMON_V1 = [
    """CREATE TABLE applications (
        name TEXT PRIMARY KEY,
        source TEXT,
        document TEXT NOT NULL,
        digest TEXT NOT NULL,
        version BIGINT NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE instances (
        application TEXT NOT NULL REFERENCES applications(name) ON DELETE CASCADE,
        path TEXT NOT NULL,
        component TEXT NOT NULL,
        parent TEXT,
        state TEXT NOT NULL,
        desired TEXT NOT NULL,
        previous TEXT,
        exports TEXT,
        runtime TEXT,
        applied_imports TEXT,
        lease_owner TEXT,
        lease_expires DOUBLE PRECISION,
        last_heartbeat DOUBLE PRECISION,
        changed_version BIGINT NOT NULL DEFAULT 0,
        updated_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (application, path)
    )""",
    "CREATE INDEX instances_changed ON instances (application, changed_version)",
    "CREATE INDEX instances_leased ON instances (application, lease_expires)",
]

# The outbox: only the spelling of a monotonic id differs between the dialects.
_EVENTS_V1 = """CREATE TABLE events (
                id %s,
                at DOUBLE PRECISION NOT NULL,
                application TEXT,
                subject TEXT,
                kind TEXT NOT NULL,
                data TEXT NOT NULL
            )"""
_EVENTS_INDEX_V1 = "CREATE INDEX events_application ON events (application, id)"

MIGRATIONS = {
    1: {
        "sqlite": _COMMON_V1 + [_EVENTS_V1 % "INTEGER PRIMARY KEY AUTOINCREMENT", _EVENTS_INDEX_V1],
        "postgresql": _COMMON_V1 + [_EVENTS_V1 % "BIGSERIAL PRIMARY KEY", _EVENTS_INDEX_V1],
    },
}

# 2: server rows (DESIGN.md "Servers"; servers.py). ``generation`` counts how often a row of that
# name was deleted and made again: the client token is derived from (name, generation).
_SERVERS_V2 = """CREATE TABLE servers (
        id %s,
        name TEXT NOT NULL UNIQUE,
        server_type TEXT NOT NULL,
        provider TEXT NOT NULL,
        provider_options TEXT NOT NULL,
        provider_identity TEXT,
        provider_id TEXT,
        client_token TEXT NOT NULL UNIQUE,
        generation INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        previous_status TEXT,
        address TEXT,
        tags TEXT NOT NULL,
        application TEXT,
        instance_path TEXT,
        error TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        status_changed_at DOUBLE PRECISION NOT NULL,
        reboot_requested INTEGER NOT NULL DEFAULT 0
    )"""
_SERVERS_INDEXES_V2 = [
    "CREATE INDEX servers_pool ON servers (server_type, status)",
    "CREATE INDEX servers_account ON servers (provider_identity, status)",
]
MIGRATIONS[2] = {
    "sqlite": [_SERVERS_V2 % "INTEGER PRIMARY KEY AUTOINCREMENT"] + _SERVERS_INDEXES_V2,
    "postgresql": [_SERVERS_V2 % "BIGSERIAL PRIMARY KEY"] + _SERVERS_INDEXES_V2,
}

# 3: server pools (pools.py). One row per server type (pool): the provider it was first used with
# and the counter that names its servers ``<type>-<n>`` (never reused, so a name never comes back
# with an old client token). An index for reconcile: rows by status and age (hanging, prune).
_SERVER_TYPES_V3 = """CREATE TABLE server_types (
        name TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        provider_identity TEXT,
        next_number BIGINT NOT NULL DEFAULT 1,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    )"""
_V3 = [_SERVER_TYPES_V3, "CREATE INDEX servers_status_age ON servers (status, status_changed_at)"]
MIGRATIONS[3] = {"sqlite": list(_V3), "postgresql": list(_V3)}

LATEST = max(MIGRATIONS)
