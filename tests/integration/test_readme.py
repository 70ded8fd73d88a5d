# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""README.md as a user reads it: it starts with the two commands for a fresh machine, then the
install section; its five-minute start runs as written (a store of the test's own)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .helpers import ansible_env

README = Path(__file__).resolve().parents[2] / "README.md"


def test_it_starts_with_the_two_commands_then_the_install():
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    assert text.startswith("```bash\n")
    assert [line.split("#")[0].strip() for line in first_block.splitlines()] == ["bash .ci/demo", "bash .ci/run"]
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:2] == ["## Install", "## Five minutes"]
    assert "ansible-galaxy collection install" in text.split("## Five minutes", 1)[0]
    assert "../" not in text.split("## For contributors", 1)[0]      # no link out of the repository


def test_the_five_minute_start_runs_as_written(tmp_path):
    script = README.read_text(encoding="utf-8").split("## Five minutes", 1)[1].split("```bash\n", 1)[1]
    script = script.split("```", 1)[0]
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=str(tmp_path),
                         env=ansible_env(tmp_path / "store.db"), capture_output=True, text=True, check=False,
                         stdin=subprocess.DEVNULL, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "unresolved" in run.stdout
    assert (tmp_path / "shop" / "shop.svg").is_file()
    assert "failed=0" in run.stdout
