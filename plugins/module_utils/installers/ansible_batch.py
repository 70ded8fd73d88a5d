# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gather work submitted together from many threads into one batch per key, run it once.

The executor gives each ready operation a worker thread, and the ones that become ready together
are dispatched within microseconds of each other (milliseconds on a busy machine). A
``Collector`` lets those threads meet: the first thread of a key opens a batch and keeps it open
while others join, until ``window`` seconds pass without a new one (or the batch holds
``max_size`` items, or ``max_wait`` seconds have passed since it opened); then it closes the batch,
runs ``run_batch(items)`` once, and hands every thread its own item's outcome. A thread that comes
after the batch closed opens the next one. Nothing waits for work that is not already on its way:
a lone item runs after ``window`` (a few milliseconds).

Group commit, as databases do for fsync: at most ``runs`` batches of one key run at once (the
``runs`` of the key's first item). A batch ready to run while that many of its key are running
stays open, *pending*: items keep joining it, and it starts the moment one of them ends (or at the
earliest deadline of its items, for ``run_batch`` to fail them then rather than later). Work that
becomes ready a little at a time (a wave whose servers come up seconds apart) costs about
``runs + 1`` runs instead of one per window, and a lone item still starts at once, as no timer
holds a batch while a run slot is free.

``run_batch`` returns ``{item id: value}``, where a value that is an exception is raised in that
item's thread only; an item it leaves out gets an error, and an exception it raises is every
item's error. Items are ``(item id, payload)``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Hashable

WINDOW = 0.005          # seconds a batch stays open after its last item joined
MAX_WAIT = 1.0          # seconds a batch stays open at most (for items announced but late)
RUNS = 1                # batches of one key running at once; the next one gathers meanwhile


class _Batch:
    def __init__(self):
        self.items: list = []
        self.closed = False
        self.full = threading.Event()       # set when the batch reached its maximum size
        self.joined = threading.Event()     # set by each item that joins; cleared by the leader
        self.expected = 1                   # the most items one of them said are on their way
        self.done = threading.Event()
        self.results: dict = {}
        self.error: BaseException | None = None
        self.runs = RUNS                    # batches of this key that may run at once
        self.deadline: float | None = None  # the earliest deadline of its items (the collector's clock)


class Collector:
    """One batch open per key at a time, at most ``runs`` running per key; thread-safe. ``clock``
    is the clock of the items' deadlines; ``on_join(key, item_id, batch size)`` is told of each
    item as it joins its batch (under the collector's lock: it must not call the collector)."""

    def __init__(self, run_batch: Callable[[Hashable, list], dict], window: float = WINDOW,
                 max_size: int | None = None, max_wait: float = MAX_WAIT, clock=time.monotonic,
                 on_join: Callable[[Hashable, Hashable, int], None] | None = None):
        if isinstance(window, bool) or not isinstance(window, (int, float)) or window < 0:
            raise ValueError("window must be >= 0 seconds, got %r" % (window,))
        self.run_batch = run_batch
        self.window = window
        self.max_size = max_size
        self.max_wait = max_wait
        self.clock = clock
        self.on_join = on_join
        self._open: dict = {}
        self._in_flight: dict = {}          # key -> batches of key running now
        self._lock = threading.Lock()
        self._slot_freed = threading.Condition(self._lock)

    def submit(self, key: Hashable, item_id: Hashable, payload: Any, expected: int = 1,
               runs: int = RUNS, deadline: float | None = None) -> Any:
        """Run ``payload`` in a batch of ``key``; return its value or raise its error. ``expected``:
        how many items of ``key`` were sent on their way with this one (the batch waits for them,
        up to ``max_wait``; once they are all in, it closes after a quiet ``window``, so that work
        that became ready a moment later still joins). ``runs``: how many batches of ``key`` may
        run at once (the first item of a batch decides). ``deadline`` (on ``clock``): the item's
        batch waits for a free run no longer than that."""
        check_runs(runs)
        batch, leader = self._join(key, item_id, payload, expected, runs, deadline)
        if leader:
            self._lead(key, batch)
        else:
            batch.done.wait()
        if item_id in batch.results:
            value = batch.results[item_id]
            if isinstance(value, BaseException):
                raise value
            return value
        if batch.error is not None:
            raise batch.error
        raise RuntimeError("the batch of %r gave no result for %r" % (key, item_id))

    def _join(self, key, item_id, payload, expected: int, runs: int, deadline: float | None) -> tuple:
        with self._lock:
            batch = self._open.get(key)
            leader = batch is None
            if leader:
                batch = self._open[key] = _Batch()
                batch.runs = runs
            batch.items.append((item_id, payload))
            batch.expected = max(batch.expected, expected)
            if deadline is not None and (batch.deadline is None or deadline < batch.deadline):
                batch.deadline = deadline
                self._slot_freed.notify_all()       # a pending leader waits until the new deadline at most
            if self.on_join is not None:
                self.on_join(key, item_id, len(batch.items))
            batch.joined.set()
            if self.max_size is not None and len(batch.items) >= self.max_size:
                self._close(key, batch)
            return batch, leader

    def _close(self, key, batch: _Batch) -> None:
        """Under the lock: no item joins ``batch`` from now on."""
        if not batch.closed:
            batch.closed = True
            batch.full.set()
            if self._open.get(key) is batch:
                del self._open[key]

    def _wait_for_company(self, batch: _Batch) -> None:
        """Until ``window`` passes without a new item, the batch is full, or ``max_wait`` is over."""
        until = self.clock() + self.max_wait
        while not batch.full.is_set():
            batch.joined.clear()
            left = until - self.clock()
            if left <= 0:
                return
            # Items still announced: wait for them (up to max_wait); else for a quiet window.
            waiting_for_more = len(batch.items) < batch.expected
            if not batch.joined.wait(left if waiting_for_more else min(self.window, left)):
                return

    def _wait_for_a_run(self, key, batch: _Batch) -> None:
        """Under the lock: until fewer than ``batch.runs`` batches of ``key`` run, or the batch's
        earliest deadline. Meanwhile the batch stays open: whatever arrives joins it."""
        while self._in_flight.get(key, 0) >= batch.runs:
            if batch.deadline is None:
                self._slot_freed.wait()
                continue
            left = batch.deadline - self.clock()
            if left <= 0:
                return                  # run_batch fails the late items at once (no time left)
            self._slot_freed.wait(left)

    def _lead(self, key, batch: _Batch) -> None:
        self._wait_for_company(batch)
        with self._lock:
            self._wait_for_a_run(key, batch)
            self._close(key, batch)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            batch.results = dict(self.run_batch(key, list(batch.items)) or {})
        except BaseException as exc:  # pylint: disable=broad-except
            # Every thread of the batch gets it, the leader too (it re-raises below).
            batch.error = exc
        finally:
            self._finished(key)
            batch.done.set()

    def _finished(self, key) -> None:
        with self._lock:
            left = self._in_flight[key] = self._in_flight[key] - 1
            if not left:
                del self._in_flight[key]
            self._slot_freed.notify_all()


def check_runs(runs) -> int:
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError("runs (batches of one kind running at once) must be an integer >= 1, got %r" % (runs,))
    return runs
