# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""store/events.py on real stores: batches in id order, filters, identity, DSN passwords, and the
PostgreSQL trap (ids drawn at insert, committed in another order) shown and closed."""

from __future__ import annotations

import os
import threading
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, StoreError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import backends as store_backends
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import events as store_events
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until


@pytest.fixture(params=["sqlite", "postgresql"])
def dsn(request, tmp_path):
    if request.param == "sqlite":
        path = str(tmp_path / "store.db")
        Store(path).close()
        return path
    return request.getfixturevalue("fresh_postgresql")


def append(dsn, events, application=None):
    """Events through the engine's own writer: ``[(subject, kind, data)]``."""
    with Store(dsn) as store, store.transaction(application) as tx:
        tx.append_events(events)


def test_a_batch_is_in_id_order_and_filtered(dsn):
    append(dsn, [("/a", "state", {"n": 1}), ("/b", "desired", {"n": 2})], application=None)
    append(dsn, [("web-1", "server_running", {"n": 3})])
    with Store(dsn) as store:
        everything = store_events.read_batch(store, 0)
        assert [e.data["n"] for e in everything.events] == [1, 2, 3]
        assert everything.scanned == everything.events[-1].id == store_events.latest_id(store)
        states = store_events.read_batch(store, 0, kinds=["state", "server_running"])
        assert [e.kind for e in states.events] == ["state", "server_running"]
        none = store_events.read_batch(store, 0, kinds=["nope"])
        assert none.events == [] and none.scanned == everything.scanned     # passed over once
        assert store_events.read_batch(store, everything.scanned) == store_events.Batch([], everything.scanned)


def test_a_full_batch_stops_at_its_last_event(dsn):
    append(dsn, [(None, "k", {"i": i}) for i in range(7)])
    with Store(dsn) as store:
        first = store_events.read_batch(store, 0, limit=3)
        assert len(first.events) == 3 and first.scanned == first.events[-1].id
        rest = store_events.read_batch(store, first.scanned, limit=10)
        assert [e.data["i"] for e in first.events + rest.events] == list(range(7))


def test_applications_filter_uses_the_event_application(dsn):
    with Store(dsn) as store:
        with store.transaction() as tx:
            tx.put_application("shop", {"application": "shop"}, "/src", "d", [("/vm", "VM", None)])
        with store.transaction("shop") as tx:
            tx.append_events([("/vm", "state", {"after": "problem"})])
        append(dsn, [(None, "k", {})])
        batch = store_events.read_batch(store, 0, applications=["shop"])
        assert [(e.application, e.subject) for e in batch.events] == [("shop", "/vm")]


def test_publish_returns_the_new_event_id(dsn):
    with Store(dsn) as store:
        first = store_events.publish(store, "request_finished", {"ok": True}, subject="r-1")
        second = store_events.publish(store, "request_finished", {"ok": False}, subject="r-1")
        assert second > first
        assert [(e.id, e.subject, e.data) for e in store_events.read_batch(store, 0).events] == [
            (first, "r-1", {"ok": True}), (second, "r-1", {"ok": False})]


@pytest.mark.parametrize("kind", ["request_finished", "shop.order_paid", "database.provisioned", "x" * 64])
def test_publish_takes_a_name_or_dotted_names(tmp_path, kind):
    with Store(str(tmp_path / "store.db")) as store:
        event_id = store_events.publish(store, kind, {})
        assert [e.kind for e in store_events.read_batch(store, 0).events] == [kind] and event_id


@pytest.mark.parametrize("kind", ["", "Request", "request finished", "x" * 65, None, 3, "shop.", ".paid", "shop..paid",
                                  "shop.Paid", "shop.1paid"])
def test_publish_refuses_a_kind_that_is_no_lower_case_name(tmp_path, kind):
    with Store(str(tmp_path / "store.db")) as store:
        with pytest.raises(InputError, match="kind: must be a lower-case name"):
            store_events.publish(store, kind, {})
        assert store_events.latest_id(store) == 0


def test_the_sqlite_identity_is_the_real_path(tmp_path):
    path = tmp_path / "store.db"
    Store(str(path)).close()
    os.symlink(path, tmp_path / "alias.db")
    with Store(str(path)) as one, Store(str(tmp_path / "alias.db")) as other:
        assert store_events.store_identity(one) == store_events.store_identity(other) == str(path.resolve())


def test_a_missing_sqlite_store_is_an_error_not_a_new_file(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        store_events.open_store(str(tmp_path / "typo.db"))
    assert not (tmp_path / "typo.db").exists()


def test_an_unreachable_postgresql_store_is_a_store_error():
    with pytest.raises(StoreError, match="cannot connect"):
        store_events.open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


@pytest.mark.parametrize("dsn, has", [
    ("/var/lib/appgraph.db", False), ("postgresql://app@db/x", False), ("postgresql://db/x?sslmode=require", False),
    ("postgresql://app:secret@db/x", True), ("postgres://app:@db/x", True), ("postgresql://db/x?password=s", True),
])
def test_a_password_in_the_dsn_is_seen(dsn, has):
    assert store_backends.password_in_dsn(dsn) is has


def test_the_password_from_the_environment_goes_into_the_user_part():
    assert store_backends.with_password("postgresql://app@db:5432/x", "p@ss:w/rd") == "postgresql://app:p%40ss%3Aw%2Frd@db:5432/x"
    assert store_backends.with_password("postgresql://app@db/x", None) == "postgresql://app@db/x"
    assert store_backends.with_password("/a/store.db", "pw") == "/a/store.db"


# -- PostgreSQL: ids are drawn at insert time, transactions commit in any order --------------------


def _waiting_on_an_advisory_lock(admin, database) -> bool:
    rows = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
                         "AND wait_event = 'advisory'", (database,)).fetchone()
    return rows[0] > 0


def _interleave(dsn, admin, database, expect_block: bool):
    """A inserts and stays open; B inserts and commits; a reader reads; then A commits.
    Returns (what the reader saw before A committed, what it saw in all, every id in the table)."""
    a, reader = Store(dsn), Store(dsn)
    seen, position = [], 0

    def read():
        nonlocal position
        batch = store_events.read_batch(reader, position)
        seen.extend(e.id for e in batch.events)
        position = batch.scanned

    a_tx = a.transaction("app-a")         # two applications: nothing but the events lock between them
    tx = a_tx.__enter__()
    tx.append_events([("A", "k", {})])
    b_done = threading.Event()
    b = threading.Thread(target=lambda: (append(dsn, [("B", "k", {})], "app-b"), b_done.set()))
    b.start()
    if expect_block:
        wait_until(lambda: _waiting_on_an_advisory_lock(admin, database), what="B to wait for A's lock")
        assert not b_done.is_set()
    else:
        wait_until(b_done.is_set, what="B to commit")
    read()
    before = list(seen)
    a_tx.__exit__(None, None, None)
    b.join(10)
    read()
    read()
    everything = [e.id for e in store_events.read_batch(reader, 0).events]
    a.close()
    reader.close()
    return before, seen, everything


def test_postgresql_without_the_lock_a_reader_passes_over_a_late_commit(fresh_postgresql):
    """The trap itself (the trigger switched off in this throwaway database): the reader saw B's
    id, moved past it, and never sees A's smaller one."""
    import psycopg
    Store(fresh_postgresql).close()
    database = fresh_postgresql.rsplit("/", 1)[1]
    with psycopg.connect(fresh_postgresql, autocommit=True) as admin:
        admin.execute("ALTER TABLE events DISABLE TRIGGER events_in_commit_order")
        before, seen, everything = _interleave(fresh_postgresql, admin, database, expect_block=False)
    assert len(everything) == 2 and before == [everything[1]]
    assert set(everything) - set(seen) == {everything[0]}          # A's event: lost to this reader


def test_postgresql_the_lock_makes_ids_visible_in_order(fresh_postgresql):
    import psycopg
    Store(fresh_postgresql).close()
    database = fresh_postgresql.rsplit("/", 1)[1]
    with psycopg.connect(fresh_postgresql, autocommit=True) as admin:
        before, seen, everything = _interleave(fresh_postgresql, admin, database, expect_block=True)
    assert before == []                       # neither is visible while A is open (B waits for A)
    assert seen == everything and len(everything) == 2


def test_postgresql_concurrent_writers_and_a_reader_lose_nothing(fresh_postgresql):
    """Eight writers append batches with a pause inside their transactions (so commits would
    overtake each other), a reader reads all along: every event is read, once, in id order."""
    Store(fresh_postgresql).close()
    writers, per_writer = 8, 25
    stop = threading.Event()
    seen: list = []

    def write(n):
        with Store(fresh_postgresql) as store:
            for i in range(per_writer):
                with store.transaction("app-%d" % n) as tx:      # writers of different applications
                    tx.append_events([("w%d" % n, "k", {"i": i}), ("w%d" % n, "k", {"i": i})])
                    time.sleep(0.001 * ((n * 7 + i) % 5))       # hold the transaction open a little

    def read():
        with Store(fresh_postgresql) as store:
            position = 0
            while True:
                last_round = stop.is_set()
                batch = store_events.read_batch(store, position, limit=37)
                seen.extend(e.id for e in batch.events)
                position = batch.scanned
                if last_round and not batch.events:
                    return

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    stop.set()
    reader.join(60)
    with Store(fresh_postgresql) as store:
        everything = [e.id for e in store_events.read_batch(store, 0, limit=10_000).events]
    assert len(everything) == writers * per_writer * 2
    assert seen == everything                  # nothing lost, nothing twice, in order


def test_postgresql_listener_hears_a_commit_and_only_after_it(fresh_postgresql):
    Store(fresh_postgresql).close()
    listener = store_events.Listener(fresh_postgresql)
    try:
        assert listener.wait(0.01) is False
        with Store(fresh_postgresql) as store:
            with store.transaction(None) as tx:
                tx.append_events([(None, "k", {})])
                assert listener.wait(0.05) is False           # not before the commit
            started = time.monotonic()
            assert listener.wait(10) is True
            assert time.monotonic() - started < 5
            assert listener.wait(0.01) is False               # one notification per transaction
    finally:
        listener.close()
