# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source ``appgraph.lifecycle.events``: the store's outbox, at least once.

Events go out in id order. The committed position (the id before the oldest event the engine has
not taken yet) is kept in a cursor file, so a restarted rulebook goes on after it: nothing is lost,
and only the events that were in flight come again, with the same ``meta.uuid``.

- With ``feedback: true`` (and ``ansible-rulebook --persistence-id``) an event counts as taken
  when ansible-rulebook hands it back on the feedback queue, after the rule engine processed it.
- Without, it counts as taken when it has left the rulebook's queue: ansible-rulebook posts an
  event to the rule engine in the same step of its event loop as it takes it from the queue.

PostgreSQL wakes the source with LISTEN/NOTIFY (migration 5 notifies on commit); SQLite is polled
every ``poll_interval`` seconds. The table is the truth either way. A store that cannot be reached
is logged and retried with backoff; the source never ends the rulebook for it. Bad arguments do
end it, with a message that says what to change.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import sys
import uuid
from collections import deque
from dataclasses import dataclass

DOCUMENTATION = r"""
---
short_description: Read appgraph.lifecycle's event outbox, at least once and resumable.
description:
  - An ansible-rulebook event source plugin that delivers every event the appgraph store records
    (instance state changes, desired states, server statuses, limits, application changes) in id order.
  - Each event is C({id, kind, application, path, data, at}) with C(meta.uuid) stable per outbox row.
  - The position is committed to a cursor file once the rule engine has taken an event, so a restarted
    rulebook resumes after the last event it took (see O(feedback)).
options:
  store:
    description:
      - A SQLite file, or a C(postgresql://) URL without a password.
      - Default E(APPGRAPH_STORE), else C(~/.local/state/appgraph/appgraph.db).
      - The password of a PostgreSQL store comes from E(APPGRAPH_STORE_PASSWORD) or libpq's E(PGPASSWORD)
        (or C(~/.pgpass)); a password in the URL is refused.
    type: str
  kinds:
    description: Only events of these kinds (for example V(state), V(server_running)). Default all.
    type: list
    elements: str
  applications:
    description: Only events of these applications (server pool events belong to none). Default all.
    type: list
    elements: str
  since:
    description:
      - Where to start when there is no cursor yet. V(latest) - only events recorded from now on;
        V(earliest) - every event in the store; an event id N - the events after N.
      - Once a cursor exists, the source resumes after its position and O(since) is not used.
    type: str
    default: latest
  poll_interval:
    description:
      - Seconds between reads of a SQLite store (0.01 to 60). On PostgreSQL, NOTIFY wakes the source at once and
        this is only how often it reads anyway (a notification missed while disconnected).
    type: float
    default: 0.5
  cursor:
    description:
      - The file that keeps the committed position (written atomically, mode 0600). It names its store; a cursor
        of another store is refused.
      - Default with C(--persistence-id) - C(~/.local/state/appgraph/eda/<persistence id>-<digest of store, kinds
        and applications>.cursor). Without either the source starts from O(since) every time.
    type: str
  feedback:
    description:
      - Advance the position only when ansible-rulebook hands an event back after the rule engine processed it.
        Needs C(ansible-rulebook --persistence-id); give each source of a ruleset its own C(name).
    type: bool
    default: false
"""

EXAMPLES = r"""
- appgraph.lifecycle.events:
    store: /var/lib/appgraph/appgraph.db
    kinds: [state]
    cursor: /var/lib/appgraph/heal.cursor

- name: outbox
  appgraph.lifecycle.events:
    store: postgresql://appgraph@db.example.com/appgraph
    applications: [shop]
    feedback: true
"""


def _import_store_events():
    """The engine, whether ansible-rulebook ran this file by path (runpy) or it was imported."""
    try:
        from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import events as store_events
    except ImportError:
        # .../<root>/ansible_collections/appgraph/lifecycle/extensions/eda/plugins/event_source/events.py
        parts = os.path.abspath(__file__).split(os.sep)
        root = os.sep.join(parts[:-8])
        if parts[-8:-5] != ["ansible_collections", "appgraph", "lifecycle"] or root in sys.path:
            raise
        sys.path.insert(0, root)
        from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import events as store_events
    return store_events


store_events = _import_store_events()
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import StoreError, suggest  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.files import atomic_write  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.backends import (  # noqa: E402
    is_postgresql, password_in_dsn, redact, resolve_dsn, with_password)

LOGGER = logging.getLogger("appgraph.lifecycle.events")
ARGS = ("store", "kinds", "applications", "since", "poll_interval", "cursor", "feedback")
INJECTED = ("eda_feedback_queue",)    # what ansible-rulebook adds to the arguments
BATCH = 500                           # events read per query
COMMIT_LAG = 0.05                     # seconds between the engine taking an event and its cursor write
BACKOFF = (0.5, 30.0)                 # first and longest wait before reconnecting to a store


# -- arguments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    store: str
    kinds: tuple | None
    applications: tuple | None
    since: str | int
    poll_interval: float
    cursor: str | None
    feedback: bool


def settings_from(args: dict, environ=None, persistence_id: str | None = None) -> Settings:
    """The source's arguments, checked; ``ValueError`` says what is wrong and how to fix it.
    ``environ``: where the password comes from (default: the process environment)."""
    environ = os.environ if environ is None else environ
    unknown = sorted(set(args) - set(ARGS) - set(INJECTED))
    if unknown:
        raise ValueError("appgraph.lifecycle.events: unknown argument %r (%s)" % (unknown[0], suggest(unknown[0], ARGS)))
    store = resolve_dsn(_text(args, "store"))
    if password_in_dsn(store):
        raise ValueError("appgraph.lifecycle.events: store: %s holds a password; remove it and set "
                         "APPGRAPH_STORE_PASSWORD (or PGPASSWORD, or ~/.pgpass) instead" % redact(store).partition("?")[0])
    store = with_password(store, environ.get("APPGRAPH_STORE_PASSWORD"))
    kinds, applications = _names(args, "kinds"), _names(args, "applications")
    feedback = args.get("feedback", False)
    if not isinstance(feedback, bool):
        raise ValueError("appgraph.lifecycle.events: feedback: must be true or false, got %r" % (feedback,))
    cursor = _text(args, "cursor")
    if cursor is None and persistence_id:
        cursor = default_cursor(persistence_id, store, kinds, applications, environ)
    return Settings(store, kinds, applications, _since(args.get("since", "latest")),
                    _poll_interval(args.get("poll_interval", 0.5)),
                    os.path.abspath(os.path.expanduser(cursor)) if cursor else None, feedback)


def _text(args: dict, key: str) -> str | None:
    value = args.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError("appgraph.lifecycle.events: %s: must be a non-empty string, got %r" % (key, value))
    return value


def _names(args: dict, key: str) -> tuple | None:
    value = args.get(key)
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise ValueError("appgraph.lifecycle.events: %s: must be a non-empty list of names, got %r" % (key, value))
    return tuple(values)


def _since(value) -> str | int:
    if value in ("latest", "earliest"):
        return value
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise ValueError("appgraph.lifecycle.events: since: must be 'latest', 'earliest' or an event id (a whole "
                         "number >= 0), got %r" % (value,))
    return int(text)


def _poll_interval(value) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not 0.01 <= seconds <= 60:
        raise ValueError("appgraph.lifecycle.events: poll_interval: must be a number of seconds from 0.01 to 60, "
                         "got %r" % (value,))
    return seconds


def default_cursor(persistence_id: str, store: str, kinds, applications, environ=None) -> str:
    """Where the cursor of a rulebook run with ``--persistence-id`` lives when none is given."""
    environ = os.environ if environ is None else environ
    state = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    key = json.dumps([redact(store), sorted(kinds or []), sorted(applications or [])])
    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in persistence_id)
    return os.path.join(state, "appgraph", "eda", "%s-%s.cursor" % (safe_id, hashlib.sha256(key.encode()).hexdigest()[:12]))


def rulebook_persistence_id() -> str | None:
    """``--persistence-id`` of the ansible-rulebook that runs this source, if any."""
    try:
        from ansible_rulebook.conf import settings  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return getattr(settings, "persistence_id", None)


# -- position ---------------------------------------------------------------------------------------


class Progress:
    """Which delivered events the engine took. ``position`` is the id before the oldest one not
    taken (or how far the reads went when none is out): every event up to it was taken."""

    def __init__(self, position: int):
        self.scanned = position
        self.out: deque = deque()        # ids delivered and not taken yet, in delivery (= id) order

    @property
    def position(self) -> int:
        return self.out[0] - 1 if self.out else self.scanned

    def delivering(self, event_id: int) -> None:
        self.out.append(event_id)

    def scanned_to(self, event_id: int) -> None:
        self.scanned = max(self.scanned, event_id)

    def taken_up_to(self, event_id: int) -> None:
        """Feedback for ``event_id``: it and everything delivered before it were taken (FIFO)."""
        while self.out and self.out[0] <= event_id:
            self.out.popleft()

    def queued(self, waiting: int) -> None:
        """The rulebook's queue holds ``waiting`` events: the last ones delivered; the rest were taken."""
        while len(self.out) > waiting:
            self.out.popleft()


class CursorFile:
    """``{"store": identity, "position": id}`` in a file of its own."""

    def __init__(self, path: str, identity: str):
        self.path, self.identity = path, identity
        self.saved: int | None = None

    def load(self) -> int | None:
        try:
            with open(self.path, "rb") as handle:
                content = json.loads(handle.read().decode("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ValueError("appgraph.lifecycle.events: cursor %s cannot be read (%s); fix or remove it"
                             % (self.path, exc)) from None
        position = content.get("position") if isinstance(content, dict) else None
        if not isinstance(position, int) or isinstance(position, bool) or position < 0:
            raise ValueError("appgraph.lifecycle.events: cursor %s holds no position; fix or remove it" % self.path)
        if content.get("store") != self.identity:
            raise ValueError("appgraph.lifecycle.events: cursor %s is the position in the store %s, not in %s; give "
                             "this store a cursor of its own" % (self.path, content.get("store"), self.identity))
        self.saved = position
        return position

    def save(self, position: int) -> None:
        if position == self.saved:
            return
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        atomic_write(self.path, json.dumps({"store": self.identity, "position": position}).encode("utf-8"))
        self.saved = position


def start_position(since, latest: int) -> int:
    return latest if since == "latest" else 0 if since == "earliest" else since


# -- the source ---------------------------------------------------------------------------------------


class OutboxSource:
    """Reads the outbox into ``queue``; see the module docstring for the guarantees."""

    def __init__(self, queue, settings: Settings, feedback_queue=None, sleep=asyncio.sleep):
        self.queue, self.settings, self.feedback_queue, self.sleep = queue, settings, feedback_queue, sleep
        self.progress: Progress | None = None
        self.cursor: CursorFile | None = None
        self.namespace: uuid.UUID | None = None
        self.changed = asyncio.Event()
        self.connected = asyncio.Event()      # set while a store connection is up (tests wait on it)

    async def run(self) -> None:
        ackers = [self._take_feedback()] if self.feedback_queue is not None else [self._watch_queue()]
        tasks = [asyncio.ensure_future(c) for c in [self._read_forever(), self._commit_forever()] + ackers]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._save()

    # reading

    async def _read_forever(self) -> None:
        wait = BACKOFF[0]
        while True:
            store = listener = None
            try:
                store = await asyncio.to_thread(store_events.open_store, self.settings.store)
                if is_postgresql(self.settings.store):
                    listener = await asyncio.to_thread(store_events.Listener, self.settings.store)
                self._begin(store)
                self.connected.set()
                wait = BACKOFF[0]
                await self._stream(store, listener)
            except StoreError as exc:
                self.connected.clear()
                LOGGER.error("appgraph.lifecycle.events: %s; trying again in %.1f s", exc, wait)
                await self.sleep(wait)
                wait = min(wait * 2, BACKOFF[1])
            finally:
                for closable in (listener, store):
                    if closable is not None:
                        closable.close()

    def _begin(self, store) -> None:
        """On the first connection: the store's identity, and where to start."""
        if self.progress is not None:
            return
        identity = store_events.store_identity(store)
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, "appgraph-store:" + identity)
        self.cursor = CursorFile(self.settings.cursor, identity) if self.settings.cursor else None
        position = self.cursor.load() if self.cursor else None
        if position is None:
            position = start_position(self.settings.since, store_events.latest_id(store))
        self.progress = Progress(position)
        LOGGER.info("appgraph.lifecycle.events: reading %s after event %d", identity, position)

    async def _stream(self, store, listener) -> None:
        while True:
            batch = await asyncio.to_thread(store_events.read_batch, store, self.progress.scanned,
                                            self.settings.kinds, self.settings.applications, BATCH)
            for row in batch.events:
                self.progress.delivering(row.id)
                await self.queue.put(self.event(row))
                self._count_queued()
            self.progress.scanned_to(batch.scanned)
            self.changed.set()
            if len(batch.events) == BATCH:
                continue
            if listener is not None:
                await asyncio.to_thread(listener.wait, self.settings.poll_interval)
            else:
                await self.sleep(self.settings.poll_interval)

    def event(self, row) -> dict:
        return {"id": row.id, "kind": row.kind, "application": row.application, "path": row.subject,
                "data": row.data, "at": row.at, "meta": {"uuid": str(uuid.uuid5(self.namespace, str(row.id)))}}

    # what the engine took

    async def _take_feedback(self) -> None:
        while True:
            event = await self.feedback_queue.get()
            event_id = event.get("id") if isinstance(event, dict) else None
            if isinstance(event_id, int) and self.progress is not None:
                self.progress.taken_up_to(event_id)
                self.changed.set()

    async def _watch_queue(self) -> None:
        while True:
            await self.sleep(0.01 if self.progress is not None and self.progress.out else 0.05)
            self._count_queued()

    def _count_queued(self) -> None:
        if self.feedback_queue is None and self.progress is not None and self.progress.out:
            before = self.progress.position
            self.progress.queued(getattr(self.queue, "queue", self.queue).qsize())
            if self.progress.position != before:
                self.changed.set()

    # committing

    async def _commit_forever(self) -> None:
        while True:
            await self.changed.wait()
            self.changed.clear()
            position = self.progress.position
            # What the engine took, it has handed to its actions in the same moment; written a
            # little later, a cursor never runs ahead of the actions that have begun.
            await self.sleep(COMMIT_LAG)
            self._save(position)

    def _save(self, position: int | None = None) -> None:
        if self.cursor is not None and self.progress is not None:
            try:
                self.cursor.save(self.progress.position if position is None else position)
            except OSError as exc:
                LOGGER.error("appgraph.lifecycle.events: cannot write the cursor %s: %s", self.cursor.path, exc)


async def main(queue: asyncio.Queue, args: dict) -> None:
    """ansible-rulebook's entry point."""
    settings = settings_from(args, persistence_id=rulebook_persistence_id())
    if settings.cursor is None:
        LOGGER.warning("appgraph.lifecycle.events: no cursor (neither 'cursor' nor --persistence-id): a restart "
                       "starts again from since=%s", settings.since)
    await OutboxSource(queue, settings, args.get("eda_feedback_queue")).run()


if __name__ == "__main__":
    # Print the outbox of $APPGRAPH_STORE from now on (a quick look without a rulebook).
    class _Printer:
        async def put(self, event):
            print(json.dumps(event, default=str), flush=True)

        def qsize(self):
            return 0

    asyncio.run(main(_Printer(), {"since": sys.argv[1] if len(sys.argv) > 1 else "latest"}))
