# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``appgraph.lifecycle.batched`` strategy: a real ``ansible-playbook`` of tasks that stress
what a strategy must keep (facts, loops, per-host failures, rescue, handlers, run_once, throttle,
a role's files) gives every host the same outcome as ``ansible.builtin.linear``, with a few
worker processes instead of one per host."""

from __future__ import annotations

import os
import sys

import pytest

from .helpers import RECAP, run_playbook

HOSTS = 12


def inventory(tmp_path) -> str:
    path = tmp_path / "hosts.ini"
    lines = ["[probes]"] + ["probe-%02d number=%d" % (i, i) for i in range(1, HOSTS + 1)]
    lines += ["[probes:vars]", "ansible_connection=local", "ansible_python_interpreter=%s" % sys.executable]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run(tmp_path, strategy: str):
    out = tmp_path / strategy
    out.mkdir()
    result = run_playbook(tmp_path, "strategy_semantics.yml", "-i", inventory(tmp_path), "-f", "50", out_dir=str(out),
                          env={"ANSIBLE_STRATEGY": strategy})
    recap = {m.group(1): tuple(int(v) for v in m.groups()[1:]) for m in RECAP.finditer(result.stdout)}
    files = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir() if not p.name.endswith(".worker")}
    workers = {p.read_text(encoding="utf-8").strip() for p in out.iterdir() if p.name.endswith(".worker")}
    return result, recap, files, workers


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    return run(tmp_path_factory.mktemp("linear"), "linear")


def test_every_host_ends_as_under_linear(tmp_path, linear):
    base_run, base_recap, base_files, base_workers = linear
    got_run, got_recap, got_files, got_workers = run(tmp_path, "appgraph.lifecycle.batched")
    assert got_run.rc == base_run.rc == 2, got_run           # some hosts failed on purpose
    assert got_recap == base_recap, got_run
    assert got_files == base_files
    # What that outcome is, host by host (so that both agreeing on a wrong one fails too).
    failed = {"probe-%02d" % i for i in range(5, HOSTS + 1, 5)}
    survivors = {"probe-%02d" % i for i in range(1, HOSTS + 1)} - failed
    assert {h for h, counts in got_recap.items() if counts[3]} == failed    # failed=1
    assert {n[:-len(".txt")] for n in got_files if n.endswith(".txt") and n.startswith("probe")} == survivors
    assert {n[:-len(".handler")] for n in got_files if n.endswith(".handler")} == survivors
    assert {n[:-len(".rescued")] for n in got_files if n.endswith(".rescued")} == \
        {h for h in survivors if int(h[-2:]) % 2 == 1}
    assert got_files["probe-07.txt"] == "host=probe-07 number=7 doubled=14 squares=0,1,2,3,4,5,6,7\n"
    assert got_files["run_once.txt"].strip() == str(len(survivors))
    # One worker per host under linear; under batched one per CPU (or per 16 hosts).
    assert len(base_workers) == len(survivors)
    assert 1 <= len(got_workers) <= max(os.cpu_count() or 1, -(-HOSTS // 16))
