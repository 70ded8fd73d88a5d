# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A process killed (kill -9) in the middle loses nothing: the store says what exists, and the next
pass, or the same claim again, finishes the work.

- between the claim and the migration: a claim of a ``stopped`` reserve's clone is killed while it
  starts the clone; the next pass migrates the clone (its lease and its instance's lease belong to
  a dead process), the same claim again starts it; nobody else ever gets it;
- in the middle of a refill: killed while a clone is being built; the next pass finishes it;
- inside the migration's transaction: it rolls back whole (the rename and the state together).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves import clones as clone_steps
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.service import ReserveService
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import reserves as sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.latency import latency_installers

from .helpers import SLOW_APP

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
SLOW = 60          # seconds each operation of the worker's latency installer takes: it is killed long before


@pytest.fixture
def slow(tmp_path):
    path = tmp_path / "slow.app.yml"
    path.write_text(SLOW_APP % SLOW, encoding="utf-8")
    return str(path)


@pytest.fixture
def quick(dsn, provider, clock):
    """A service whose latency installer does not wait (the reruns of this process)."""
    def registry():
        factory = {"provider_factory": lambda _n, _o: provider}
        return latency_installers(sleep=lambda _s: None, server=factory)
    return ReserveService(dsn, provider_factory=lambda _n, _o: provider, clock=clock, registry=registry)


def spawn(dsn, reserve, job):
    return subprocess.Popen([sys.executable, WORKER, dsn, reserve, json.dumps(job)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def kill_when(proc, condition, timeout=60):
    """kill -9 ``proc`` as soon as ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the worker ended early: %s" % proc.stderr.read()
        assert time.monotonic() < deadline, "the worker never got there"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def instance(dsn, application, path):
    with Store(dsn) as store:
        row = store.instance_rows(application).get(path)
        return row.state.state if row else None


def clone_row(dsn, name):
    with Store(dsn) as store:
        return sql.clone_named(store.db, name)


def test_killed_between_claim_and_migration_then_finished(quick, dsn, name, slow):
    settings = {"full_size": 2, "pool_state": "stopped"}
    quick.ensure(name, settings, provider="instant", src=slow)
    clone, alias = name + "-clone-1", name + "-acme"
    worker = spawn(dsn, name, {"claim": [alias]})
    kill_when(worker, lambda: instance(dsn, clone, "/vm/site") == "starting")
    row = clone_row(dsn, clone)
    assert (row.state, row.alias, row.application) == ("claimed", alias, clone)     # claimed, not migrated
    assert row.lease_owner and ":%d:" % worker.pid in row.lease_owner              # by a process that is gone

    result = quick.ensure(name, settings, provider="instant", src=slow)          # the rerun
    assert result["migrated"] == [{"name": clone, "alias": alias}] and result["failed"] == []
    assert result["counts"] == {"migrated": 1, "ready": 2}                       # a new one replaced it
    assert instance(dsn, clone, "/vm/site") is None                              # renamed whole
    again = quick.claim(name, alias)                                             # the claim again: the same clone
    assert again["server"]["name"] == clone and again["claim"] == "existing" and again["changed"]
    assert instance(dsn, alias, "/vm/site") == "deployed_started"
    assert quick.claim(name, name + "-bob")["server"]["name"] != clone


def test_killed_in_the_middle_of_a_refill_then_finished(quick, dsn, name, slow, provider):
    settings = {"full_size": 1}
    worker = spawn(dsn, name, {"ensure": settings, "src": slow})
    clone = name + "-clone-1"
    kill_when(worker, lambda: instance(dsn, clone, "/vm/site") == "deploying")
    assert clone_row(dsn, clone).state == "building"
    result = quick.ensure(name, settings, provider="instant", src=slow)
    assert result["resumed"] == [clone] and result["built"] == [] and result["failed"] == []
    assert clone_row(dsn, clone).state == "ready" and instance(dsn, clone, "/vm/site") == "deployed_started"


def test_a_failure_inside_the_migration_rolls_it_back_whole(service, dsn, name, site, monkeypatch):
    service.ensure(name, {"full_size": 1}, provider="instant", src=site)
    service.claim(name, name + "-acme")
    real = clone_steps.move

    def crash(tx, clone, state, *args, **columns):
        if state == "migrated":
            raise RuntimeError("power cut")
        return real(tx, clone, state, *args, **columns)

    monkeypatch.setattr(clone_steps, "move", crash)
    with pytest.raises(RuntimeError):
        service.ensure(name, {"full_size": 1}, provider="instant", src=site)
    row = clone_row(dsn, name + "-clone-1")
    assert (row.state, row.application) == ("claimed", name + "-clone-1")
    assert instance(dsn, name + "-clone-1", "/vm/site") == "deployed_started"
    assert instance(dsn, name + "-acme", "/vm/site") is None
    monkeypatch.setattr(clone_steps, "move", real)
    assert service.ensure(name, {"full_size": 1}, provider="instant", src=site)["migrated"][0]["alias"] \
        == name + "-acme"
