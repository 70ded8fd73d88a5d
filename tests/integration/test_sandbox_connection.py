# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``appgraph.lifecycle.sandbox`` connection: real ``ansible-playbook`` runs of real tasks
(command, copy, template, file, stat, fetch, ping, fact gathering) inside a local server made by
the test, with pipelining off (files through /put) and on (modules on the command's stdin)."""

from __future__ import annotations

import hashlib
import os
import sys

import pytest

from ansible_collections.appgraph.lifecycle.tests.helpers.local import started_local_server
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

from .helpers import run_playbook

TRICKY = "two  spaces \"double\" 'single' $HOME ${PATH} `id` \\back\nsecond line"


@pytest.fixture
def server(local_root):
    provider = started_local_server(local_root)
    return provider, os.path.join(provider.root, "web-1")


def inventory(tmp_path, root, **extra) -> str:
    path = tmp_path / "hosts.ini"
    variables = dict({"ansible_connection": "appgraph.lifecycle.sandbox", "appgraph_local_root": root,
                      "ansible_python_interpreter": sys.executable}, **extra)
    path.write_text("[sandboxes]\nweb-1 %s\n" % " ".join("%s=%s" % kv for kv in variables.items()), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("pipelining", ["False", "True"])
def test_real_tasks_run_inside_a_local_server(tmp_path, local_root, server, pipelining):
    provider, sandbox = server
    blob = tmp_path / "blob.bin"
    blob.write_bytes(os.urandom(2 * 1024 * 1024 + 12345))     # three chunks of /put and of /fetch
    out_dir = tmp_path / "fetched"
    out_dir.mkdir()
    run = run_playbook(tmp_path, "sandbox.yml", "-vvv", "-i",
                       inventory(tmp_path, local_root, ansible_pipelining=pipelining),
                       out_dir=str(out_dir), blob=str(blob), tricky=TRICKY, sandbox=sandbox)
    assert run.rc == 0, run
    assert "unreachable=0" in run.stdout and "failed=0" in run.stdout, run
    # How the modules travelled: on the command's stdin, or as files through /put.
    piped = "bytes of input)" in run.stdout
    put_modules = "AnsiballZ_" in "".join(line for line in run.stdout.splitlines() if "> PUT " in line)
    assert (piped, put_modules) == ((True, False) if pipelining == "True" else (False, True)), run

    # What the tasks left is in the sandbox, and only there.
    with open(os.path.join(sandbox, "conf", "tricky.txt"), encoding="utf-8") as handle:
        assert handle.read() == TRICKY
    with open(os.path.join(sandbox, "conf", "app.conf"), encoding="utf-8") as handle:
        assert "server = web-1\nhome = %s\n" % sandbox in handle.read()
    assert oct(os.stat(os.path.join(sandbox, "conf")).st_mode & 0o777) == "0o750"
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    assert hashlib.sha256(open(os.path.join(sandbox, "blob.bin"), "rb").read()).hexdigest() == digest
    assert hashlib.sha256((out_dir / "blob.bin").read_bytes()).hexdigest() == digest
    assert not (out_dir / "hostname").exists()
    assert os.path.isdir(os.path.join(sandbox, ".ansible"))       # Ansible's remote tmp: ~ is the sandbox
    assert provider.has_started("web-1")


def test_a_stopped_server_is_unreachable(tmp_path, local_root, server):
    provider, _sandbox = server
    provider.stop_server("web-1")
    wait_until(lambda: provider.has_stopped("web-1"), what="the local server to stop")
    run = run_playbook(tmp_path, "sandbox.yml", "-i", inventory(tmp_path, local_root), out_dir=str(tmp_path),
                       blob=str(tmp_path), tricky="x", sandbox="x")
    assert run.rc != 0 and "UNREACHABLE" in run.stdout and "is not running" in run.stdout, run
