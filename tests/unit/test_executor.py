# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parallel executor. Ordering is proved with events, never with wall-clock guesses; every
wait has a timeout so that a broken executor fails a test instead of hanging it."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.executor import Executor, Task
from ansible_collections.appgraph.lifecycle.tests.helpers.clock import FakeClock

WAIT = 5.0  # upper bound for an event that must come; only reached when something is broken


class Log:
    """A thread-safe list of what happened, in order."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, item):
        with self.lock:
            self.items.append(item)

    def index(self, item):
        return self.items.index(item)


def run_batches(run, initial, parallelism=4, on_results=None, **kwargs):
    """Run and return (report, the batches on_results was given)."""
    batches = []

    def collect(batch):
        batches.append(batch)
        return on_results(batch) if on_results else []

    executor_kwargs = {k: kwargs.pop(k) for k in ("task_timeout", "clock") if k in kwargs}
    report = Executor(run, parallelism, **executor_kwargs).run(initial, collect, **kwargs)
    return report, batches


def run_all(run, initial, parallelism=4, on_results=None, **kwargs):
    return run_batches(run, initial, parallelism, on_results, **kwargs)[0]


def by_key(report):
    return {r.key: r for r in report.results}


# --- results and errors -------------------------------------------------------------------------

def test_values_come_back_with_times_and_counts():
    report = run_all(lambda task, deadline: task.payload * 2, [Task("a", 1), Task("b", 21)])
    results = by_key(report)
    assert results["b"].ok and results["b"].value == 42 and results["b"].error is None
    assert results["a"].started_at <= results["a"].finished_at
    assert (report.ok, report.failed, report.timed_out, report.cancelled) == (2, 0, 0, 0)
    assert report.makespan == max(r.finished_at for r in report.results) - min(r.started_at for r in report.results)
    assert report.abandoned == [] and report.late_results == 0


def test_an_exception_becomes_a_failed_result_and_the_run_goes_on():
    def run(task, deadline):
        if task.key == "bad":
            raise ValueError("no such package: tomcat9")
        return "fine"

    report = run_all(run, [Task("bad"), Task("good")], on_results=lambda b: [Task("next")] if b[0].key == "bad" else [])
    results = by_key(report)
    assert not results["bad"].ok and results["bad"].value is None
    assert isinstance(results["bad"].error, ValueError)
    assert results["bad"].error_text == "ValueError: no such package: tomcat9"
    assert results["good"].ok and results["next"].ok
    assert (report.ok, report.failed) == (2, 1)


def test_even_system_exit_in_a_task_is_only_a_failed_result():
    def run(task, deadline):
        raise SystemExit(3)

    report = run_all(run, [Task("a")], parallelism=1)
    assert report.results[0].error_text == "SystemExit: 3" and report.failed == 1


def test_an_exception_without_message_is_named_by_its_class():
    def run(task, deadline):
        raise KeyError()

    report = run_all(run, [Task("a")])
    assert report.results[0].error_text == "KeyError"


def test_on_results_runs_on_the_calling_thread():
    threads = set()

    def on_results(batch):
        threads.add(threading.current_thread())
        return [Task(r.key + "+") for r in batch if len(r.key) < 3]

    run_all(lambda task, deadline: None, [Task("a"), Task("b"), Task("c")], on_results=on_results)
    assert threads == {threading.current_thread()}


def test_a_follow_up_is_not_a_task_is_refused():
    with pytest.raises(TypeError, match="expected a Task"):
        run_all(lambda task, deadline: None, [Task("a")], on_results=lambda batch: ["b"])


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_parallelism_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="parallelism must be an integer >= 1, got %r" % (bad,)):
        Executor(lambda task, deadline: None, bad)


def test_task_timeout_must_be_positive():
    with pytest.raises(ValueError, match="task_timeout must be > 0"):
        Executor(lambda task, deadline: None, 1, task_timeout=0)


# --- ordering and parallelism --------------------------------------------------------------------

def test_follow_ups_start_only_after_the_result_that_triggered_them_was_delivered():
    log = Log()

    def run(task, deadline):
        log.add("start " + task.key)

    def on_results(batch):
        for result in batch:
            log.add("delivered " + result.key)
        return [Task(r.key + "/child") for r in batch if "/" not in r.key]

    run_all(run, [Task("a"), Task("b")], on_results=on_results)
    for key in ("a", "b"):
        assert log.index("delivered " + key) < log.index("start %s/child" % key)


def test_the_parallelism_bound_is_reached_and_never_exceeded():
    parallelism = 4
    gate = threading.Barrier(parallelism, timeout=WAIT)  # each group of 4 waits for the others
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def run(task, deadline):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        try:
            gate.wait()  # a stingy executor (fewer than 4 at once) breaks the barrier
        finally:
            with lock:
                state["now"] -= 1

    initial = [Task(i) for i in range(12 * parallelism)]
    report = run_all(run, initial, parallelism=parallelism)
    assert report.ok == len(initial)
    assert state["max"] == parallelism
    assert report.peak_concurrency == parallelism


def test_no_level_barrier_a_follow_up_starts_while_its_slow_peer_still_runs():
    # a and b are the "same level"; c follows b. a refuses to finish before c has started, which a
    # level-by-level scheduler (c waits for all of a's level) could never satisfy.
    c_started = threading.Event()

    def run(task, deadline):
        if task.key == "a":
            return c_started.wait(WAIT)
        if task.key == "c":
            c_started.set()
        return True

    report = run_all(run, [Task("a"), Task("b")], parallelism=3,
                     on_results=lambda batch: [Task("c")] if any(r.key == "b" for r in batch) else [])
    results = by_key(report)
    assert results["a"].value is True, "c had to wait for a: a level barrier"
    assert [r.key for r in report.results] == ["b", "c", "a"]  # completion order


def test_ready_tasks_run_first_in_first_out():
    order = []
    report = run_all(lambda task, deadline: order.append(task.key), [Task("a"), Task("b"), Task("c")],
                     parallelism=1, on_results=lambda batch: [Task("d")] if batch[0].key == "a" else [])
    assert order == ["a", "b", "c", "d"]
    assert [r.key for r in report.results] == order


def test_results_available_together_are_delivered_in_one_batch():
    go = threading.Event()
    returned = [threading.Event() for dummy in range(3)]

    def run(task, deadline):
        if task.key == "gate":
            return None
        assert go.wait(WAIT)
        returned[task.payload].set()

    def on_results(batch):
        if batch[0].key == "gate":
            go.set()
            assert all(e.wait(WAIT) for e in returned)
            time.sleep(0.05)  # the few instructions between a task's return and its result's post
        return []

    batches = run_batches(run, [Task("gate")] + [Task(i, i) for i in range(3)], on_results=on_results)[1]
    assert [sorted(r.key for r in b) for b in batches[1:]] == [[0, 1, 2]]


# --- keys ----------------------------------------------------------------------------------------

def test_a_key_submitted_again_while_queued_runs_once_with_the_latest_payload_in_its_place():
    runs = []
    run_all(lambda task, deadline: runs.append((task.key, task.payload)),
            [Task("x", 1), Task("y"), Task("x", 2)], parallelism=1)
    assert runs == [("x", 2), ("y", None)]


def test_a_follow_up_replaces_the_payload_of_a_queued_key():
    runs = []
    run_all(lambda task, deadline: runs.append((task.key, task.payload)), [Task("a"), Task("x", 1)],
            parallelism=1, on_results=lambda batch: [Task("x", 2)] if batch[0].key == "a" else [])
    assert runs == [("a", None), ("x", 2)]


def test_a_key_submitted_while_running_runs_exactly_once_more_afterwards_never_at_once():
    release = threading.Event()
    lock = threading.Lock()
    running = {"x": 0, "max": 0}
    runs = []

    def run(task, deadline):
        if task.key == "x":
            with lock:
                running["x"] += 1
                running["max"] = max(running["max"], running["x"])
            runs.append(task.payload)
            if task.payload == 1:
                assert release.wait(WAIT)
            with lock:
                running["x"] -= 1
        elif task.key == "releaser":
            release.set()  # dispatched after the follow-ups below were submitted

    def on_results(batch):
        if any(r.key == "b" for r in batch):
            return [Task("x", 2), Task("x", 3), Task("releaser")]
        return []

    report = run_all(run, [Task("x", 1), Task("b")], parallelism=3, on_results=on_results)
    assert runs == [1, 3]
    assert running["max"] == 1
    assert [r.task.payload for r in report.results if r.key == "x"] == [1, 3]


# --- timeouts ------------------------------------------------------------------------------------

def test_a_task_past_its_timeout_is_reported_and_its_slot_freed():
    release = threading.Event()
    ran = []

    def run(task, deadline):
        if task.key == "hang":
            release.wait(WAIT)
        ran.append(task.key)

    try:
        report = run_all(run, [Task("hang"), Task("next")], parallelism=1, task_timeout=0.05)
    finally:
        release.set()
    hang = by_key(report)["hang"]
    assert hang.timed_out and not hang.ok and not hang.cancelled
    assert isinstance(hang.error, TimeoutError)
    assert hang.error_text.startswith("TimeoutError: ran longer than 0.05 s")
    assert hang.finished_at - hang.started_at >= 0.05
    assert ran == ["next"]  # ran while hang's thread was still blocked
    assert report.abandoned == ["hang"]
    assert (report.ok, report.failed, report.timed_out) == (1, 0, 1)


def test_a_late_result_is_dropped_and_counted_and_the_key_never_runs_twice_at_once():
    release, second_started = threading.Event(), threading.Event()
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    payloads = []

    def run(task, deadline):
        if task.key == "tail":  # keeps the run alive until hang's second run has started
            release.set()
            return second_started.wait(WAIT)
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        payloads.append(task.payload)
        if task.payload == 1:
            release.wait(WAIT)
        else:
            second_started.set()
        with lock:
            state["now"] -= 1
        return "late" if task.payload == 1 else "second"

    def on_results(batch):
        if any(r.timed_out for r in batch):
            return [Task("hang", 2), Task("tail")]  # hang 2 is held back while the old thread is busy
        return []

    report = run_all(run, [Task("hang", 1)], parallelism=2, task_timeout=0.2, on_results=on_results)
    assert payloads == [1, 2] and state["max"] == 1
    assert [(r.key, r.timed_out, r.value) for r in report.results if r.key == "hang"] == [
        ("hang", True, None), ("hang", False, "second")]
    assert by_key(report)["tail"].value is True
    assert report.late_results == 1 and report.abandoned == []


def test_a_key_held_behind_a_thread_that_never_ends_is_cancelled():
    release = threading.Event()

    def on_results(batch):
        return [Task("hang", 2)] if batch[0].timed_out else []

    try:
        report = run_all(lambda task, deadline: release.wait(WAIT), [Task("hang", 1)], parallelism=1,
                         task_timeout=0.05, on_results=on_results)
    finally:
        release.set()
    timed_out, held = report.results
    assert timed_out.timed_out and held.cancelled and held.task.payload == 2
    assert "abandoned thread" in held.error_text
    assert report.abandoned == ["hang"]


def test_a_task_is_told_the_earlier_of_its_timeout_and_the_run_deadline():
    clock = FakeClock(100.0)
    seen = {}

    def run(task, deadline):
        seen[task.key] = deadline

    Executor(run, 2, task_timeout=5, clock=clock).run([Task("a")], lambda b: [], deadline=103.0)
    Executor(run, 2, task_timeout=5, clock=clock).run([Task("b")], lambda b: [])
    Executor(run, 2, clock=clock).run([Task("c")], lambda b: [], deadline=103.0)
    Executor(run, 2, clock=clock).run([Task("d")], lambda b: [])
    assert seen == {"a": 103.0, "b": 105.0, "c": 103.0, "d": None}


# --- cancel and deadline -------------------------------------------------------------------------

def test_cancel_stops_dispatching_and_reports_queued_tasks_and_later_follow_ups_as_cancelled():
    cancel = threading.Event()
    ran = []

    def run(task, deadline):
        ran.append(task.key)
        if task.key == "a":
            cancel.set()  # while b and c wait in the queue
        return task.key

    def on_results(batch):
        return [Task("d")] if any(r.key == "a" for r in batch) else []

    report, batches = run_batches(run, [Task("a"), Task("b"), Task("c")], parallelism=1, on_results=on_results,
                                  cancel=cancel)
    assert ran == ["a"]
    results = by_key(report)
    assert results["a"].ok and results["a"].value == "a"  # in flight: awaited, delivered
    for key in "bcd":
        assert results[key].cancelled and not results[key].ok and not results[key].timed_out
        assert results[key].started_at is None and results[key].finished_at is None
        assert results[key].error_text == "cancelled: cancel requested"
    assert [[r.key for r in b] for b in batches] == [["a"], ["b", "c", "d"]]
    assert (report.ok, report.cancelled) == (1, 3)


def test_cancel_set_before_the_run_runs_nothing():
    cancel = threading.Event()
    cancel.set()
    ran = []
    report = run_all(lambda task, deadline: ran.append(task), [Task("a"), Task("b")], cancel=cancel)
    assert ran == [] and report.cancelled == 2 and report.makespan == 0.0


def test_the_deadline_wakes_the_run_while_a_task_still_runs():
    # b waits in the queue behind a; a finishes only when told, by on_results, that b was
    # cancelled: so the executor must wake up at the deadline by itself, not at a's completion.
    release = threading.Event()

    def run(task, deadline):
        return release.wait(WAIT)

    def on_results(batch):
        if any(r.cancelled for r in batch):
            release.set()
        return []

    report, batches = run_batches(run, [Task("a"), Task("b")], parallelism=1, on_results=on_results,
                                  deadline=time.monotonic() + 0.05)
    assert [[(r.key, r.cancelled) for r in b] for b in batches] == [[("b", True)], [("a", False)]]
    assert by_key(report)["a"].value is True
    assert by_key(report)["b"].error_text == "cancelled: deadline passed"


def test_a_deadline_passing_during_a_task_cancels_what_is_queued():
    clock = FakeClock(100.0)

    def run(task, deadline):
        clock.now = 200.0  # the task took "100 s"
        return task.key

    report = run_all(run, [Task("a"), Task("b")], parallelism=1, clock=clock, deadline=150.0,
                     on_results=lambda batch: [Task("c")] if batch[0].key == "a" else [])
    assert [(r.key, r.ok, r.cancelled) for r in report.results] == [
        ("a", True, False), ("b", False, True), ("c", False, True)]
    assert report.makespan == 100.0


def test_a_task_still_running_after_cancel_is_awaited_until_its_timeout_and_reported_abandoned():
    cancel, release = threading.Event(), threading.Event()

    def run(task, deadline):
        cancel.set()
        release.wait(WAIT)

    try:
        report = run_all(run, [Task("a"), Task("b")], parallelism=1, task_timeout=0.05, cancel=cancel)
    finally:
        release.set()
    assert [(r.key, r.timed_out, r.cancelled) for r in report.results] == [("a", True, False), ("b", False, True)]
    assert report.abandoned == ["a"]
