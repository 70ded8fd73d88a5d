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

# 4: the digest of the source's bytes (a file, or every file of a Roboconf directory), so that a
# source unchanged since it was added is recognised without reading it as an application; and each
# instance's position in the model's order, so that its rows can be listed in that order without it.
_V4 = ["ALTER TABLE applications ADD COLUMN source_digest TEXT",
       "ALTER TABLE instances ADD COLUMN position INTEGER"]
MIGRATIONS[4] = {"sqlite": list(_V4), "postgresql": list(_V4)}

# 5: the outbox in commit order on PostgreSQL (event sources, extensions/eda; store/events.py).
# A BIGSERIAL id is taken at insert time but transactions commit in any order, so a reader of
# ``id > last`` could pass over an id that commits later. A statement trigger takes one store-wide
# lock before the first row of any INSERT INTO events (before its id is drawn) and holds it to the
# end of the transaction: ids then become visible in order. A second one notifies the event
# sources (LISTEN appgraph_events), delivered at commit, once per transaction; the table stays
# the truth. SQLite has one writer at a time already, and its readers poll.
_EVENTS_LOCK_V5 = """CREATE FUNCTION appgraph_events_lock() RETURNS trigger LANGUAGE plpgsql AS $body$
    BEGIN
        PERFORM pg_advisory_xact_lock(4242, 4);
        RETURN NULL;
    END
    $body$"""
_EVENTS_NOTIFY_V5 = """CREATE FUNCTION appgraph_events_notify() RETURNS trigger LANGUAGE plpgsql AS $body$
    BEGIN
        PERFORM pg_notify('appgraph_events', '');
        RETURN NULL;
    END
    $body$"""
MIGRATIONS[5] = {
    "sqlite": [],
    "postgresql": [
        _EVENTS_LOCK_V5,
        "CREATE TRIGGER events_in_commit_order BEFORE INSERT ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION appgraph_events_lock()",
        _EVENTS_NOTIFY_V5,
        "CREATE TRIGGER events_notify AFTER INSERT ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION appgraph_events_notify()",
    ],
}

# 6: the store's fleet identity (``store_meta``: made once, when the store is first asked for it)
# and, per server row, the fleet it was made for (NULL: made before fleets, at the provider's own
# level). Two stores never share a server: providers keep each fleet's servers apart.
_V6 = ["CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
       "ALTER TABLE servers ADD COLUMN fleet TEXT"]
MIGRATIONS[6] = {"sqlite": list(_V6), "postgresql": list(_V6)}

# 7: reserves (reserves/; store/reserves.py). One row per reserve: its validated settings, the
# template (provider, public options, the template application's document) and the template's
# digest, the clone counter (never goes back: a clone name is never reused) and the hit/miss
# counters. One row per clone: the server it is (``name``), its state, the digest of the template
# it was built from, the permanent name it was claimed under (``alias``, unique: two claims never
# share a name) and a lease (who is working on it now), as instances have.
_RESERVES_V7 = """CREATE TABLE reserves (
        name TEXT PRIMARY KEY,
        settings TEXT NOT NULL,
        provider TEXT NOT NULL,
        provider_options TEXT NOT NULL,
        provider_identity TEXT,
        source TEXT,
        template TEXT,
        template_digest TEXT NOT NULL,
        next_clone_id BIGINT NOT NULL DEFAULT 1,
        hits BIGINT NOT NULL DEFAULT 0,
        misses BIGINT NOT NULL DEFAULT 0,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    )"""
_CLONES_V7 = """CREATE TABLE clones (
        id %s,
        reserve TEXT NOT NULL,
        name TEXT NOT NULL UNIQUE,
        clone_id BIGINT,
        state TEXT NOT NULL,
        alias TEXT UNIQUE,
        application TEXT,
        template_digest TEXT NOT NULL,
        fallback INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        error TEXT,
        lease_owner TEXT,
        lease_expires DOUBLE PRECISION,
        created_at DOUBLE PRECISION NOT NULL,
        ready_at DOUBLE PRECISION,
        claimed_at DOUBLE PRECISION,
        migrated_at DOUBLE PRECISION,
        state_changed_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    )"""
_CLONES_INDEX_V7 = "CREATE INDEX clones_claimable ON clones (reserve, state, template_digest, ready_at)"
MIGRATIONS[7] = {
    "sqlite": [_RESERVES_V7, _CLONES_V7 % "INTEGER PRIMARY KEY AUTOINCREMENT", _CLONES_INDEX_V7],
    "postgresql": [_RESERVES_V7, _CLONES_V7 % "BIGSERIAL PRIMARY KEY", _CLONES_INDEX_V7],
}

# 8: applications made from templates, and bindings between applications (Roboconf's application
# templates and ``external`` imports). ``template`` names the template an application was made from
# (rows written before: their own name, the file named them); ``exports_prefix`` and
# ``external_exports`` (JSON) are what the template offers other applications, kept apart from the
# document so that an importer reads them without the whole document. A row of ``bindings`` says
# that ``application`` imports ``external <prefix>.*`` from the application ``bound`` (a name: it
# may be removed and added again).
_V8 = [
    "ALTER TABLE applications ADD COLUMN template TEXT",
    "ALTER TABLE applications ADD COLUMN exports_prefix TEXT",
    "ALTER TABLE applications ADD COLUMN external_exports TEXT",
    "UPDATE applications SET template = name",
    """CREATE TABLE bindings (
        application TEXT NOT NULL REFERENCES applications(name) ON DELETE CASCADE,
        prefix TEXT NOT NULL,
        bound TEXT NOT NULL,
        PRIMARY KEY (application, prefix, bound)
    )""",
    "CREATE INDEX bindings_bound ON bindings (bound)",
]
MIGRATIONS[8] = {"sqlite": list(_V8), "postgresql": list(_V8)}

# 9: provisions (provisioning/; store/provisions.py; DESIGN.md "Provisioning"). One row per tenant
# instance id: who owns it, the provisioner (and the file it came from: reconcile reads it again)
# and its offerings, the state (written before each slow step), ``parts`` (JSON: what each sub-provisioner made or is making, so that a rollback or a
# deprovision after a crash knows what exists) and a lease, as instances have. One row per snapshot
# an export wrote, so that retention prunes only files this store made (``expires_at``: NULL keeps it).
_PROVISIONS_V9 = """CREATE TABLE provisions (
        instance_id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        provisioner TEXT NOT NULL,
        config_path TEXT,
        guest_location TEXT,
        offerings TEXT NOT NULL,
        operation TEXT NOT NULL,
        state TEXT NOT NULL,
        parts TEXT NOT NULL,
        resource_uri TEXT,
        error TEXT,
        lease_owner TEXT,
        lease_expires DOUBLE PRECISION,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        state_changed_at DOUBLE PRECISION NOT NULL
    )"""
_SNAPSHOTS_V9 = """CREATE TABLE provision_snapshots (
        id TEXT PRIMARY KEY,
        instance_id TEXT NOT NULL,
        path TEXT NOT NULL,
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION
    )"""
_V9 = [_PROVISIONS_V9, "CREATE INDEX provisions_state ON provisions (state, updated_at)", _SNAPSHOTS_V9,
       "CREATE INDEX provision_snapshots_expiry ON provision_snapshots (expires_at)"]
MIGRATIONS[9] = {"sqlite": list(_V9), "postgresql": list(_V9)}

# 10: the error of an instance's last operation, kept until an operation of it succeeds, so that
# application_info returns it and the picture marks the instance red after the run that failed.
_V10 = ["ALTER TABLE instances ADD COLUMN last_error TEXT"]
MIGRATIONS[10] = {"sqlite": list(_V10), "postgresql": list(_V10)}

LATEST = max(MIGRATIONS)
