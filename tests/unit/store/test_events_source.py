# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source ``appgraph.lifecycle.events`` (extensions/eda) on real stores, SQLite and
PostgreSQL, with an asyncio queue of size 1 standing for ansible-rulebook's."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import uuid
from contextlib import suppress

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import events as store_events
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from .test_events_store import append

SOURCE = importlib.import_module("ansible_collections.appgraph.lifecycle.extensions.eda.plugins.event_source.events")


@pytest.fixture(params=["sqlite", "postgresql"])
def dsn(request, tmp_path):
    if request.param == "sqlite":
        path = str(tmp_path / "store.db")
        Store(path).close()
        return path
    return request.getfixturevalue("fresh_postgresql")


class FastSleep:
    """Records every wait the source asks for, and waits at most 10 ms of it."""

    def __init__(self):
        self.asked: list = []

    async def __call__(self, seconds):
        self.asked.append(seconds)
        await asyncio.sleep(min(seconds, 0.01))


def settings(dsn, tmp_path=None, **args):
    args.setdefault("since", "earliest")
    args.setdefault("poll_interval", 0.01)
    if tmp_path is not None:
        args.setdefault("cursor", str(tmp_path / "cursor.json"))
    return SOURCE.settings_from(dict(args, store=dsn), environ={})


async def until(predicate, timeout=10.0, what="the condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        await asyncio.sleep(0.005)


async def take(queue, count, timeout=10.0) -> list:
    return [await asyncio.wait_for(queue.get(), timeout) for _n in range(count)]


class Running:
    """``async with Running(source) as task``: the source runs until the block ends (cancelled)."""

    def __init__(self, source):
        self.source = source

    async def __aenter__(self):
        self.task = asyncio.ensure_future(self.source.run())
        return self.task

    async def __aexit__(self, *exc):
        self.task.cancel()
        with suppress(asyncio.CancelledError):
            await self.task


def cursor_position(tmp_path):
    try:
        return json.loads((tmp_path / "cursor.json").read_text())["position"]
    except FileNotFoundError:
        return None


def identity_of(dsn):
    with Store(dsn) as store:
        return store_events.store_identity(store)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


# -- what comes out ------------------------------------------------------------------------------


def test_events_arrive_in_id_order_with_their_fields_and_a_stable_uuid(dsn):
    with Store(dsn) as store:
        with store.transaction() as tx:
            tx.put_application("shop", {"application": "shop"}, "/src", "d", [("/vm", "VM", None)])
        with store.transaction("shop") as tx:
            tx.append_events([("/vm", "state", {"before": "deployed_started", "after": "problem"})])
    append(dsn, [("web-1", "server_running", {"address": "127.0.0.1"})])

    async def scenario():
        queue = asyncio.Queue(1)
        async with Running(SOURCE.OutboxSource(queue, settings(dsn, kinds=["state", "server_running"]))):
            return await take(queue, 2)

    first, second = run(scenario())
    assert first["id"] < second["id"]
    assert {k: first[k] for k in ("kind", "application", "path", "data")} == {
        "kind": "state", "application": "shop", "path": "/vm", "data": {"before": "deployed_started", "after": "problem"}}
    assert (second["kind"], second["application"], second["path"]) == ("server_running", None, "web-1")
    assert isinstance(first["at"], float)
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "appgraph-store:" + identity_of(dsn))
    assert first["meta"] == {"uuid": str(uuid.uuid5(namespace, str(first["id"])))}


def test_since_latest_skips_the_past_and_an_id_starts_after_it(tmp_path):
    dsn = str(tmp_path / "store.db")
    append(dsn, [(None, "old", {"i": i}) for i in range(3)])

    async def scenario(since):
        queue = asyncio.Queue(1)
        source = SOURCE.OutboxSource(queue, settings(dsn, since=since))
        async with Running(source):
            await until(source.connected.is_set)
            await until(lambda: source.progress is not None)
            append(dsn, [(None, "new", {})])
            return await take(queue, 1)

    assert [e["kind"] for e in run(scenario("latest"))] == ["new"]
    assert [e["data"] for e in run(scenario(2))] == [{"i": 2}]          # id 2 handled: 3 comes next
    assert [e["data"] for e in run(scenario("earliest"))] == [{"i": 0}]


def test_applications_filter_drops_the_others(tmp_path):
    dsn = str(tmp_path / "store.db")
    append(dsn, [(None, "k", {"i": 1})], application="a")
    append(dsn, [(None, "k", {"i": 2})], application="b")
    append(dsn, [(None, "k", {"i": 3})], application="a")

    async def scenario():
        queue = asyncio.Queue(1)
        async with Running(SOURCE.OutboxSource(queue, settings(dsn, applications="a"))):
            return await take(queue, 2)

    assert [e["data"]["i"] for e in run(scenario())] == [1, 3]


# -- at least once, resumable -----------------------------------------------------------------------


def test_without_feedback_the_cursor_follows_what_left_the_queue_and_a_restart_resumes(dsn, tmp_path):
    append(dsn, [(None, "k", {"i": i}) for i in range(5)])
    ids = [e.id for e in store_events.read_batch(Store(dsn), 0).events]

    async def first_run():
        queue = asyncio.Queue(1)
        async with Running(SOURCE.OutboxSource(queue, settings(dsn, tmp_path))):
            got = await take(queue, 1)
            await until(lambda: cursor_position(tmp_path) == ids[0], what="the cursor at the first event")
            got += await take(queue, 4)
            await until(lambda: cursor_position(tmp_path) == ids[4], what="the cursor at the last event")
            return got

    async def second_run():
        queue = asyncio.Queue(1)
        async with Running(SOURCE.OutboxSource(queue, settings(dsn, tmp_path))):
            append(dsn, [(None, "k", {"i": 5})])
            return await take(queue, 1)

    assert [e["id"] for e in run(first_run())] == ids
    assert [e["data"]["i"] for e in run(second_run())] == [5]          # nothing again, nothing lost


def test_with_feedback_the_cursor_waits_for_the_engine_and_unacknowledged_events_come_again(dsn, tmp_path):
    append(dsn, [(None, "k", {"i": i}) for i in range(4)])
    ids = [e.id for e in store_events.read_batch(Store(dsn), 0).events]

    async def first_run():
        queue, feedback = asyncio.Queue(1), asyncio.Queue(1)
        source = SOURCE.OutboxSource(queue, settings(dsn, tmp_path, feedback=True), feedback)
        async with Running(source):
            got = await take(queue, 3)
            await until(lambda: source.progress is not None and len(source.progress.out) == 4)
            assert cursor_position(tmp_path) in (None, 0)            # taken from the queue is not enough
            for event in got[:2]:
                await feedback.put(event)
            await until(lambda: cursor_position(tmp_path) == ids[1], what="the cursor at the 2nd event")
            return got

    async def second_run():
        queue = asyncio.Queue(1)
        async with Running(SOURCE.OutboxSource(queue, settings(dsn, tmp_path, feedback=True), asyncio.Queue(1))):
            return await take(queue, 2)

    before = run(first_run())
    again = run(second_run())
    assert [e["id"] for e in again] == ids[2:]
    assert again[0]["meta"]["uuid"] == before[2]["meta"]["uuid"]      # the same event, the same uuid


def test_an_interrupted_stream_resumes_with_nothing_lost(tmp_path):
    dsn = str(tmp_path / "store.db")
    append(dsn, [(None, "k", {"i": i}) for i in range(300)])
    received: list = []

    async def run_until(count):
        queue = asyncio.Queue(1)
        async with Running(SOURCE.OutboxSource(queue, settings(dsn, tmp_path))):
            while len(received) < count:
                received.append((await asyncio.wait_for(queue.get(), 10))["data"]["i"])

    for stop_after in (37, 150, 151, 300):
        run(run_until(stop_after))
    assert set(received) == set(range(300))
    assert len(received) - 300 <= 4                          # again: at most the one queued per stop


# -- arguments -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    ({"kind": ["state"]}, "unknown argument 'kind' (did you mean 'kinds'?)"),
    ({"store": "postgresql://app:secret@db/x"}, "holds a password; remove it and set APPGRAPH_STORE_PASSWORD"),
    ({"store": "postgresql://app@db/x?password=secret"}, "store: postgresql://app@db/x holds a password"),
    ({"since": "yesterday"}, "since: must be 'latest', 'earliest' or an event id"),
    ({"since": -3}, "since: must be"),
    ({"poll_interval": 0}, "poll_interval: must be a number of seconds from 0.01 to 60"),
    ({"poll_interval": "soon"}, "poll_interval: must be"),
    ({"kinds": []}, "kinds: must be a non-empty list of names"),
    ({"applications": [1]}, "applications: must be a non-empty list of names"),
    ({"feedback": "yes"}, "feedback: must be true or false"),
    ({"cursor": ""}, "cursor: must be a non-empty string"),
])
def test_bad_arguments_say_what_to_change(args, message):
    with pytest.raises(ValueError) as raised:
        SOURCE.settings_from(args, environ={})
    assert message in str(raised.value)
    assert "secret" not in str(raised.value)


def test_defaults_and_the_password_from_the_environment(tmp_path):
    chosen = SOURCE.settings_from({}, environ={})
    assert (chosen.since, chosen.poll_interval, chosen.cursor, chosen.feedback, chosen.kinds) == (
        "latest", 0.5, None, False, None)
    with_pw = SOURCE.settings_from({"store": "postgresql://app@db/x"}, environ={"APPGRAPH_STORE_PASSWORD": "s3"})
    assert with_pw.store == "postgresql://app:s3@db/x"
    derived = SOURCE.settings_from({"store": str(tmp_path / "s.db")}, environ={"XDG_STATE_HOME": str(tmp_path)},
                                   persistence_id="heal 1")
    assert derived.cursor.startswith(str(tmp_path / "appgraph" / "eda" / "heal_1-")) and derived.cursor.endswith(".cursor")


def test_a_cursor_of_another_store_is_refused(tmp_path):
    dsn = str(tmp_path / "store.db")
    Store(dsn).close()
    (tmp_path / "cursor.json").write_text(json.dumps({"store": "/elsewhere.db", "position": 3}))

    async def scenario():
        async with Running(SOURCE.OutboxSource(asyncio.Queue(1), settings(dsn, tmp_path))) as task:
            await asyncio.wait_for(asyncio.shield(task), 10)

    with pytest.raises(ValueError, match="is the position in the store /elsewhere.db"):
        run(scenario())


# -- a store that goes away ----------------------------------------------------------------------------


def test_a_store_not_there_yet_is_retried_with_backoff_then_read(tmp_path, caplog):
    dsn = str(tmp_path / "later.db")
    sleep = FastSleep()

    async def scenario():
        queue = asyncio.Queue(1)
        async with Running(SOURCE.OutboxSource(queue, settings(dsn), sleep=sleep)):
            await until(lambda: len([s for s in sleep.asked if s >= 0.5]) >= 4, what="four retries")
            append(dsn, [(None, "k", {"i": 1})])
            return await take(queue, 1)

    with caplog.at_level(logging.ERROR, logger="appgraph.lifecycle.events"):
        got = run(scenario())
    assert got[0]["data"] == {"i": 1}
    assert [s for s in sleep.asked if s >= 0.5][:4] == [0.5, 1.0, 2.0, 4.0]
    assert "the store %s does not exist (yet); trying again in 0.5 s" % dsn in caplog.text


def test_postgresql_notify_wakes_the_source_long_before_its_poll_interval(fresh_postgresql):
    append(fresh_postgresql, [(None, "k", {"i": 0})])

    async def scenario():
        queue = asyncio.Queue(1)
        async with Running(SOURCE.OutboxSource(queue, settings(fresh_postgresql, poll_interval=60))):
            await take(queue, 1)                 # the source has read and now waits
            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.to_thread(append, fresh_postgresql, [(None, "k", {"i": 1})])
            got = await take(queue, 1, timeout=20)
            return got, loop.time() - started

    got, took = run(scenario())
    assert got[0]["data"] == {"i": 1} and took < 10


def test_postgresql_a_lost_connection_is_caught_up_from_the_table(fresh_postgresql, caplog):
    import psycopg
    append(fresh_postgresql, [(None, "k", {"i": 0})])
    sleep = FastSleep()

    def kill_other_connections():
        with psycopg.connect(fresh_postgresql, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND pid <> pg_backend_pid()")

    async def scenario():
        queue = asyncio.Queue(1)
        source = SOURCE.OutboxSource(queue, settings(fresh_postgresql, poll_interval=60), sleep=sleep)
        async with Running(source):
            got = await take(queue, 1)
            await asyncio.to_thread(kill_other_connections)
            await asyncio.to_thread(append, fresh_postgresql, [(None, "k", {"i": 1}), (None, "k", {"i": 2})])
            got += await take(queue, 2, timeout=30)
            return got

    with caplog.at_level(logging.ERROR, logger="appgraph.lifecycle.events"):
        got = run(scenario())
    assert [e["data"]["i"] for e in got] == [0, 1, 2]
    assert "trying again in 0.5 s" in caplog.text and "postgresql://" in caplog.text
