# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local provider with real agent processes (no mocks): every test stops what it started."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (
    InputError, PermanentError, TransientError)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.statuses import RUNNING, STARTING, STOPPED, STOPPING
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider, pid_alive
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until


@pytest.fixture
def root(local_root):
    return local_root


@pytest.fixture
def provider(root):
    return LocalProvider(root=root, heartbeat_interval=0.1)


def spec(name="web-1", token=None, **tags):
    return ServerSpec(name=name, server_type="small", client_token=token or "token-" + name, tags=tags)


def started(provider, name="web-1", **tags):
    provider.create_server(spec(name, **tags))
    wait_until(lambda: provider.has_started(name), what="%s to start" % name)
    return name


def agent_pid(provider, name):
    return [s for s in provider.list_servers() if s.provider_id == name][0].extra["pid"]


def stop(provider, name):
    provider.stop_server(name)
    wait_until(lambda: provider.has_stopped(name), what="%s to stop" % name)


# -- create / start ------------------------------------------------------------------------------

def test_create_returns_at_once_and_has_started_follows(provider, root):
    server = provider.create_server(spec("web-1", pool="web"))
    assert server.state in (STARTING, RUNNING)
    assert (server.provider_id, server.name, server.address) == ("web-1", "web-1", "127.0.0.1")
    assert server.tags == {"pool": "web"} and server.client_token == "token-web-1"
    wait_until(lambda: provider.has_started("web-1"), what="has_started")
    sandbox = os.path.join(root, "web-1")
    assert stat.S_IMODE(os.stat(sandbox).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(sandbox, "agent.json")).st_mode) == 0o600
    info = json.load(open(os.path.join(sandbox, "server.json"), encoding="utf-8"))
    assert info["server_type"] == "small" and info["client_token"] == "token-web-1"
    [listed] = provider.list_servers()
    assert listed.state == RUNNING and isinstance(listed.extra["port"], int)


def test_start_delay_keeps_has_started_false_until_the_agent_is_ready(root):
    provider = LocalProvider(root=root, heartbeat_interval=0.1, start_delay=0.3)
    began = time.monotonic()
    provider.create_server(spec())
    wait_until(lambda: provider.list_servers()[0].extra["port"], what="the agent to listen")
    assert provider.has_started("web-1") is False
    assert provider.list_servers()[0].state == STARTING
    wait_until(lambda: provider.has_started("web-1"), what="has_started")
    assert time.monotonic() - began >= 0.3
    assert provider.list_servers()[0].state == RUNNING


def test_create_twice_with_one_token_adopts_the_server(provider, root):
    first = provider.create_server(spec())
    again = provider.create_server(spec())
    other_name = provider.create_server(spec("web-2", token="token-web-1"))
    assert again.extra["pid"] == first.extra["pid"] == other_name.extra["pid"]
    assert other_name.provider_id == "web-1"
    assert sorted(os.listdir(root)) == [".agent", ".tokens", "web-1"]
    with pytest.raises(PermanentError, match="another client token"):
        provider.create_server(spec("web-1", token="someone-else"))


def test_concurrent_creates_with_one_token_make_one_server(provider, root):
    results, errors = [], []

    def create():
        try:
            results.append(provider.create_server(spec()))
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)

    threads = [threading.Thread(target=create) for _thread in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert {r.extra["pid"] for r in results} == {results[0].extra["pid"]}
    assert [s.provider_id for s in provider.list_servers()] == ["web-1"]


def test_create_adopts_a_stopped_server_and_starts_it_again(provider):
    started(provider)
    old = agent_pid(provider, "web-1")
    stop(provider, "web-1")
    server = provider.create_server(spec())
    assert server.extra["pid"] != old
    wait_until(lambda: provider.has_started("web-1"), what="has_started")


def test_bad_names_and_ids_are_refused(provider):
    with pytest.raises(InputError) as error:
        provider.create_server(spec("../escape"))
    assert error.value.key == "name"
    with pytest.raises(InputError) as error:
        provider.create_server(ServerSpec("web-1", "small", "t", options={"image": "x"}))
    assert error.value.key == "image"
    with pytest.raises(PermanentError, match="not a local server id"):
        provider.has_started("../etc")
    with pytest.raises(PermanentError, match="no local server"):
        provider.has_started("absent")


# -- exec ------------------------------------------------------------------------------------------

def test_exec_passes_argv_env_and_cwd_intact(provider, root):
    started(provider)
    argv = ["sh", "-c", 'printf "%s|" "$@"; printf "\\n%s %s %s\\n" "$FOO" "$APPGRAPH_SERVER" "$APPGRAPH_SANDBOX"; pwd',
            "sh", "a b", "it's", 'say "hi"', "$HOME", "*"]
    result = provider.exec("web-1", argv, {"FOO": "bar baz"}, 10)
    sandbox = os.path.join(root, "web-1")
    assert result.rc == 0 and not result.timed_out and result.stderr == ""
    assert result.stdout.splitlines() == ["a b|it's|say \"hi\"|$HOME|*|", "bar baz web-1 %s" % sandbox, sandbox]
    os.mkdir(os.path.join(sandbox, "sub dir"))
    assert provider.exec("web-1", ["pwd"], {}, 10, cwd="sub dir").stdout == os.path.join(sandbox, "sub dir") + "\n"


def test_exec_does_not_leak_the_controller_environment(root):
    provider = LocalProvider(root=root, heartbeat_interval=0.1,
                             environ={"PATH": os.environ["PATH"], "AWS_SECRET_ACCESS_KEY": "s3cr3t"})
    started(provider)
    out = provider.exec("web-1", ["env"], {}, 10).stdout
    assert "s3cr3t" not in out and "APPGRAPH_SERVER=web-1" in out


def test_exec_failure_returns_rc_and_stderr_tail(provider):
    started(provider)
    result = provider.exec("web-1", ["sh", "-c", "echo partial; echo 'it broke' >&2; exit 7"], {}, 10)
    assert (result.rc, result.stdout, result.stderr, result.timed_out) == (7, "partial\n", "it broke\n", False)
    big = provider.exec("web-1", ["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a; printf END >&2; printf END"],
                        {}, 10)
    assert len(big.stdout) == 64 * 1024 and big.stdout.endswith("aaEND") and big.stderr == "END"
    missing = provider.exec("web-1", ["no-such-program-here"], {}, 10)
    assert missing.rc == 127 and "No such file" in missing.stderr


def test_exec_timeout_kills_the_command(provider):
    started(provider)
    began = time.monotonic()
    result = provider.exec("web-1", ["sh", "-c", "echo before; sleep 30"], {}, 0.2)
    assert result.timed_out and result.rc < 0 and result.stdout == "before\n"
    assert time.monotonic() - began < 3


def test_exec_bad_requests(provider):
    started(provider)
    with pytest.raises(PermanentError, match="outside the sandbox"):
        provider.exec("web-1", ["ls"], {}, 10, cwd="../..")
    with pytest.raises(InputError) as error:
        provider.exec("web-1", "ls -l", {}, 10)
    assert error.value.key == "argv"


def test_background_process_outlives_exec_and_dies_on_stop(provider, root):
    started(provider)
    result = provider.exec("web-1", ["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"], {}, 10)
    background = int(result.stdout)
    time.sleep(0.05)
    assert pid_alive(background)
    stop(provider, "web-1")
    wait_until(lambda: not pid_alive(background), what="the background process to die")


# -- stop / delete / reboot ----------------------------------------------------------------------

def test_stop_then_delete(provider, root):
    started(provider)
    pid = agent_pid(provider, "web-1")
    with pytest.raises(TransientError, match="still running"):
        provider.delete_server("web-1")
    assert provider.has_stopped("web-1") is False
    stop(provider, "web-1")
    assert not pid_alive(pid)
    assert provider.list_servers()[0].state == STOPPED
    with pytest.raises(TransientError, match="not running"):
        provider.exec("web-1", ["true"], {}, 10)
    provider.stop_server("web-1")  # stopping a stopped server does nothing
    assert provider.has_been_deleted("web-1") is False
    provider.delete_server("web-1")
    assert provider.has_been_deleted("web-1") and provider.has_stopped("web-1")
    provider.delete_server("web-1")  # deleting a deleted server does nothing
    assert provider.list_servers() == [] and provider.current_server_count() == 0
    assert os.listdir(os.path.join(root, ".tokens")) == []


def test_reboot_replaces_the_agent(root):
    provider = LocalProvider(root=root, heartbeat_interval=0.1, start_delay=0.2)
    started(provider)
    old = agent_pid(provider, "web-1")
    provider.reboot_server("web-1")
    assert not pid_alive(old)
    assert provider.has_started("web-1") is False
    wait_until(lambda: provider.has_started("web-1"), what="the new agent")
    assert agent_pid(provider, "web-1") != old
    assert provider.exec("web-1", ["true"], {}, 10).rc == 0


def test_a_stuck_agent_is_killed_after_stop_timeout(root):
    now = [1000.0]
    provider = LocalProvider(root=root, heartbeat_interval=0.1, clock=lambda: now[0], http_timeout=0.2,
                             stop_timeout=10.0)
    started(provider)
    pid = agent_pid(provider, "web-1")
    os.kill(pid, signal.SIGSTOP)  # it can neither answer /shutdown nor handle SIGTERM
    provider.stop_server("web-1")
    assert provider.list_servers()[0].state == STOPPING
    assert provider.has_stopped("web-1") is False
    now[0] += 9.0
    assert provider.has_stopped("web-1") is False and pid_alive(pid)
    now[0] += 1.0
    wait_until(lambda: provider.has_stopped("web-1"), what="the killed agent to be gone")


def test_agent_exits_when_its_sandbox_disappears(provider, root):
    started(provider)
    pid = agent_pid(provider, "web-1")
    shutil.rmtree(os.path.join(root, "web-1"))
    wait_until(lambda: not pid_alive(pid), what="the agent to exit")


# -- observe ---------------------------------------------------------------------------------------

def test_list_servers_from_a_fresh_provider(provider, root):
    for name, pool in (("web-1", "web"), ("web-2", "web"), ("db-1", "db")):
        provider.create_server(spec(name, pool=pool, app="shop"))
    for name in ("web-1", "web-2", "db-1"):
        wait_until(lambda n=name: provider.has_started(n), what=name)
    fresh = LocalProvider(root=root)
    assert [s.provider_id for s in fresh.list_servers()] == ["db-1", "web-1", "web-2"]
    assert [s.provider_id for s in fresh.list_servers({"pool": "web"})] == ["web-1", "web-2"]
    assert fresh.list_servers({"pool": "web", "app": "other"}) == []
    assert {s.state for s in fresh.list_servers()} == {RUNNING}
    assert fresh.list_servers({"pool": "db"})[0].tags == {"pool": "db", "app": "shop"}
    assert fresh.current_server_count() == 3
    assert fresh.identity() == provider.identity() == "local:" + os.path.realpath(root)
    assert fresh.exec("web-2", ["echo", "hi"], {}, 10).stdout == "hi\n"


def test_a_server_outlives_the_controller_that_made_it(provider, root, repo_root):
    script = (
        "import sys; sys.path.insert(0, %r)\n"
        "from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider\n"
        "from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec\n"
        "print(LocalProvider(root=%r).create_server(ServerSpec('web-1', 'small', 't1', {'by': 'child'})).extra['pid'])\n"
    ) % (str(repo_root / "collection"), root)
    # Pipes on purpose: the controller exits and its output ends although the agent lives on.
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True)
    wait_until(lambda: provider.has_started("web-1"), what="the orphaned agent")
    assert agent_pid(provider, "web-1") == int(done.stdout)
    assert provider.list_servers({"by": "child"})[0].state == RUNNING
    assert provider.exec("web-1", ["echo", "still here"], {}, 10).stdout == "still here\n"


def test_heartbeats_advance(provider):
    assert provider.last_heartbeat("web-1") is None
    started(provider)
    first = wait_until(lambda: provider.last_heartbeat("web-1"), what="a first heartbeat")
    wait_until(lambda: provider.last_heartbeat("web-1") > first, timeout=2.0, what="a later heartbeat")
    assert abs(provider.last_heartbeat("web-1") - time.time()) < 5
