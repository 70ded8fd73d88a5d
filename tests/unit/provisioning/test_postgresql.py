# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The postgresql database sub-provisioner on the test PostgreSQL server: a database and role per
tenant, its password only in the tenant's private storage, pg_dump / pg_restore round trip."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.postgresql_db import (
    scram_verifier, tenant_name)

from .helpers import events_of, manager, tree_state, write_config

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def setup(tmp_path, local_root, postgresql_dsn):
    store = str(tmp_path / "store.db")
    config = write_config(tmp_path, local_root, database={"name": "postgresql", "options": {"dsn": postgresql_dsn,
                                                                                            "prefix": "t_"}})
    yield store, config, postgresql_dsn
    with psycopg.connect(postgresql_dsn, autocommit=True) as admin:
        name = tenant_name("t_", "pgshop")
        admin.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        admin.execute("DROP ROLE IF EXISTS %s" % name)


def tenant_rows(credentials: dict) -> list:
    with psycopg.connect(host=credentials["host"], port=credentials["port"], dbname=credentials["dbname"],
                         user=credentials["user"], password=credentials["password"]) as conn:
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'orders'").fetchone()[0]
        return [owner] + conn.execute("SELECT id, item, price FROM orders ORDER BY id").fetchall()


def test_round_trip_with_a_database_and_role_per_tenant(setup):
    store, config, _dsn = setup
    m = manager(store, config)
    result = m.provision("acme", "pgshop")
    assert result["provision"]["state"] == "provisioned", result.get("error")
    password = result["secrets"]["database_password"]
    parts = m.status("pgshop")["provisions"][0]["parts"]
    path = os.path.join(parts["storage"]["path"], "private", ".database.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as handle:
        credentials = json.load(handle)
    assert credentials["password"] == password and credentials["user"] == tenant_name("t_", "pgshop")
    with psycopg.connect(host=credentials["host"], port=credentials["port"], dbname=credentials["dbname"],
                         user=credentials["user"], password=password) as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, item text, price numeric)")
        conn.execute("INSERT INTO orders (item, price) SELECT 'item ' || g, g * 1.5 FROM generate_series(1, 300) g")
    before = tenant_rows(credentials)
    assert before[0] == credentials["user"]
    # never in the store, its events, or what is stored of the parts
    with open(store, "rb") as handle:
        assert password.encode() not in handle.read()
    assert all(password not in json.dumps(e.data) for e in events_of(store, "pgshop"))
    assert password not in json.dumps(parts)

    snapshot = m.export("pgshop")["snapshot"]
    assert snapshot["manifest"]["parts"]["database"]["file"] == "database.pgdump"
    tree = tree_state(parts["storage"]["path"])
    m.deprovision("pgshop")
    with psycopg.connect(_dsn, autocommit=True) as admin:
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (credentials["dbname"],)).fetchone() is None
        assert admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (credentials["user"],)).fetchone() is None

    back = m.import_snapshot("acme", "pgshop", snapshot["path"])
    assert back["provision"]["state"] == "provisioned", back.get("error")
    with open(path, encoding="utf-8") as handle:
        fresh = json.load(handle)
    assert fresh["password"] != password            # a new tenant role, a new password
    assert tenant_rows(fresh) == before             # same rows, owned by the tenant's role
    tree.pop("private/.database.json")
    after = tree_state(parts["storage"]["path"])
    after.pop("private/.database.json")
    assert after == tree


def test_scram_verifier_is_what_postgresql_keeps(setup):
    """PostgreSQL keeps a well-formed verifier as it is (a malformed one would be hashed as if it
    were the password). The test server trusts 127.0.0.1, so a login would prove nothing."""
    _store, _config, dsn = setup
    verifier = scram_verifier("s3cret", salt=b"0123456789abcdef")
    assert verifier.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    name = tenant_name("t_", "pgshop")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("CREATE ROLE %s LOGIN PASSWORD '%s'" % (name, verifier))
        kept = admin.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,)).fetchone()[0]
    assert kept == verifier


def test_tenant_names_are_identifiers_that_never_collide():
    assert tenant_name("tenant_", "Shop.1") != tenant_name("tenant_", "shop_1")
    assert len(tenant_name("tenant_", "x" * 64)) <= 63


def role_and_database(dsn: str, name: str) -> tuple:
    """The role's stored SCRAM verifier and the database's comment (the test server trusts every
    login on loopback, so what PostgreSQL keeps is what the tests compare)."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        verifier = admin.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (name,)).fetchone()[0]
        comment = admin.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                                (name,)).fetchone()
    return verifier, comment


def scram_verifier_of(password: str, verifier: str) -> str:
    """``verifier`` if ``password`` is the one it was made from (its salt and iterations reused)."""
    iterations, salt = verifier.split("$")[1].split(":")
    same = scram_verifier(password, salt=base64.b64decode(salt), iterations=int(iterations)) == verifier
    return verifier if same else "another password"


def test_two_stores_never_share_nor_drop_each_others_tenant_database(setup, tmp_path):
    """Two stores (two AWX clusters, say) provisioning tenant ``pgshop`` with one prefix on one
    server: the second is refused, and its rollback leaves the first's database and role alone."""
    store, config, dsn = setup
    first = manager(store, config)
    made = first.provision("acme", "pgshop")
    assert made["provision"]["state"] == "provisioned", made.get("error")
    name = tenant_name("t_", "pgshop")
    before = role_and_database(dsn, name)
    assert before[0] == scram_verifier_of(made["secrets"]["database_password"], before[0])

    refused = manager(str(tmp_path / "other-store.db"), config).provision("acme", "pgshop")
    assert refused["provision"]["state"] != "provisioned"
    assert "was not made by this store" in json.dumps(refused), refused
    assert role_and_database(dsn, name) == before       # the first's password, database and mark kept

    first.deprovision("pgshop")
    with psycopg.connect(dsn, autocommit=True) as admin:
        assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
        assert admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None


def test_a_role_made_by_hand_is_never_taken_over(setup):
    store, config, dsn = setup
    name = tenant_name("t_", "pgshop")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("CREATE ROLE %s LOGIN PASSWORD 'theirs'" % name)
    refused = manager(store, config).provision("acme", "pgshop")
    assert "the role %s exists and was not made by this store" % name in json.dumps(refused), refused
    verifier = role_and_database(dsn, name)[0]
    assert verifier == scram_verifier_of("theirs", verifier)      # its password kept
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("DROP ROLE %s" % name)
