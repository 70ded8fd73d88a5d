# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server rows and flows: with an in-memory provider (a fake clock, no waiting) and with the real
``local`` provider (real agents, stopped by every test that starts them)."""

from __future__ import annotations

import os
import sqlite3
import time
import uuid

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers import flows as sv
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import PermanentError, TransientError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.names import safe_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InstallerError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.base import OperationContext
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.server import (
    ServerInstaller, server_name)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.application import Component
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider, pid_alive
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.registry import get_provider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.migrations import MIGRATIONS
from ansible_collections.appgraph.lifecycle.tests.helpers.clock import FakeClock
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

DEADLINE = 10.0   # seconds of real time for the local provider; never reached when things work


@pytest.fixture
def dsn(tmp_path):
    return str(tmp_path / "store.db")


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake():
    return FakeProvider()


def service_for(dsn, fake, clock, **kwargs):
    return sv.ServerService(dsn, provider_factory=lambda name, options: fake, clock=clock, sleep=clock.sleep,
                            **kwargs)


@pytest.fixture
def service(dsn, fake, clock):
    return service_for(dsn, fake, clock)


def events(dsn, name=None):
    with Store(dsn) as store:
        return [e for e in store.events() if name is None or e.subject == name]


def kinds(dsn, name=None):
    return [e.kind for e in events(dsn, name)]


def start(service, name="web-1", **kwargs):
    kwargs.setdefault("provider_options", {"zone": "a"})
    return service.start(name, kwargs.pop("server_type", "small"), "fake", tags={"pool": "small"}, **kwargs)


# -- schema ----------------------------------------------------------------------------------------

def test_migration_2_adds_the_servers_table_to_a_version_1_store(tmp_path):
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for statement in MIGRATIONS[1]["sqlite"]:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.schema_version() >= 2
        columns = [row[1] for row in store.db.query("PRAGMA table_info(servers)")]
        indexes = {row[1] for row in store.db.query("PRAGMA index_list(servers)")}
    for column in ("id", "name", "server_type", "provider", "provider_identity", "provider_id", "client_token",
                   "status", "previous_status", "address", "tags", "application", "instance_path", "error",
                   "created_at", "updated_at", "status_changed_at", "reboot_requested"):
        assert column in columns
    assert {"servers_pool", "servers_account"} <= indexes


# -- start -----------------------------------------------------------------------------------------

def test_start_polls_with_backoff_doubling_to_20_seconds(service, fake, clock, dsn):
    fake.polls["has_started"] = 8
    row = start(service)
    assert clock.sleeps == [1, 2, 4, 8, 16, 20, 20, 20]
    assert (row.status, row.address, row.provider_id) == ("running", "10.0.0.1", "id-web-1")
    assert row.provider_identity == "fake:account" and row.tags == {"pool": "small"}
    assert kinds(dsn, "web-1") == ["creating", "starting", "running"]
    last = events(dsn, "web-1")[-1].data
    assert (last["status"], last["previous"], last["address"]) == ("running", "starting", "10.0.0.1")


def test_the_row_and_its_token_exist_before_the_provider_is_asked(service, fake, dsn):
    rows_seen_at_create = []

    def look(spec):
        with Store(dsn) as store:
            rows_seen_at_create.append(store.db.query(
                "SELECT status, client_token FROM servers WHERE name = ?", (spec.name,))[0])

    fake.on_create = look
    row = start(service)
    assert rows_seen_at_create == [("new", row.client_token)]
    assert row.client_token == sv.client_token(row.fleet, "web-1", 0) != sv.client_token(None, "web-1", 0)
    assert fake.server_calls()[0] == ("create_server", row.client_token)


def test_a_deadline_is_never_slept_past(service, fake, clock):
    fake.polls["has_started"] = 100
    began = clock.now
    with pytest.raises(InstallerError, match="still starting"):
        start(service, deadline=began + 10)
    assert clock.sleeps == [1, 2, 4, 3]
    assert clock.now == began + 10
    assert service.get("web-1").status == "starting"


def test_a_provider_exception_makes_the_row_errored_and_a_retry_adopts(service, fake, dsn):
    fake.fail["has_started"] = [RuntimeError("quota exceeded")]
    with pytest.raises(InstallerError) as error:
        start(service)
    assert "RuntimeError: quota exceeded" in str(error.value) and "web-1" in str(error.value)
    row = service.get("web-1")
    assert (row.status, row.previous_status, row.error) == ("errored", "starting", "RuntimeError: quota exceeded")
    assert events(dsn, "web-1")[-1].kind == "errored"
    assert events(dsn, "web-1")[-1].data["error"] == "RuntimeError: quota exceeded"
    again = start(service)
    assert again.status == "running" and again.error is None
    assert [c for c in fake.calls if c[0] == "create_server"] == [("create_server", row.client_token)] * 2
    assert len(fake.servers) == 1


def test_a_failed_create_is_errored_and_retried_with_the_same_token(service, fake):
    fake.fail["create_server"] = [ValueError("no such image")]
    with pytest.raises(InstallerError, match="create_server failed .*ValueError: no such image"):
        start(service)
    row = service.get("web-1")
    assert (row.status, row.previous_status, row.provider_id) == ("errored", "new", None)
    assert start(service).status == "running"
    assert {c[1] for c in fake.calls if c[0] == "create_server"} == {row.client_token}


def test_transient_errors_are_retried_with_backoff(service, fake, clock):
    fake.fail["create_server"] = [TransientError("throttled", retry_after=5), TransientError("throttled")]
    assert start(service).status == "running"
    assert clock.sleeps == [5, 2]


def test_an_unknown_provider_writes_nothing(dsn):
    service = sv.ServerService(dsn)
    with pytest.raises(InstallerError, match="unknown provider 'nowhere'"):
        service.start("web-1", "small", "nowhere")
    with pytest.raises(InstallerError, match="heartbeat"):
        service.start("web-1", "small", "local", {"heartbeat": 1})
    assert service.get("web-1") is None and events(dsn) == []


def test_start_of_a_running_server_does_nothing(service, fake, dsn):
    first = start(service)
    calls = len(fake.server_calls())
    assert start(service) == first
    assert len(fake.server_calls()) == calls and kinds(dsn) == ["creating", "starting", "running"]


def test_a_server_cannot_silently_move_to_another_provider(service, dsn, clock):
    start(service)
    other = FakeProvider(identity="fake:elsewhere")
    with pytest.raises(InstallerError, match="exists at provider fake"):
        service_for(dsn, other, clock).start("web-1", "small", "fake")


# -- hanging ---------------------------------------------------------------------------------------

def test_a_flow_without_deadline_marks_the_row_hanging(dsn, fake, clock):
    service = service_for(dsn, fake, clock, hanging_after=60)
    fake.polls["has_started"] = 1000
    with pytest.raises(InstallerError, match="hanging: still starting after"):
        start(service)
    row = service.get("web-1")
    assert (row.status, row.previous_status) == ("hanging", "starting")
    assert kinds(dsn, "web-1")[-1] == "hanging"
    assert sum(clock.sleeps) >= 60


def test_mark_hanging_then_resume(service, fake, clock, dsn):
    fake.polls["has_started"] = 1000
    with pytest.raises(InstallerError):
        start(service, deadline=clock.now + 5)
    since = service.get("web-1").status_changed_at
    assert service.mark_hanging(now=since + 599) == []
    [marked] = service.mark_hanging(now=since + 600)
    assert (marked.status, marked.previous_status) == ("hanging", "starting")
    assert "still starting" in marked.error
    fake.polls["has_started"] = 0
    row = start(service)
    assert row.status == "running" and len(fake.servers) == 1
    assert kinds(dsn, "web-1") == ["creating", "starting", "hanging", "starting", "running"]


# -- stop and delete -------------------------------------------------------------------------------

def test_stop_and_delete_walks_every_status(service, fake, clock, dsn):
    start(service)
    fake.polls.update(has_stopped=2, has_been_deleted=1)
    clock.sleeps.clear()
    row = service.stop_and_delete("web-1")
    assert row.status == "deleted" and fake.servers == {}
    assert kinds(dsn, "web-1")[3:] == ["stopping", "stopped", "deleting", "deleted"]
    assert clock.sleeps == [1, 2, 1]
    assert [c[0] for c in fake.calls[-7:]] == ["stop_server", "has_stopped", "has_stopped", "has_stopped",
                                               "delete_server", "has_been_deleted", "has_been_deleted"]
    assert service.stop_and_delete("web-1").status == "deleted"      # again: nothing to do
    assert service.stop_and_delete("never-made") is None


def test_a_deleted_server_made_again_gets_the_next_token(service, fake, dsn):
    first = start(service)
    service.stop_and_delete("web-1")
    again = start(service, server_type="large")
    assert (again.generation, again.status, again.server_type) == (1, "running", "large")
    assert again.client_token == sv.client_token(again.fleet, "web-1", 1) != first.client_token
    assert again.id == first.id and again.provider_id == "id-web-1"
    assert kinds(dsn, "web-1")[-3:] == ["creating", "starting", "running"]


def test_stop_of_a_row_never_created_at_the_provider(service, fake, dsn):
    fake.fail["create_server"] = [RuntimeError("down")]
    with pytest.raises(InstallerError):
        start(service)
    assert service.stop_and_delete("web-1").status == "deleted"
    assert "stop_server" not in [c[0] for c in fake.calls]


def test_start_during_a_teardown_finishes_it_then_makes_a_new_server(service, fake, clock):
    start(service)
    fake.polls["has_stopped"] = 100
    with pytest.raises(InstallerError, match="still stopping"):
        service.stop_and_delete("web-1", deadline=clock.now + 3)
    fake.polls["has_stopped"] = 0
    row = start(service)
    assert (row.status, row.generation) == ("running", 1)


# -- reboot and verify -----------------------------------------------------------------------------

def test_reboot(service, fake, dsn):
    start(service)
    fake.answered.clear()
    fake.polls["has_started"] = 1                  # once rebooted, one "not yet" first
    row = service.reboot("web-1")
    assert row.status == "running" and not row.reboot_requested
    assert ("reboot_server", "id-web-1") in fake.calls
    assert kinds(dsn, "web-1")[-2:] == ["rebooting", "running"]
    with pytest.raises(InstallerError, match="no server named"):
        service.reboot("absent")


def test_verify_pending_moves_rows_one_step_each(service, fake, clock, dsn):
    start(service, "web-2")
    fake.polls["has_started"] = 100
    with pytest.raises(InstallerError):
        start(service, deadline=clock.now + 2)
    fake.polls["has_stopped"] = 100
    with pytest.raises(InstallerError):
        service.stop_and_delete("web-2", deadline=clock.now + 2)
    assert service.verify_pending() == []              # nothing is ready yet
    fake.polls.update(has_started=0, has_stopped=0)
    changed = {row.name: row.status for row in service.verify_pending()}
    assert changed == {"web-1": "running", "web-2": "stopped"}
    assert {row.name: row.status for row in service.verify_pending()} == {"web-2": "deleting"}
    assert {row.name: row.status for row in service.verify_pending()} == {"web-2": "deleted"}
    assert service.verify_pending() == []


def test_a_reboot_asked_while_starting_is_done_by_verify_pending(service, fake, clock, dsn):
    fake.polls["has_started"] = 100
    with pytest.raises(InstallerError):
        start(service, deadline=clock.now + 2)
    with pytest.raises(InstallerError, match="still starting"):
        service.reboot("web-1", deadline=clock.now + 2)
    assert service.get("web-1").reboot_requested
    fake.polls["has_started"] = 0
    assert [r.status for r in service.verify_pending()] == ["running"]
    assert [r.status for r in service.verify_pending()] == ["rebooting"]
    assert ("reboot_server", "id-web-1") in fake.calls
    assert [r.status for r in service.verify_pending()] == ["running"]
    assert not service.get("web-1").reboot_requested


def test_rows_lists_by_pool_and_status(service):
    start(service, "a-1", server_type="a")
    start(service, "b-1", server_type="b")
    service.stop_and_delete("b-1")
    assert [r.name for r in service.rows()] == ["a-1", "b-1"]
    assert [r.name for r in service.rows(server_type="a")] == ["a-1"]
    assert [r.name for r in service.rows(statuses=("starting", "running", "rebooting"))] == ["a-1"]
    assert service.rows(statuses=[]) == []
    assert "provider_options" not in service.get("a-1").as_dict()


def test_safe_names():
    assert safe_name("shop", "/vm 1/web").startswith("shop-vm-1-web-")
    assert safe_name("shop", "/a b") != safe_name("shop", "/a-b")
    long = safe_name("x" * 300, "/y")
    assert len(long) == 100 and long[0].isalnum()
    assert safe_name("../..", "/").startswith("s-")


# -- the real local provider -----------------------------------------------------------------------

class Crash(BaseException):
    """The controller dies here (not an Exception: nothing may catch it as a provider failure)."""


def crashing_factory(name, options):
    """The local provider, whose create_server makes the server and then the controller dies."""
    provider = get_provider(name, options)
    real = provider.create_server

    def create_then_crash(spec):
        real(spec)
        raise Crash()

    provider.create_server = create_then_crash
    return provider


def local_service(dsn, sleep=time.sleep, provider_factory=get_provider):
    return sv.ServerService(dsn, provider_factory=provider_factory, sleep=sleep, backoff_initial=0.01,
                            backoff_max=0.05)


def store_local(dsn, root):
    """The local provider as the store at ``dsn`` sees it: its fleet's servers."""
    with Store(dsn) as store:
        return LocalProvider(**local_options(root)).use_fleet(store.fleet)


def local_options(root):
    return {"root": root, "heartbeat_interval": 0.5}


def test_local_start_and_stop_and_delete(dsn, local_root):
    service = local_service(dsn)
    row = service.start("web-1", "small", "local", local_options(local_root), tags={"pool": "small"},
                        application="shop", instance_path="/vm", deadline=time.time() + DEADLINE)
    assert (row.status, row.address, row.provider_id) == ("running", "127.0.0.1", "web-1")
    provider = store_local(dsn, local_root)
    [server] = provider.list_servers()
    assert server.client_token == row.client_token and server.tags == {"pool": "small", "appgraph_fleet": row.fleet}
    pid = server.extra["pid"]
    assert pid_alive(pid)
    assert [e.application for e in events(dsn)] == ["shop"] * 3
    row = service.stop_and_delete("web-1", deadline=time.time() + DEADLINE)
    assert row.status == "deleted" and provider.list_servers() == []
    assert not os.path.exists(os.path.join(local_root, "web-1")) and not pid_alive(pid)
    assert kinds(dsn) == ["creating", "starting", "running", "stopping", "stopped", "deleting", "deleted"]


def test_local_resume_after_a_crash_between_create_and_running(dsn, local_root):
    def crash(_seconds):
        raise Crash()

    with pytest.raises(Crash):
        local_service(dsn, sleep=crash).start("web-1", "small", "local", local_options(local_root))
    row = local_service(dsn).get("web-1")
    assert (row.status, row.provider_id) == ("starting", "web-1")
    provider = store_local(dsn, local_root)
    pid = provider.list_servers()[0].extra["pid"]
    row = local_service(dsn).start("web-1", "small", "local", local_options(local_root),
                                   deadline=time.time() + DEADLINE)
    assert row.status == "running"
    [server] = provider.list_servers()
    assert server.extra["pid"] == pid                       # the same server, adopted


def test_local_resume_after_a_crash_inside_create(dsn, local_root):
    """The provider made the server but the controller died before writing ``starting``."""
    with pytest.raises(Crash):
        crashing = local_service(dsn, provider_factory=crashing_factory)
        crashing.start("web-1", "small", "local", local_options(local_root))
    row = local_service(dsn).get("web-1")
    assert (row.status, row.provider_id) == ("new", None)
    provider = store_local(dsn, local_root)
    [made] = provider.list_servers()
    assert made.client_token == row.client_token
    row = local_service(dsn).start("web-1", "small", "local", local_options(local_root),
                                   deadline=time.time() + DEADLINE)
    assert row.status == "running"
    [server] = provider.list_servers()
    assert server.extra["pid"] == made.extra["pid"]


def test_local_stop_finds_a_server_the_row_never_heard_of(dsn, local_root):
    with pytest.raises(Crash):
        crashing = local_service(dsn, provider_factory=crashing_factory)
        crashing.start("web-1", "small", "local", local_options(local_root))
    provider = store_local(dsn, local_root)
    pid = provider.list_servers()[0].extra["pid"]
    row = local_service(dsn).stop_and_delete("web-1", deadline=time.time() + DEADLINE)
    assert row.status == "deleted" and provider.list_servers() == [] and not pid_alive(pid)


def test_local_agent_death_makes_the_row_errored_and_start_revives_it(dsn, local_root):
    service = local_service(dsn)
    service.start("web-1", "small", "local", local_options(local_root), deadline=time.time() + DEADLINE)
    provider = store_local(dsn, local_root)
    provider.stop_server("web-1")
    wait_until(lambda: provider.has_stopped("web-1"), DEADLINE, "the agent to stop")
    with Store(dsn) as store:      # the row back in starting, as if the agent died while starting
        store.db.execute("UPDATE servers SET status = 'starting'")
    with pytest.raises(InstallerError, match="PermanentError: the agent of local server 'web-1' is not running"):
        service.start("web-1", "small", "local", local_options(local_root), deadline=time.time() + DEADLINE)
    assert service.get("web-1").status == "errored"
    row = service.start("web-1", "small", "local", local_options(local_root), deadline=time.time() + DEADLINE)
    assert row.status == "running" and provider.has_started("web-1")


def test_local_reboot(dsn, local_root):
    service = local_service(dsn)
    service.start("web-1", "small", "local", local_options(local_root), deadline=time.time() + DEADLINE)
    provider = store_local(dsn, local_root)
    before = provider.list_servers()[0].extra["pid"]
    row = service.reboot("web-1", deadline=time.time() + DEADLINE)
    assert row.status == "running"
    after = provider.list_servers()[0].extra["pid"]
    assert after != before and pid_alive(after) and not pid_alive(before)


# -- the server installer --------------------------------------------------------------------------

def test_server_installer_deploys_and_undeploys_a_root(dsn, local_root):
    component = Component(name="VM", installer="server", children=frozenset(), exports={"VM": {"ip": None}},
                          imports=(), provider="local",
                          provider_options={**local_options(local_root), "server_type": "tiny"})
    installer = ServerInstaller(backoff_initial=0.01, backoff_max=0.05)

    def ctx(operation, runtime=None):
        return OperationContext(application="shop", operation=operation, path="/vm 1", name="vm 1",
                                component=component, exports={"VM.ip": None}, imports={},
                                runtime=runtime or {}, deadline=time.monotonic() + DEADLINE, store_dsn=dsn)

    result = installer.run(ctx("deploy"))
    name = server_name("shop", "/vm 1")
    assert result.exports == {"VM.ip": "127.0.0.1"}
    row = sv.ServerService(dsn).get(name)
    assert result.runtime == {"provider": "local", "provider_options": local_options(local_root),
                              "provider_id": name, "server": name, "address": "127.0.0.1", "fleet": row.fleet}
    assert (row.server_type, row.application, row.instance_path) == ("tiny", "shop", "/vm 1")
    assert row.tags == {"appgraph_application": "shop", "appgraph_instance": "/vm 1", "appgraph_component": "VM",
                        "appgraph_server_type": "tiny"}
    assert installer.run(ctx("start")) is None and installer.run(ctx("stop")) is None
    installer.run(ctx("undeploy", result.runtime))
    assert sv.ServerService(dsn).get(name).status == "deleted"
    assert store_local(dsn, local_root).list_servers() == []


# -- PostgreSQL ------------------------------------------------------------------------------------

@pytest.mark.postgresql
def test_flows_on_postgresql(postgresql_dsn, clock):
    fake = FakeProvider()
    service = service_for(postgresql_dsn, fake, clock)
    name = "pg-%s" % uuid.uuid4().hex[:8]
    with Store(postgresql_dsn) as store:        # a shared database: look only at what this test writes
        first = store.db.query("SELECT COALESCE(MAX(id), 0) FROM events")[0][0]
    fake.polls["has_started"] = 2
    row = start(service, name)
    assert row.status == "running" and clock.sleeps == [1, 2]
    assert service.stop_and_delete(name).status == "deleted"
    with Store(postgresql_dsn) as store:
        written = [e.kind for e in store.events(after_id=first, limit=100000) if e.subject == name]
    assert written == ["creating", "starting", "running", "stopping", "stopped", "deleting", "deleted"]


def _root_ctx(dsn, operation="deploy"):
    component = Component(name="VM", installer="server", children=frozenset(), exports={"VM": {"ip": None}},
                          imports=(), provider="fake")
    return OperationContext(application="shop", operation=operation, path="/vm", name="vm", component=component,
                            exports={"VM.ip": None}, imports={}, deadline=time.monotonic() + DEADLINE, store_dsn=dsn)


def test_a_failed_deploy_removes_the_server_it_made(dsn, fake, clock):
    fake.fail["has_started"] = PermanentError("the image does not boot")
    installer = ServerInstaller(provider_factory=lambda name, options: fake, clock=clock, sleep=clock.sleep)
    with pytest.raises(InstallerError, match="the image does not boot"):
        installer.run(_root_ctx(dsn))
    assert sv.ServerService(dsn).get(server_name("shop", "/vm")).status == "deleted"
    assert fake.servers == {}                      # not_deployed is true: nothing is left at the provider


def test_a_failed_deploy_whose_cleanup_fails_says_so(dsn, fake, clock):
    fake.fail["has_started"] = PermanentError("the image does not boot")
    fake.fail["stop_server"] = PermanentError("the account is suspended")
    installer = ServerInstaller(provider_factory=lambda name, options: fake, clock=clock, sleep=clock.sleep)
    with pytest.raises(InstallerError, match="could not be removed either.*account is suspended"):
        installer.run(_root_ctx(dsn))
    assert sv.ServerService(dsn).get(server_name("shop", "/vm")).status == "errored"
