# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bytes in and out of a local server's sandbox (what the ``sandbox`` connection uses): the agent's
``/exec`` with stdin and whole binary output, ``/put`` and ``/fetch``, against real agents."""

from __future__ import annotations

import http.client
import json
import os

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, PermanentError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local_channel import CHUNK, SandboxChannel
from ansible_collections.appgraph.lifecycle.tests.helpers.local import started_local_server


@pytest.fixture
def channel(local_root):
    return SandboxChannel(started_local_server(local_root), "web-1")


def sandbox(channel):
    return os.path.join(channel.provider.root, "web-1")


def test_stdin_and_the_whole_output_arrive_byte_for_byte(channel):
    data = bytes(range(256)) * 4096 + b"\xff\xfe no newline"              # 1 MiB, not UTF-8
    result = channel.run(["cat"], stdin=data)
    assert (result.rc, result.stdout, result.stderr, result.timed_out) == (0, data, b"", False)
    result = channel.run(["sh", "-c", "head -c 300000 /dev/zero; printf '\\377' >&2; exit 4"])
    assert (result.rc, result.stdout, result.stderr) == (4, b"\0" * 300000, b"\xff")
    assert channel.run(["sh", "-c", "read line; echo \"got $line\""]).stdout == b"got \n"    # no stdin: /dev/null
    with pytest.raises(InputError):
        channel.run("cat /etc/passwd")


def test_the_agent_says_how_much_output_there_was(channel):
    payload = channel.provider.agent_call("web-1", "/exec", {"argv": ["seq", "1", "100000"], "output_limit": 10})
    assert payload["stdout"] == "99\n100000\n" and payload["stdout_bytes"] == len(
        "".join("%d\n" % i for i in range(1, 100001)))
    timed = channel.run(["sleep", "30"], timeout=0.2)
    assert timed.timed_out


def test_put_and_fetch_copy_files_in_chunks(channel, tmp_path):
    source = tmp_path / "blob"
    source.write_bytes(os.urandom(2 * CHUNK + 17))
    os.makedirs(os.path.join(sandbox(channel), "dir"))
    assert channel.put(str(source), "dir/blob") == 2 * CHUNK + 17
    inside = os.path.join(sandbox(channel), "dir", "blob")
    assert open(inside, "rb").read() == source.read_bytes() and oct(os.stat(inside).st_mode & 0o777) == "0o600"
    back = tmp_path / "back"
    assert channel.fetch(os.path.join(sandbox(channel), "dir", "blob"), str(back)) == 2 * CHUNK + 17
    assert back.read_bytes() == source.read_bytes()

    source.write_bytes(b"short")                                      # overwriting truncates
    channel.put(str(source), "dir/blob")
    assert open(inside, "rb").read() == b"short"
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    channel.put(str(empty), "empty")
    assert os.path.getsize(os.path.join(sandbox(channel), "empty")) == 0
    assert channel.fetch("empty", str(tmp_path / "empty-back")) == 0 and (tmp_path / "empty-back").read_bytes() == b""
    with pytest.raises(FileNotFoundError):
        channel.fetch("nothing here", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_no_path_leads_out_of_the_sandbox(channel, tmp_path):
    box = sandbox(channel)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not yours", encoding="utf-8")
    os.symlink(str(outside), os.path.join(box, "door"))
    os.symlink(str(outside / "secret"), os.path.join(box, "secret-link"))
    source = tmp_path / "payload"
    source.write_bytes(b"payload")
    for target in (str(outside / "new"), "../escaped", "door/new"):
        with pytest.raises(PermanentError, match="outside the sandbox"):
            channel.put(str(source), target)
    with pytest.raises(PermanentError, match="cannot write 'secret-link'"):
        channel.put(str(source), "secret-link")                         # never through a link
    for target in ("/etc/hostname", "../../..", "door/secret", "secret-link"):
        with pytest.raises(PermanentError, match="outside the sandbox"):
            channel.fetch(target, str(tmp_path / "got"))
    assert (outside / "secret").read_text(encoding="utf-8") == "not yours"
    assert sorted(os.listdir(str(outside))) == ["secret"] and not (tmp_path / "escaped").exists()
    with pytest.raises(PermanentError, match="not a regular file"):
        channel.fetch(".", str(tmp_path / "got"))


def test_files_and_commands_need_the_agents_token(channel):
    port = json.load(open(os.path.join(sandbox(channel), "agent.json"), encoding="utf-8"))["port"]
    for path, body in (("/put", {"path": "x", "data": "eA=="}), ("/fetch", {"path": "agent.json"}),
                       ("/exec", {"argv": ["true"]})):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("POST", path, body=json.dumps(body), headers={"Authorization": "Bearer wrong"})
            assert conn.getresponse().status == 401
        finally:
            conn.close()
    assert not os.path.exists(os.path.join(sandbox(channel), "x"))


@pytest.mark.parametrize("path,body,message", [
    ("/put", {"path": "x", "data": "not base64!"}, "data is not valid base64"),
    ("/put", {"path": "x", "data": "eA==", "offset": -1}, "offset must be a number of bytes"),
    ("/put", {"path": "", "data": "eA=="}, "path must be a non-empty string"),
    ("/put", {"path": "dir/", "data": "eA=="}, "names no file"),
    ("/fetch", {"path": "agent.json", "length": 3 * 1024 * 1024}, "length must be"),
    ("/exec", {"argv": ["true"], "output_limit": 0}, "output_limit must be"),
    ("/exec", {"argv": ["true"], "encoding": "rot13"}, "encoding must be"),
    ("/exec", {"argv": ["cat"], "stdin": 42}, "stdin must be base64"),
])
def test_bad_file_and_exec_requests_are_refused(channel, path, body, message):
    with pytest.raises(PermanentError, match=message):
        channel.provider.agent_call("web-1", path, body)
