# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: batched
short_description: The linear strategy, with a task's hosts run by a few worker processes instead of one each
version_added: 0.1.0
author: appgraph.lifecycle contributors (!UNKNOWN)
description:
  - Runs plays as C(ansible.builtin.linear) does (every host finishes a task before any host starts the
    next one; failures, handlers, C(run_once), loops, registered variables and facts behave the same),
    but a task's hosts are not each given a forked worker process. They are handed, once all of them
    are queued, to a few worker processes (one per CPU, or one per 16 hosts when there are more),
    where each host's task runs in a thread of its own, at most C(forks) at once in all.
  - Forking a worker costs the controller tens of milliseconds of CPU per host and task (the fork and
    the copy-on-write of the parent's memory it brings about), which is most of the time of a trivial
    task over many hosts. The C(appgraph.lifecycle) C(ansible) installer runs its batches of instances
    with this strategy, whose hosts are the instances of one component.
  - A task with C(throttle) runs as C(ansible.builtin.linear) runs it, one worker per host.
notes:
  - Interactive prompts (C(ansible.builtin.pause) without C(seconds), a connection password) are not
    meant for the runs this strategy is made for; they reach the worker of the task's first host only.
"""

import copy
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible._internal import _task
from ansible.executor.process import worker as worker_module
from ansible.executor.process.worker import WorkerProcess
from ansible.executor.task_executor import TaskExecutor
from ansible.executor.task_result import _RawTaskResult
from ansible.plugins.loader import PluginLoader, get_plugin_loader_namespace
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategy
from ansible.utils.display import Display
from ansible import context

display = Display()

HOSTS_PER_WORKER = 16       # hosts of a task run by one worker process, at most


def serialise_plugin_loading() -> None:
    """In this (forked worker) process only: one thread at a time loads a plugin's module. Ansible
    loads plugins lazily and not thread-safely: a second thread would find the first one's module
    in ``sys.modules`` before its code ran ("has no attribute 'LookupModule'")."""
    lock = threading.RLock()
    load = PluginLoader._load_module_source

    def locked(self, *args, **kwargs):
        with lock:
            return load(self, *args, **kwargs)

    PluginLoader._load_module_source = locked


class HostsWorker(WorkerProcess):
    """One forked worker running one task for many hosts, each in a thread (``threads`` at once)."""

    def __init__(self, items: list, threads: int, **kwargs):
        host, task, task_vars, play_context = items[0]
        super().__init__(task_vars=task_vars, host=host, task=task, play_context=play_context, **kwargs)
        self._items = items
        self._threads = threads

    def _run(self) -> None:
        worker_module.current_worker = self             # what a prompt would answer to
        serialise_plugin_loading()
        with ThreadPoolExecutor(max_workers=self._threads) as pool:
            for _done in pool.map(self._run_host, self._items):
                pass

    def _run_host(self, item) -> None:
        host, task, task_vars, play_context = item
        # The executor templates the task's fields in place, and the loader's base directory moves
        # while it looks for files: each thread gets copies of its own (a forked worker gets both
        # by the fork).
        task = task.copy(exclude_tasks=True)
        loader = copy.copy(self._loader)
        try:
            with _task.TaskContext(task):
                result = TaskExecutor(host, task, task_vars, play_context, loader, self._shared_loader_obj,
                                      self._final_q, self._variable_manager).run()
        except BaseException as exc:  # pylint: disable=broad-except
            result = {"failed": True, "msg": "the task failed in its worker thread: %s: %s" % (type(exc).__name__, exc)}
        self._final_q.send_task_result(_RawTaskResult(host=host, task=task, return_data=result,
                                                      task_fields=task.dump_attrs()))


class StrategyModule(LinearStrategy):
    """Linear, with the hosts of a task held until all are queued, then run by ``HostsWorker``s."""

    def __init__(self, tqm):
        super().__init__(tqm)
        self._held: list = []

    def _queue_task(self, host, task, task_vars, play_context):
        if task.throttle not in (0, None, "0", ""):
            self._start_held()
            return super()._queue_task(host, task, task_vars, play_context)
        self._queued_task_cache[(host.name, task._uuid)] = {
            "host": host, "task": task, "task_vars": task_vars, "play_context": play_context}
        self._tqm.send_callback("v2_runner_on_start", host, task)
        self._held.append((host, task, task_vars, play_context))
        self._pending_results += 1
        return None

    def _process_pending_results(self, iterator, one_pass=False, max_passes=None):
        # The linear host loop calls this after each host it queued, with max_passes: the hosts are
        # still being queued then. Every other caller waits for results: they start first.
        if max_passes is None or one_pass:
            self._start_held()
        return super()._process_pending_results(iterator, one_pass=one_pass, max_passes=max_passes)

    def _wait_on_pending_results(self, iterator):
        self._start_held()
        return super()._wait_on_pending_results(iterator)

    def _start_held(self) -> None:
        held, self._held = self._held, []
        if not held:
            return
        forks = max(1, len(self._workers))
        # Enough processes for every CPU, and at most HOSTS_PER_WORKER hosts each: a task whose
        # work is Python in the worker (building a module's payload, templating) is held to one
        # CPU per process by the GIL.
        processes = min(forks, len(held), max(os.cpu_count() or 1, -(-len(held) // HOSTS_PER_WORKER)))
        threads = max(1, -(-min(forks, len(held)) // processes))
        for index in range(processes):
            items = held[index::processes]
            slot = self._free_slot()
            worker = HostsWorker(items, threads, final_q=self._final_q, loader=self._loader,
                                 variable_manager=self._variable_manager,
                                 shared_loader_obj=get_plugin_loader_namespace(), worker_id=slot,
                                 cliargs=context.CLIARGS)
            self._workers[slot] = worker
            worker.start()

    def _free_slot(self) -> int:
        """A slot of the worker list whose worker is gone (a throttled task's may still run)."""
        waited = threading.Event()
        while True:
            for slot, worker in enumerate(self._workers):
                if worker is None or not worker.is_alive():
                    if worker is not None:
                        worker.close()
                        self._workers[slot] = None
                    return slot
            waited.wait(0.001)
