# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tests' own helpers (tests/helpers): many tests lean on what they promise, so it is tested once here."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InstallerError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec
from ansible_collections.appgraph.lifecycle.tests.helpers.clock import FakeClock
from ansible_collections.appgraph.lifecycle.tests.helpers.latency import LatencyInstaller, latency_installers
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until


def spec(name, token=None):
    return ServerSpec(name=name, server_type="small", client_token=token or "token-" + name, tags={"pool": "small"})


def test_wait_until_returns_the_first_true_answer_or_fails_naming_what_it_waited_for():
    answers = iter([0, None, "", 42])
    assert wait_until(lambda: next(answers), 5.0, "the fourth answer", interval=0.001) == 42
    began = time.monotonic()
    with pytest.raises(AssertionError, match=r"timed out after 0.05 s waiting for the moon to rise"):
        wait_until(lambda: False, 0.05, "the moon to rise")
    assert time.monotonic() - began < 5.0


def test_fake_clock_moves_only_when_slept():
    clock = FakeClock(now=50.0)
    clock.sleep(2)
    clock.sleep(0.5)
    assert (clock(), clock.sleeps) == (52.5, [2, 0.5])
    with pytest.raises(AssertionError):
        clock.sleep(0)


def test_fake_provider_makes_one_server_per_token_and_logs_every_call():
    fake = FakeProvider(identity="fake:elsewhere")
    first = fake.create_server(spec("web-1"))
    assert fake.create_server(spec("web-1")) is first
    second = fake.create_server(spec("web-2"))
    assert (first.provider_id, first.address, first.state) == ("id-web-1", "10.0.0.1", "starting")
    assert first.tags == {"pool": "small"}
    assert (second.provider_id, second.address) == ("id-web-2", "10.0.0.2")
    assert fake.identity() == "fake:elsewhere"
    fake.delete_server("id-web-1")
    assert sorted(fake.servers) == ["id-web-2"] and fake.current_server_count() == 1
    assert fake.calls == [("create_server", "token-web-1")] * 2 + [("create_server", "token-web-2"), ("identity",),
                                                                   ("delete_server", "id-web-1")]
    assert ("identity",) not in fake.server_calls() and len(fake.server_calls()) == 4


def test_fake_provider_polls_count_per_server_and_start_afresh_when_cleared():
    fake = FakeProvider()
    fake.polls["has_started"] = 2
    for name in ("web-1", "web-2"):
        fake.create_server(spec(name))
    assert [fake.has_started("id-web-1") for _poll in range(3)] == [False, False, True]
    assert [fake.has_started("id-web-2") for _poll in range(3)] == [False, False, True]
    fake.answered.clear()
    fake.polls["has_started"] = 1
    assert [fake.has_started("id-web-1") for _poll in range(2)] == [False, True]
    assert fake.has_stopped("id-web-1") and fake.has_been_deleted("id-web-1")


def test_fake_provider_start_time_is_measured_on_its_clock():
    clock = FakeClock()
    fake = FakeProvider(clock=clock, start_time=1.0)
    fake.create_server(spec("web-1"))
    assert not fake.has_started("id-web-1")
    clock.sleep(1.0)
    assert fake.has_started("id-web-1")


def test_fake_provider_fails_always_or_once_an_entry_for_an_action_or_one_server():
    fake = FakeProvider()
    fake.fail["stop_server"] = RuntimeError("always")
    fake.fail["has_stopped"] = [ValueError("first"), ValueError("second")]
    fake.fail[("create_server", "web-2")] = [KeyError("web-2 once")]
    fake.create_server(spec("web-1"))
    with pytest.raises(KeyError):
        fake.create_server(spec("web-2"))
    fake.create_server(spec("web-2"))
    for _call in range(2):
        with pytest.raises(RuntimeError, match="always"):
            fake.stop_server("id-web-1")
    for message in ("first", "second"):
        with pytest.raises(ValueError, match=message):
            fake.has_stopped("id-web-2")
    assert fake.has_stopped("id-web-2")
    fake.heartbeats["id-web-1"] = 1234.5
    assert (fake.last_heartbeat("id-web-1"), fake.last_heartbeat("id-web-2")) == (1234.5, None)


def test_fake_provider_holds_servers_made_elsewhere():
    fake = FakeProvider()
    made = fake.add_server("web one", provider_id="i-1", state="stopped", tags={"server_type": "c5.large"}, pid=7)
    assert fake.list_servers() == [made]
    assert (made.name, made.state, made.address, made.extra) == ("web one", "stopped", "10.0.0.1", {"pid": 7})


def test_the_latency_installer_takes_its_time_records_and_fails_on_purpose(tmp_path):
    clock = FakeClock()
    installer = LatencyInstaller(sleep=clock.sleep, clock=clock)
    record = tmp_path / "ops.jsonl"

    def ctx(operation):
        component = SimpleNamespace(options={"latency": 0.25, "fail": ["stop"], "record": str(record)})
        return SimpleNamespace(component=component, operation=operation, path="/vm")

    assert installer.run(ctx("deploy")) is None
    with pytest.raises(InstallerError, match="stop of /vm failed on purpose"):
        installer.run(ctx("stop"))
    [line] = [json.loads(text) for text in record.read_text().splitlines()]
    assert (line["path"], line["operation"], line["end"] - line["start"]) == ("/vm", "deploy", 0.25)
    assert clock.sleeps == [0.25, 0.25]
    assert isinstance(latency_installers().get("latency"), LatencyInstaller)
