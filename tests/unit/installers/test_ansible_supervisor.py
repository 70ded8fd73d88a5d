# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The supervisor of a run's ansible-playbook: it runs the program with its arguments and its exit
status, starts nothing when its parent is already gone, and kills the run's tree when its parent
dies (a real parent process killed -9, a real child tree)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.ansible_supervisor import (
    ORPHANED, PARENT_ENV, main)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local_processes import pid_alive
from ansible_collections.appgraph.lifecycle.tests.helpers.paths import COLLECTIONS_ROOT
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until


def test_it_runs_the_program_and_gives_its_status(tmp_path):
    out = tmp_path / "out"
    assert main(["/bin/sh", "marker", "-c", "echo ran > %s; exit 3" % out], environ={}) == 3
    assert out.read_text(encoding="utf-8") == "ran\n"


def test_it_starts_nothing_when_its_parent_is_already_gone(tmp_path):
    out = tmp_path / "out"
    assert main(["/bin/sh", "marker", "-c", "echo ran > %s" % out], environ={PARENT_ENV: "1"}) == ORPHANED
    assert not out.exists()


PARENT = """
import os, subprocess, sys
sys.path.insert(0, sys.argv[1])
env = dict(os.environ, APPGRAPH_RUN_PARENT=str(os.getpid()))
boot = ("import sys; sys.path.insert(0, %r); from ansible_collections.appgraph.lifecycle.plugins.module_utils."
        "installers.ansible_supervisor import main; sys.exit(main())" % sys.argv[1])
# a run whose grandchild is in a session of its own, as ansible-core's workers are
script = "setsid sh -c 'echo $$ > %s/task.pid; exec sleep 300' & wait # %s" % (sys.argv[2], sys.argv[3])
subprocess.Popen([sys.executable, "-c", boot, "/bin/sh", sys.argv[3], "-c", script], env=env)
print("started", flush=True)
sys.stdin.read()
"""


def test_the_run_dies_with_its_parent(tmp_path):
    marker = "appgraph-marker-%s" % os.urandom(4).hex()
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(COLLECTIONS_ROOT), str(tmp_path), marker],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline() == "started\n"
        pid_file = tmp_path / "task.pid"
        wait_until(lambda: pid_file.exists() and pid_file.read_text(encoding="utf-8").strip(),
                   what="the run's task to start")
        task = int(pid_file.read_text(encoding="utf-8"))
        assert pid_alive(task)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        wait_until(lambda: not pid_alive(task), what="the task to die with the parent")
    finally:
        if parent.poll() is None:
            parent.kill()
