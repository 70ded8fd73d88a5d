"""The store: private file, migrations, application sync, transactions, versions, leases, outbox."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import ConflictError, StoreError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.states import InstanceState
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.leases import lease_is_live, new_owner
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.migrations import LATEST, MIGRATIONS

INSTANCES = (("/vm", "VM", None), ("/vm/db", "Db", "/vm"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        opened = Store(str(tmp_path / "state" / "appgraph.db"))
    else:
        opened = Store(request.getfixturevalue("fresh_postgresql"))   # a database of its own
    yield opened
    opened.close()


def last_event_id(store):
    """The outbox is append-only and the PostgreSQL database is shared: read only what follows."""
    events = store.events(after_id=0, limit=1_000_000)
    return events[-1].id if events else 0


def add(store, name="app", instances=INSTANCES):
    with store.transaction(name) as tx:
        return tx.put_application(name, {"application": name}, "/src", "d1", instances)


def test_a_new_sqlite_store_is_private_and_in_wal_mode(tmp_path):
    path = tmp_path / "deep" / "store.db"
    with Store(str(path)) as store:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        assert store.db.query("PRAGMA journal_mode")[0][0] == "wal"
        assert store.schema_version() == LATEST


def test_migrations_are_numbered_one_after_another_for_both_dialects():
    # a store applies version + 1 next: a gap (two branches numbering apart) would skip one for good
    assert sorted(MIGRATIONS) == list(range(1, LATEST + 1))
    assert all(set(MIGRATIONS[n]) == {"sqlite", "postgresql"} for n in MIGRATIONS)


def test_a_store_newer_than_the_code_is_refused(tmp_path):
    path = str(tmp_path / "s.db")
    with Store(path) as store:
        store.db.execute("UPDATE schema_version SET version = ?", (LATEST + 1,))
    with pytest.raises(StoreError, match="upgrade the collection"):
        Store(path)


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path):
    path = str(tmp_path / "s.db")
    with Store(path) as store:
        add(store)
    with Store(path) as store:
        assert store.schema_version() == LATEST
        assert set(store.instance_rows("app")) == {"/vm", "/vm/db"}


def test_put_application_adds_new_paths_and_drops_only_undeployed_ones(store):
    summary = add(store)
    assert summary["added"] == ["/vm", "/vm/db"]
    rows = store.instance_rows("app")
    assert rows["/vm/db"].state == InstanceState("not_deployed", "not_deployed", None)
    with store.transaction("app") as tx:
        tx.write_states({"/vm/db": InstanceState("deployed_stopped", "deployed_stopped")})
    with pytest.raises(ConflictError, match="/vm/db"):
        add(store, instances=INSTANCES[:1])
    assert set(store.instance_rows("app")) == {"/vm", "/vm/db"}   # the failed transaction left nothing


def test_every_write_stamps_the_next_version_and_changed_since_reads_only_those(store):
    add(store)
    version = store.application("app").version
    with store.transaction("app") as tx:
        assert tx.version == version
        tx.write_states({"/vm": InstanceState("deploying", "deployed_started", "not_deployed")})
    with store.transaction("app") as tx:
        assert tx.version == version + 1
        assert set(tx.changed_since(version)) == {"/vm"}
        assert tx.changed_since(version + 1) == {}


def test_a_failing_transaction_writes_nothing(store):
    add(store)
    mark = last_event_id(store)
    with pytest.raises(RuntimeError):
        with store.transaction("app") as tx:
            tx.write_states({"/vm": InstanceState("deploying", "deployed_started", "not_deployed")})
            tx.append_events([("/vm", "state", {"after": "deploying"})])
            raise RuntimeError("crash between the write and the commit")
    assert store.instance_rows("app")["/vm"].state.state == "not_deployed"
    assert [e.kind for e in store.events(after_id=mark, application="app")] == []


def test_events_form_an_ordered_outbox(store):
    add(store)
    mark = last_event_id(store)
    with store.transaction("app") as tx:
        tx.append_events([("/vm", "state", {"n": i}) for i in range(5)])
    events = store.events(after_id=mark, application="app")
    assert [e.data["n"] for e in events] == list(range(5))
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert [e.data["n"] for e in store.events(after_id=events[2].id, application="app")] == [3, 4]


def test_leases_of_other_owners_are_seen_until_they_expire(store):
    add(store)
    mine, theirs = new_owner(), "elsewhere.example:1:abcd"
    with store.transaction("app") as tx:
        tx.take_leases(["/vm"], theirs, tx.now + 60)
        tx.take_leases(["/vm/db"], mine, tx.now + 60)
    with store.transaction("app") as tx:
        assert tx.leased_by_others(mine) == {"/vm"}
        tx.release_leases(["/vm/db"], mine)
        tx.release_leases(["/vm"], mine)                 # not ours: stays
    with store.transaction("app") as tx:
        assert tx.leased_by_others(mine) == {"/vm"}
        assert tx.leased_by_others(theirs) == set()


def test_a_lease_of_a_dead_local_process_is_dead_at_once():
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    dead_pid = int(child.stdout)
    import socket
    owner = "%s:%d:feed" % (socket.gethostname(), dead_pid)
    assert not lease_is_live(owner, 10_000.0, 1.0)
    assert lease_is_live("%s:%d:feed" % (socket.gethostname(), os.getpid()), 10_000.0, 1.0)
    assert not lease_is_live(new_owner(), 1.0, 2.0)      # expired


def test_each_migration_commits_on_its_own(tmp_path, monkeypatch):
    """A migration that fails rolls back alone: the ones before it stay, the version says so, and
    the next open tries the failed one again."""
    import sqlite3

    from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import store as store_module

    dsn = str(tmp_path / "m.db")
    broken = dict(store_module.MIGRATIONS)
    good = {"sqlite": ["CREATE TABLE later_ok (x INTEGER)"], "postgresql": ["CREATE TABLE later_ok (x INTEGER)"]}
    bad = {"sqlite": ["CREATE TABLE later_bad (x INTEGER)", "THIS IS NOT SQL"],
           "postgresql": ["CREATE TABLE later_bad (x INTEGER)", "THIS IS NOT SQL"]}
    broken[LATEST + 1], broken[LATEST + 2] = good, bad
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    monkeypatch.setattr(store_module, "LATEST", LATEST + 2)
    with pytest.raises(sqlite3.OperationalError):
        Store(dsn)
    monkeypatch.setattr(store_module, "LATEST", LATEST + 1)
    with Store(dsn) as store:
        assert store.schema_version() == LATEST + 1
        assert store.db.table_exists("later_ok") and not store.db.table_exists("later_bad")


def test_opening_an_up_to_date_store_takes_no_write_lock(tmp_path, monkeypatch):
    """A reader opening the store while another process holds the write lock is not held up."""
    import sqlite3

    from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.backends import SQLiteBackend

    dsn = str(tmp_path / "busy.db")
    Store(dsn).close()
    original = SQLiteBackend.__init__
    monkeypatch.setattr(SQLiteBackend, "__init__", lambda self, path, busy_timeout=60.0: original(self, path, 0.2))
    holder = sqlite3.connect(dsn, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Store(dsn) as store:
            assert store.schema_version() == LATEST
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_two_writers_adding_one_new_application_take_turns_on_postgresql(fresh_postgresql):
    """Reproduced on the old code (four racing playbooks, CI): an application that does not exist
    has no row for ``FOR UPDATE`` to lock, so two first writers both inserted it and the second
    died of a duplicate key. The second now waits for the first, then finds what it wrote."""
    import threading

    import psycopg

    from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

    first, second = Store(fresh_postgresql), Store(fresh_postgresql)
    outcome: dict = {}

    def add_too():
        try:
            outcome["summary"] = add(second)
        except Exception as exc:  # pylint: disable=broad-except
            outcome["error"] = exc

    with psycopg.connect(fresh_postgresql, autocommit=True) as watcher:
        with first.transaction("app") as tx:
            tx.put_application("app", {"application": "app"}, "/src", "d1", INSTANCES)
            racer = threading.Thread(target=add_too)
            racer.start()
            wait_until(lambda: watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0],
                       what="the second writer waiting for the first")
        racer.join(10)
    assert "error" not in outcome, outcome
    assert outcome["summary"]["added"] == []            # the first had added them
    assert set(second.instance_rows("app")) == {"/vm", "/vm/db"}
    first.close()
    second.close()
