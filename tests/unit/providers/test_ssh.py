# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ssh provider against a real sshd on 127.0.0.1 (the ``sshd`` fixture): no mocks.

Every slot's state lives under a temporary ``state_dir``, so the tests never touch the home
directory of the user they log in as; every provider is closed (its connection masters end).
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
import time

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (
    InputError, PermanentError, TransientError)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.statuses import RUNNING, STOPPED
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers import registry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local_processes import pid_alive
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh import SshProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh_slots import claim_of
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.secrets import secret_option_names
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

from ansible_collections.appgraph.lifecycle.tests.helpers.net import free_port
from ansible_collections.appgraph.lifecycle.tests.helpers.sshd import Sshd, sshd_binary

DEADLINE = 10.0
TRICKY = "two  spaces \"double\" 'single' $HOME ${PATH} `id` \\back\nsecond line\n\ttab * ? ; | & > <"


@pytest.fixture
def state_dir(tmp_path):
    return str(tmp_path / "state")


@pytest.fixture
def make(sshd, state_dir):
    """``make(**options)``: a provider on the session's sshd (three slots a, b, c by default)."""
    made = []

    def factory(**options):
        options.setdefault("hosts", {name: sshd.host() for name in ("a", "b", "c")})
        options.setdefault("state_dir", state_dir)
        provider = SshProvider.from_options(sshd.options(**options))
        made.append(provider)
        return provider

    yield factory
    for provider in made:
        provider.close()


def spec(name="web 1", token=None, **tags):
    return ServerSpec(name=name, server_type="small", client_token=token or "token-" + name, tags=tags)


def adopted(provider, name="web 1", **tags):
    server = provider.create_server(spec(name, **tags))
    wait_until(lambda: provider.has_started(server.provider_id), what="%s to answer" % name)
    return server


def slot_dir(state_dir, server):
    return os.path.join(state_dir, server.provider_id.partition(":")[0])


# -- adopt, start, exec ---------------------------------------------------------------------------

def test_adopt_records_the_server_on_the_machine(make, state_dir):
    provider = make()
    server = adopted(provider, "web 1", app="shop")
    assert server.provider_id == "a:%s" % claim_of("token-web 1")
    assert (server.name, server.address, server.state, server.tags) == ("web 1", "127.0.0.1", RUNNING, {"app": "shop"})
    slot = slot_dir(state_dir, server)
    assert os.readlink(os.path.join(slot, "claim")) == claim_of("token-web 1")
    assert server.extra["dir"] == os.path.realpath(slot)
    assert stat.S_IMODE(os.stat(slot).st_mode) == 0o700
    assert os.path.getsize(os.path.join(slot, "server.json")) > 0


def test_exec_passes_argv_and_env_intact(make):
    provider = make()
    server = adopted(provider)
    args = ["a b", "it's", "$HOME", "two\nlines", "", "-n", TRICKY, "*"]
    result = provider.exec(server.provider_id, ["printf", "%s\\0"] + args)
    assert (result.rc, result.stderr, result.timed_out) == (0, "", False)
    assert result.stdout.split("\0")[:-1] == args
    env = {"TRICKY": TRICKY, "EMPTY": "", "PATH": "/usr/bin:/bin"}
    result = provider.exec(server.provider_id, ["sh", "-c", 'printf "%s|%s|%s" "$TRICKY" "$EMPTY" "$PATH"'], env=env)
    assert result.stdout == "%s||/usr/bin:/bin" % TRICKY


def test_exec_runs_in_the_slot_or_in_cwd_and_reports_failures(make, state_dir, tmp_path):
    provider = make()
    server = adopted(provider)
    slot = os.path.realpath(slot_dir(state_dir, server))
    assert provider.exec(server.provider_id, ["pwd", "-P"]).stdout.strip() == slot
    os.makedirs(os.path.join(slot, "in side"))
    assert provider.exec(server.provider_id, ["pwd", "-P"], cwd="in side").stdout.strip() == slot + "/in side"
    assert provider.exec(server.provider_id, ["pwd", "-P"], cwd=str(tmp_path)).stdout.strip() == str(tmp_path)
    failed = provider.exec(server.provider_id, ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (failed.rc, failed.stdout, failed.stderr) == (3, "out\n", "err\n")
    missing = provider.exec(server.provider_id, ["no-such-program-here"])
    assert missing.rc == 127 and "no-such-program-here" in missing.stderr
    with pytest.raises(PermanentError, match="cwd 'nowhere' is not a directory"):
        provider.exec(server.provider_id, ["true"], cwd="nowhere")


def test_exec_output_is_the_tail_of_each_stream(make):
    provider = make()
    server = adopted(provider)
    result = provider.exec(server.provider_id, ["sh", "-c", "seq 1 100000; seq 1 3 >&2"])
    assert len(result.stdout) == 64 * 1024 and result.stdout.endswith("\n99999\n100000\n")
    assert result.stderr == "1\n2\n3\n"


def test_a_timeout_kills_the_command_and_its_process_group(make, state_dir):
    provider = make()
    server = adopted(provider)
    began = time.monotonic()
    result = provider.exec(server.provider_id, ["sh", "-c", 'sleep 30 & echo $! > bg; echo $$ > fg; echo started; wait'],
                           timeout=0.5)
    took = time.monotonic() - began
    assert result.timed_out and result.rc != 0 and took < 20.0, (result, took)     # the sleep would take 30 s
    assert result.stdout == "started\n"
    slot = slot_dir(state_dir, server)
    for name in ("fg", "bg"):
        with open(os.path.join(slot, name), encoding="utf-8") as handle:
            pid = int(handle.read())
        wait_until(lambda pid=pid: not pid_alive(pid), what="%s to be killed" % name)


def test_a_service_left_running_does_not_hold_exec(make, state_dir):
    provider = make()
    server = adopted(provider)
    began = time.monotonic()
    result = provider.exec(server.provider_id, ["sh", "-c", "sleep 30 & echo $! > service.pid"], timeout=20)
    assert result.rc == 0 and time.monotonic() - began < 5.0
    with open(os.path.join(slot_dir(state_dir, server), "service.pid"), encoding="utf-8") as handle:
        pid = int(handle.read())
    try:
        assert pid_alive(pid)
    finally:
        os.kill(pid, 9)
    wait_until(lambda: not pid_alive(pid), what="the service to die")


# -- a new controller, idempotency, races ---------------------------------------------------------

def test_a_new_controller_lists_what_an_earlier_one_adopted(make):
    first = make()
    web, db = adopted(first, "web 1", role="web"), adopted(first, "db 1", role="db")
    first.close()
    second = make()
    listed = {s.provider_id: s for s in second.list_servers()}
    assert set(listed) == {web.provider_id, db.provider_id}
    assert listed[db.provider_id].name == "db 1" and listed[db.provider_id].client_token == "token-db 1"
    assert listed[db.provider_id].extra["server_type"] == "small"
    assert [s.name for s in second.list_servers({"role": "web"})] == ["web 1"]
    assert second.current_server_count() == 2
    assert second.has_started(web.provider_id)


def test_create_is_idempotent_by_client_token(make):
    first = make()
    server = adopted(first)
    again = first.create_server(spec())
    from_another_controller = make().create_server(spec())
    assert again.provider_id == from_another_controller.provider_id == server.provider_id
    other = first.create_server(spec("web 2"))
    assert other.provider_id.partition(":")[0] == "b"
    first.create_server(spec("web 3"))
    assert first.current_server_count() == 3
    with pytest.raises(PermanentError, match="no free host for server 'web 4'.*web 1"):
        first.create_server(spec("web 4"))


def test_concurrent_creates_from_two_controllers_never_share_a_slot(make):
    providers = [make(), make()]
    results, errors = {}, []

    def create(index):
        try:
            results[index] = providers[index % 2].create_server(spec("web %d" % index))
        except Exception as exc:  # pylint: disable=broad-except  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    slots = sorted(s.provider_id.partition(":")[0] for s in results.values())
    assert slots == ["a", "b", "c"]
    assert sorted(s.client_token for s in providers[0].list_servers()) == ["token-web %d" % i for i in range(3)]


# -- stop, delete, reboot ----------------------------------------------------------------------------

def test_stop_and_delete_release_the_slot_and_nothing_else(make, state_dir, tmp_path):
    provider = make()
    server = adopted(provider)
    mine = tmp_path / "the owner's file"
    mine.write_text("keep me", encoding="utf-8")
    provider.stop_server(server.provider_id)
    assert provider.has_stopped(server.provider_id) and not provider.has_been_deleted(server.provider_id)
    assert [s.state for s in provider.list_servers()] == [STOPPED]
    with pytest.raises(PermanentError, match="it is stopped"):
        provider.exec(server.provider_id, ["true"])
    provider.stop_server(server.provider_id)                    # stopping twice does nothing
    provider.delete_server(server.provider_id)
    assert provider.has_been_deleted(server.provider_id) and provider.has_stopped(server.provider_id)
    assert not os.path.exists(slot_dir(state_dir, server)) and mine.read_text(encoding="utf-8") == "keep me"
    assert provider.list_servers() == [] and provider.current_server_count() == 0
    provider.delete_server(server.provider_id)                  # deleting twice does nothing

    # The slot is free again; the old id never names the new adoption.
    new = provider.create_server(spec("web 9"))
    assert new.provider_id.partition(":")[0] == server.provider_id.partition(":")[0] != ""
    assert new.provider_id != server.provider_id
    provider.delete_server(server.provider_id)                  # a late retry of the old delete
    assert not provider.has_been_deleted(new.provider_id) and provider.has_been_deleted(server.provider_id)
    with pytest.raises(PermanentError, match="no longer adopted"):
        provider.has_started(server.provider_id)


def test_reboot_is_refused_unless_a_reboot_command_is_given(make):
    refused = make()
    server = adopted(refused)
    with pytest.raises(PermanentError, match="does not reboot machines it does not own"):
        refused.reboot_server(server.provider_id)

    failing = make(reboot_command=["sh", "-c", "echo no permission >&2; exit 1"])
    with pytest.raises(PermanentError, match="exited with code 1: no permission"):
        failing.reboot_server(server.provider_id)
    assert failing.has_started(server.provider_id)              # nothing happened

    # A harmless "reboot": the machine never goes down, so it never has a new boot id.
    rebooting = make(reboot_command=["true"])
    rebooting.reboot_server(server.provider_id)
    assert rebooting.has_started(server.provider_id) is False


# -- heartbeats and unreachable machines ------------------------------------------------------------

def test_heartbeats_and_a_machine_that_goes_away(tmp_path):
    """A machine of its own (a second sshd), stopped in the middle of the test."""
    binary = sshd_binary()
    if binary is None:
        pytest.skip("no sshd")
    machine = Sshd.start(binary)
    try:
        provider = SshProvider.from_options(machine.options(state_dir=str(tmp_path / "state"), connect_timeout=2))
        server = adopted(provider)
        before = time.time()
        seen = provider.last_heartbeat(server.provider_id)
        assert before - 1 <= seen <= time.time() + 1
        assert os.path.exists(os.path.join(str(tmp_path / "state"), "box", "heartbeat"))
        provider.close()
    finally:
        machine.stop(remove=False)     # the machine goes; its keys stay for the client
    try:
        assert provider.has_started(server.provider_id) is False    # unreachable: keep polling
        assert provider.last_heartbeat(server.provider_id) == pytest.approx(seen, abs=0.01)
        with pytest.raises(TransientError, match="Connection refused"):
            provider.exec(server.provider_id, ["true"])
        with pytest.raises(TransientError, match="cannot tell whether it holds server 'web 2'.*Connection refused"):
            provider.create_server(spec("web 2"))
        with pytest.raises(TransientError, match="cannot list its servers"):
            provider.list_servers()
    finally:
        provider.close()
        shutil.rmtree(machine.dir, ignore_errors=True)


def test_a_closed_port_is_a_transient_error(make):
    provider = make(hosts={"gone": {"address": "127.0.0.1", "port": free_port()}}, connect_timeout=2)
    with pytest.raises(TransientError, match=r"root@127\.0\.0\.1:\d+: ssh exited with code 255: .*Connection refused"
                       if os.getuid() == 0 else "Connection refused"):
        provider.create_server(spec())
    assert provider.has_started("gone:%s" % claim_of("x")) is False
    assert provider.last_heartbeat("gone:%s" % claim_of("x")) is None


def test_a_refused_key_is_a_permanent_error(make, tmp_path):
    import subprocess

    stranger = str(tmp_path / "stranger")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", stranger], check=True, timeout=30)
    provider = make(private_key_file=stranger)
    with pytest.raises(PermanentError, match="Permission denied"):
        provider.create_server(spec())
    missing = make(private_key_file=str(tmp_path / "nothing"))
    with pytest.raises(PermanentError, match="private key file .*nothing does not exist"):
        missing.create_server(spec())


def test_host_keys_are_checked_strictly_unless_told_otherwise(make, sshd, tmp_path):
    wrong = tmp_path / "wrong_known_hosts"   # another machine's key for this address: the user key will do
    with open(sshd.user_key + ".pub", encoding="utf-8") as handle:
        wrong.write_text("[127.0.0.1]:%d %s\n" % (sshd.port, " ".join(handle.read().split()[:2])), encoding="utf-8")
    with pytest.raises(PermanentError, match="(?i)host key"):
        make(known_hosts_file=str(wrong)).create_server(spec())
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(PermanentError, match="(?i)host key"):
        make(known_hosts_file=str(empty)).create_server(spec())
    server = make(known_hosts_file=str(empty), host_key_checking="accept-new").create_server(spec())
    assert sshd.host_public_key in empty.read_text(encoding="utf-8")     # trusted on first use, and remembered
    assert make(known_hosts_file=str(wrong), host_key_checking="off").has_started(server.provider_id)


# -- options and inputs ----------------------------------------------------------------------------

BAD_OPTIONS = [
    ({"hosts": None}, "hosts: is required"),
    ({"hosts": []}, "at least one host"),
    ({"hosts": {"a": {"address": "-oProxyCommand=touch /tmp/pwned"}}}, "neither a DNS name nor an IP"),
    ({"hosts": {"a": {"address": "127.0.0.1 -p 1"}}}, "neither a DNS name"),
    ({"hosts": {"a": {"address": "root@127.0.0.1"}}}, "neither a DNS name"),
    ({"hosts": {"a": {"address": "a;touch x"}}}, "neither a DNS name"),
    ({"hosts": {"a": {"address": "127.0.0.1", "user": "-oProxyCommand=x"}}}, "not a valid user name"),
    ({"hosts": {"a": {"address": "127.0.0.1", "user": "root;id"}}}, "not a valid user name"),
    ({"hosts": {"a": {"address": "127.0.0.1", "port": 0}}}, "port must be a number from 1 to 65535"),
    ({"hosts": {"a": {"address": "127.0.0.1", "port": 70000}}}, "port must be"),
    ({"hosts": {"a": {"address": "127.0.0.1", "port": True}}}, "port must be"),
    ({"hosts": {"a": {"address": "127.0.0.1", "port": "22 -v"}}}, "port must be"),
    ({"hosts": {"../up": {"address": "127.0.0.1"}}}, "host name '../up' is not valid"),
    ({"hosts": {"a/b": {"address": "127.0.0.1"}}}, "is not valid"),
    ({"hosts": [{"name": "a", "address": "127.0.0.1"}, {"name": "a", "address": "::1"}]}, "used twice"),
    ({"hosts": {"a": {"address": "127.0.0.1", "password": "x"}}}, "unknown key 'password'"),
    ({"hosts": ["127.0.0.1"]}, "must be a mapping"),
    ({"host_key_checking": "maybe"}, "host_key_checking: must be one of strict, accept-new, off"),
    ({"state_dir": "../../etc"}, "state_dir: must be a plain path"),
    ({"state_dir": "a\nb"}, "state_dir: must be a plain path"),
    ({"private_key": "KEY", "private_key_file": "/k"}, "not both"),
    ({"private_key_file": "/tmp/${HOME}/k"}, "private_key_file: must not contain"),
    ({"known_hosts_file": "/tmp/a\"b"}, "known_hosts_file: must not contain"),
    ({"reboot_command": "sudo reboot"}, "reboot_command: must be a list"),
    ({"reboot_command": []}, "reboot_command: must be a non-empty list"),
    ({"connect_timeout": 0}, "connect_timeout: must be greater than 0"),
    ({"control_persist": -1}, "control_persist: must be at least 0"),
    ({"password": "x"}, "unknown option for provider 'ssh'"),
]


@pytest.mark.parametrize("options,message", BAD_OPTIONS, ids=[m for _o, m in BAD_OPTIONS])
def test_hostile_or_wrong_options_are_input_errors(options, message):
    values = {"hosts": {"a": {"address": "127.0.0.1"}}}
    values.update(options)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SshProvider.from_options(values)
    assert not os.path.exists("/tmp/pwned")


def test_hostile_commands_are_input_errors(make):
    provider = make()
    server = adopted(provider)
    for argv, env, key in ((["sh", "-c", "true"], {"A-B": "x"}, "env"), (["true"], {"1A": "x"}, "env"),
                           ("rm -rf /", None, "argv"), ([], None, "argv"), (["a\0b"], None, "argv"),
                           (["-n", "x"], None, "argv"), ([""], None, "argv"),
                           (["true"], {"A": "x\0y"}, "env"), (["true"], {"A": 1}, "env")):
        with pytest.raises(InputError) as error:
            provider.exec(server.provider_id, argv, env=env)
        assert error.value.key == key
    with pytest.raises(InputError, match="timeout"):
        provider.exec(server.provider_id, ["true"], timeout=0)
    with pytest.raises(PermanentError, match="is not a server of this ssh provider"):
        provider.exec("../a:0123456789abcdef", ["true"])


def test_hosts_as_a_list_with_defaults(sshd, state_dir):
    provider = SshProvider.from_options({"hosts": [{"address": "127.0.0.1", "port": sshd.port}],
                                         "user": sshd.user, "private_key_file": sshd.user_key,
                                         "known_hosts_file": sshd.known_hosts, "state_dir": state_dir})
    try:
        assert [h.name for h in provider.hosts] == ["127.0.0.1"]
        server = adopted(provider)
        assert server.provider_id.startswith("127.0.0.1:")
    finally:
        provider.close()


def test_an_inline_key_is_a_secret_kept_in_a_private_file_only_while_needed(sshd, state_dir):
    with open(sshd.user_key, encoding="utf-8") as handle:
        key = handle.read()
    options = sshd.options(state_dir=state_dir, private_key=key)
    del options["private_key_file"]
    assert SshProvider.OPTIONS["private_key"].secret
    assert secret_option_names("ssh", options) == {"private_key"}
    provider = registry.get_provider("ssh", options)
    assert key not in repr(provider) and "BEGIN" not in provider.identity()
    server = adopted(provider)
    key_file = provider.client.private_key_file
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(key_file)).st_mode) == 0o700
    assert provider.exec(server.provider_id, ["true"]).rc == 0
    provider.close()
    assert not os.path.exists(key_file)


def test_connections_are_reused_through_a_control_master(make, sshd):
    provider = make()
    server = adopted(provider)
    socket_path = provider.client.control_path(provider.hosts[0])
    assert stat.S_ISSOCK(os.stat(socket_path).st_mode)
    assert len(os.path.basename(socket_path)) == 20 and os.path.dirname(socket_path) == os.environ[
        "APPGRAPH_SSH_CONTROL_DIR"]
    provider.close()
    wait_until(lambda: not os.path.exists(socket_path), what="the master to exit")
    single = make(control_persist=0)
    assert single.exec(server.provider_id, ["true"]).rc == 0
    assert not os.path.exists(single.client.control_path(single.hosts[0]))


def test_the_registry_knows_ssh():
    assert "ssh" in registry.provider_names()
    assert registry.provider_class("ssh") is SshProvider
