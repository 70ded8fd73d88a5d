# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run tasks in worker threads with bounded parallelism; the caller reacts to their results.

The executor knows nothing of what a task means. The caller hands it the first tasks and a
callback; each time results come in, the callback (always on the thread that called ``run()``, so
the caller's state stays single-threaded) gets every result available at that moment and returns
follow-up tasks. A task is dispatched as soon as a slot is free: there is no level barrier.

Tasks are identified by key, as a controller's work queue holds object keys:
- a key never runs twice at once;
- submitting a key that is queued replaces its payload (it still runs once, in its place in line);
- submitting a key that is running queues exactly one more run, after the current one.

A task that runs past ``task_timeout`` is reported as timed out and its slot is given to another
worker thread; the late thread is abandoned (a daemon thread) and whatever it returns is dropped.
When the run's deadline passes or ``cancel`` is set, nothing more is dispatched: every queued task,
and every follow-up returned from then on, is reported as cancelled; tasks in flight are awaited.
"""

from __future__ import annotations

import _thread
import queue
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable

from .errors import describe


@dataclass(frozen=True)
class Task:
    """One unit of work: ``key`` is its identity (e.g. ``("start", "/vm 1/tomcat")``)."""

    key: Hashable
    payload: Any = None


@dataclass
class TaskResult:
    """What became of one task. ``ok`` is true only when it ran and returned normally."""

    task: Task
    ok: bool
    value: Any = None
    error: BaseException | None = None
    error_text: str = ""  # "ClassName: message", ready for a log line or an event
    started_at: float | None = None  # clock time of dispatch; None when never dispatched
    finished_at: float | None = None  # clock time of the end (or of the timeout)
    timed_out: bool = False  # ran past its timeout; its thread was abandoned
    cancelled: bool = False  # never dispatched: the caller reverts what it announced

    @property
    def key(self) -> Hashable:
        return self.task.key


@dataclass
class RunReport:
    """The outcome of one ``Executor.run()``."""

    results: list[TaskResult] = field(default_factory=list)  # in the order they were delivered
    peak_concurrency: int = 0  # most tasks holding a slot at once
    abandoned: list[Hashable] = field(default_factory=list)  # timed out, thread still busy at the end
    late_results: int = 0  # abandoned threads that finished during the run (their result dropped)

    @property
    def makespan(self) -> float:
        """From the first dispatch to the last finish (0.0 when nothing ran)."""
        starts = [r.started_at for r in self.results if r.started_at is not None]
        ends = [r.finished_at for r in self.results if r.finished_at is not None]
        return max(ends) - min(starts) if starts and ends else 0.0

    # The four counts add up to len(results).
    @property
    def ok(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not (r.ok or r.timed_out or r.cancelled))

    @property
    def timed_out(self) -> int:
        return sum(1 for r in self.results if r.timed_out)

    @property
    def cancelled(self) -> int:
        return sum(1 for r in self.results if r.cancelled)


class Executor:
    """Runs tasks with ``run(task, task_deadline)`` in at most ``parallelism`` threads at once.

    ``task_deadline`` is the absolute clock time by which the task should stop by itself (the
    earlier of its timeout and the run's deadline), or None; cooperative code such as a
    subprocess call uses it as its own timeout. An executor may be reused, one run at a time.
    """

    def __init__(self, run: Callable[[Task, float | None], Any], parallelism: int = 10,
                 task_timeout: float | None = None, clock: Callable[[], float] = time.monotonic):
        if isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 1:
            raise ValueError("parallelism must be an integer >= 1, got %r" % (parallelism,))
        if task_timeout is not None and not task_timeout > 0:
            raise ValueError("task_timeout must be > 0 seconds or None, got %r" % (task_timeout,))
        self.run_task = run
        self.parallelism = parallelism
        self.task_timeout = task_timeout
        self.clock = clock

    def run(self, initial: Iterable[Task], on_results: Callable[[list[TaskResult]], Iterable[Task] | None],
            deadline: float | None = None, cancel: threading.Event | None = None) -> RunReport:
        """Run ``initial`` and every follow-up until none is left; return the report.

        ``deadline`` is a clock time. An exception raised by ``on_results`` propagates; tasks
        still in flight then finish in their daemon threads and their results are dropped.
        """
        return _Run(self, on_results, deadline, cancel).loop(initial)


class _Flight:
    """A dispatched task, shared by the caller's thread and one worker thread."""

    __slots__ = ("task", "started_at", "timeout_at", "deadline", "finished_at", "value", "error",
                 "done", "abandoned")

    def __init__(self, task: Task, started_at: float, timeout_at: float | None, deadline: float | None):
        self.task = task
        self.started_at = started_at
        self.timeout_at = timeout_at  # when the executor gives up on it
        self.deadline = deadline  # what the task is told
        self.finished_at: float | None = None
        self.value: Any = None
        self.error: BaseException | None = None
        # Both guarded by the run's lock: whichever side comes first decides whether the result
        # is delivered (done) or dropped as late (abandoned).
        self.done = False
        self.abandoned = False


def _work(run_task: Callable, clock: Callable[[], float], inbox: queue.SimpleQueue,
          outbox: queue.SimpleQueue, lock: threading.Lock) -> None:
    """A worker thread: run flights from ``inbox`` until it gets None or is abandoned."""
    while True:
        flight = inbox.get()
        if flight is None:
            return
        try:
            flight.value = run_task(flight.task, flight.deadline)
        except BaseException as exc:  # pylint: disable=broad-except
            # Even SystemExit: a dead worker would leave the run waiting for a result forever.
            flight.error = exc
        flight.finished_at = clock()
        with lock:
            flight.done = True
            outbox.put(flight)  # under the lock, so "done" always means "already in the outbox"
            if flight.abandoned:
                return  # a replacement thread has taken this slot


class _Run:
    """The state of one ``Executor.run()``, touched only by the caller's thread."""

    def __init__(self, executor: Executor, on_results: Callable, deadline: float | None,
                 cancel: threading.Event | None):
        self.ex = executor
        self.on_results = on_results
        self.deadline = deadline
        self.cancel = cancel
        self.stop_reason: str | None = None
        self.queued: OrderedDict[Hashable, Task] = OrderedDict()  # ready to run, FIFO
        self.again: dict[Hashable, Task] = {}  # to run once more when the current run of the key ends
        self.running: dict[Hashable, _Flight] = {}
        self.zombies: dict[Hashable, _Flight] = {}  # timed out, thread still busy
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.outbox: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.workers = 0  # live (not abandoned) worker threads; always >= len(self.running)
        self.report = RunReport()

    def loop(self, initial: Iterable[Task]) -> RunReport:
        self.submit(initial)
        try:
            while True:
                batch = self.step()
                if batch is None:
                    return self.report
                if batch:
                    self.deliver(batch)
        finally:
            for dummy in range(self.workers):
                self.inbox.put(None)  # idle workers exit; busy ones after their task
            self.report.abandoned = list(self.zombies)

    def step(self) -> list[TaskResult] | None:
        """Dispatch what may run, then wait for the next batch of results (None: all done)."""
        if self.stopping():
            batch = self.cancel_all(self.queued, self.stop_reason)
        else:
            self.dispatch()
            batch = []
        if batch:
            return batch
        if not self.running:
            # Nothing is queued either (dispatch would have run it). What may be left is a key
            # held back because its abandoned thread is still busy: it can never run safely.
            return self.cancel_all(self.again, "its previous run is still busy in an abandoned thread") or None
        return self.collect()

    def stopping(self) -> bool:
        # The cancel event is checked at every wake-up rather than watched by a thread: nothing can
        # be dispatched between wake-ups, and in-flight tasks are awaited anyway, so a cancel seen
        # at the next completion (or timeout, or deadline) changes neither what runs nor when
        # run() returns.
        if self.stop_reason is None:
            if self.cancel is not None and self.cancel.is_set():
                self.stop_reason = "cancel requested"
            elif self.deadline is not None and self.ex.clock() >= self.deadline:
                self.stop_reason = "deadline passed"
        return self.stop_reason is not None

    def submit(self, tasks: Iterable[Task]) -> None:
        for task in tasks:
            if not isinstance(task, Task):
                raise TypeError("expected a Task, got %r" % (task,))
            if task.key in self.running or task.key in self.zombies:
                self.again[task.key] = task  # one more run, with the latest payload
            else:
                self.queued[task.key] = task  # an OrderedDict keeps a re-submitted key in its place

    def dispatch(self) -> None:
        while self.queued and len(self.running) < self.ex.parallelism:
            _key, task = self.queued.popitem(last=False)
            self.start(task)

    def start(self, task: Task) -> None:
        now = self.ex.clock()
        timeout_at = None if self.ex.task_timeout is None else now + self.ex.task_timeout
        flight = _Flight(task, now, timeout_at, _earliest(timeout_at, self.deadline))
        self.running[task.key] = flight
        self.report.peak_concurrency = max(self.report.peak_concurrency, len(self.running))
        self.inbox.put(flight)
        if self.workers < len(self.running):
            self.workers += 1
            # Not threading.Thread: its start() waits until the new thread has been scheduled, and
            # on a busy host that wait (up to milliseconds each) delayed a burst of ready tasks one
            # after the other (measured: 1.12 -> 1.03 x critical path). A thread started this way
            # is like a daemon thread: never joined, so an abandoned one cannot block the exit.
            _thread.start_new_thread(_work, (self.ex.run_task, self.ex.clock, self.inbox, self.outbox, self.lock))

    def collect(self) -> list[TaskResult]:
        """Wait for a result, a task timeout or the deadline; return every result there is."""
        try:
            flights = [self.outbox.get(timeout=self.wait_time())]
        except queue.Empty:
            flights = []
        while True:  # drain: one on_results call per batch, not per result
            try:
                flights.append(self.outbox.get_nowait())
            except queue.Empty:
                break
        batch = [result for result in map(self.finish, flights) if result is not None]
        return batch + self.expire()

    def wait_time(self) -> float | None:
        ends = [f.timeout_at for f in self.running.values() if f.timeout_at is not None]
        if self.deadline is not None and self.stop_reason is None:
            ends.append(self.deadline)
        return max(0.0, min(ends) - self.ex.clock()) if ends else None

    def finish(self, flight: _Flight) -> TaskResult | None:
        key = flight.task.key
        if flight.abandoned:
            self.report.late_results += 1
            del self.zombies[key]
            self.release(key)
            return None
        del self.running[key]
        self.release(key)
        if flight.error is None:
            return TaskResult(flight.task, True, flight.value, None, "", flight.started_at, flight.finished_at)
        return TaskResult(flight.task, False, None, flight.error, describe(flight.error),
                          flight.started_at, flight.finished_at)

    def release(self, key: Hashable) -> None:
        """The key's thread is free: its held-back run, if any, joins the end of the line."""
        task = self.again.pop(key, None)
        if task is not None:
            self.queued[key] = task

    def expire(self) -> list[TaskResult]:
        now = self.ex.clock()
        batch = []
        for key, flight in list(self.running.items()):
            if flight.timeout_at is None or now < flight.timeout_at:
                continue
            with self.lock:
                if flight.done:
                    continue  # finished just in time; its result is in the outbox
                flight.abandoned = True
            del self.running[key]
            self.zombies[key] = flight
            self.workers -= 1  # that thread leaves when its task ends; start() makes a new one
            error = TimeoutError("ran longer than %g s; its thread was abandoned" % self.ex.task_timeout)
            batch.append(TaskResult(flight.task, False, None, error, describe(error), flight.started_at, now,
                                    timed_out=True))
        return batch

    def cancel_all(self, tasks: dict[Hashable, Task], reason: str) -> list[TaskResult]:
        batch = [TaskResult(task, False, error_text="cancelled: %s" % reason, cancelled=True)
                 for task in tasks.values()]
        tasks.clear()
        return batch

    def deliver(self, batch: list[TaskResult]) -> None:
        self.report.results.extend(batch)
        self.submit(self.on_results(batch) or ())


def _earliest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None
