# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo's status table, as .ci/demo prints it (ANSIBLE_CALLBACK_RESULT_FORMAT=yaml): an aligned
block of text with a row per instance, not a JSON list of strings. ``--tags status`` adds the
webshop to a store of the test's own (no server is started) and prints the table."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .helpers import BIN, ansible_env

ROOT = Path(__file__).resolve().parents[2]


def test_the_status_table_is_aligned_text(tmp_path):
    env = ansible_env(tmp_path / "store.db")
    env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = "yaml"
    run = subprocess.run([str(BIN / "ansible-playbook"), str(ROOT / "playbooks" / "demo.yml"), "--tags", "status",
                          "-e", "demo_out_dir=%s" % tmp_path], cwd=str(tmp_path), env=env, capture_output=True,
                         text=True, check=False, stdin=subprocess.DEVNULL, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    block = run.stdout.split("TASK [Status of the webshop]", 1)[1].split("PLAY RECAP", 1)[0]
    assert "msg: |-" in block and '["' not in block
    lines = [line.strip() for line in block.splitlines()[3:] if line.strip()]
    assert lines[0].split() == ["PATH", "COMPONENT", "STATE", "LAST", "ERROR"]
    assert len(lines) == 9 and lines[1].startswith("/db-vm ")
    state_column = lines[0].index("STATE")
    for line in lines[1:]:
        assert re.match(r"^not_deployed$", line[state_column:].strip()), line   # every state in one column
