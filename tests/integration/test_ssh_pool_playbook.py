# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A server pool of the ``ssh`` provider through real ``ansible-playbook`` runs: servers adopted
on slots of the tests' sshd (127.0.0.1), found by the next run, released by ``state: absent``."""

from __future__ import annotations

import json
import os


from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh import SshProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS

from .test_server_pool_playbook import pool_report
from .helpers import run_playbook


def test_an_ssh_pool_from_a_playbook(tmp_path, sshd):
    """With the key given inline (a secret option): used, never stored, never shown."""
    state_dir = str(tmp_path / "machine")
    options = sshd.options(hosts={name: sshd.host() for name in ("a", "b", "c")}, state_dir=state_dir)
    provider = SshProvider.from_options(options).use_fleet(ALL_FLEETS)
    with open(options.pop("private_key_file"), encoding="utf-8") as handle:
        key = handle.read()
    options["private_key"] = key
    secret_line = key.splitlines()[1]
    try:
        run = run_playbook(tmp_path, "pools_ssh.yml", options=options, count=2)
        assert run.rc == 0, run
        assert secret_line not in run.stdout + run.stderr
        report = pool_report(run)
        assert report["counts"] == {"running": 2} and len(report["started"]) == 2, run
        assert sorted(s.provider_id.partition(":")[0] for s in provider.list_servers()) == ["a", "b"]
        assert [sorted(o) for o in stored_options(tmp_path)] == [
            ["connect_timeout", "hosts", "known_hosts_file", "state_dir"]] * 2
        for stored_file in tmp_path.glob("store.db*"):                # the WAL too
            assert secret_line.encode() not in stored_file.read_bytes(), stored_file

        again = run_playbook(tmp_path, "pools_ssh.yml", options=options, count=2)
        assert again.rc == 0 and pool_report(again)["started"] == [] and again.recap["changed"] == 0, again

        gone = run_playbook(tmp_path, "pools_ssh.yml", options=options, state="absent")
        assert gone.rc == 0 and pool_report(gone)["counts"] == {}, gone
        assert provider.list_servers() == [] and sorted(os.listdir(state_dir)) == []
    finally:
        for server in provider.list_servers():
            provider.delete_server(server.provider_id)
        provider.close()


def stored_options(tmp_path) -> list:
    with Store(str(tmp_path / "store.db")) as db:
        return [json.loads(row[0]) for row in db.db.query("SELECT provider_options FROM servers")]


def test_the_pool_keeps_the_key_file_path(tmp_path, sshd):
    options = sshd.options(state_dir=str(tmp_path / "machine"))
    provider = SshProvider.from_options(options).use_fleet(ALL_FLEETS)
    try:
        assert run_playbook(tmp_path, "pools_ssh.yml", options=options, count=1).rc == 0
        assert [o.get("private_key_file") for o in stored_options(tmp_path)] == [sshd.user_key]
    finally:
        for server in provider.list_servers():
            provider.delete_server(server.provider_id)
        provider.close()
