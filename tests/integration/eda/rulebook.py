# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real ``ansible-rulebook`` for the EDA tests: started in a session of its own with the test's
store, its output in files, waited on with deadlines, and always stopped (its whole process group)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ..helpers import BIN, ansible_env
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

HERE = Path(__file__).resolve().parent
RULEBOOKS = HERE / "rulebooks"
PLAYBOOKS = HERE / "playbooks"


def require_rulebook() -> str:
    """The ansible-rulebook next to this Python (with a Java runtime), else skip."""
    found = shutil.which("ansible-rulebook", path=str(BIN))
    if not found:
        pytest.skip("ansible-rulebook is not installed (bash .ci/setup installs it)")
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("ansible-rulebook needs a Java runtime (bash .ci/setup installs openjdk-17-jre-headless)")
    return found


def rulebook_env(store, state_dir, **extra) -> dict:
    env = ansible_env(Path("."))
    env.update({"APPGRAPH_STORE": str(store), "XDG_STATE_HOME": str(state_dir), "PYTHONUNBUFFERED": "1",
                "ANSIBLE_LOCAL_TEMP": str(Path(state_dir) / "ansible-tmp")})
    env.update({key: str(value) for key, value in extra.items()})
    return env


# run_playbook needs an inventory file; localhost runs with the Python of ansible-playbook itself.
INVENTORY = """\
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


class Rulebook:
    """``ansible-rulebook -r <rulebook> -i inventory.yml -v`` with ``args``; ``output`` is what it printed."""

    def __init__(self, rulebook: str, workdir: Path, env: dict, *args: str, name: str = "rulebook"):
        inventory = workdir / "inventory.yml"
        inventory.write_text(INVENTORY, encoding="utf-8")
        self.command = [require_rulebook(), "-r", rulebook, "-i", str(inventory), "-v"] + list(args)
        self.log = workdir / ("%s.%d.log" % (name, time.monotonic_ns()))
        self.workdir, self.env = workdir, env
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Rulebook":
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.command, cwd=str(self.workdir), env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_until(self, predicate, timeout: float = 90.0, what: str = "the condition"):
        """``wait_until`` that fails at once, with the rulebook's output, if the rulebook ended."""
        def check():
            value = predicate()
            if not value and self.proc.poll() is not None:
                raise AssertionError("ansible-rulebook ended (rc=%s) before %s:\n%s"
                                     % (self.proc.returncode, what, self.output[-4000:]))
            return value
        return wait_until(check, timeout, what=what)

    def kill(self) -> None:
        """kill -9 of the rulebook and everything it started."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> "Rulebook":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run_eda_playbook(workdir: Path, playbook: str, store, timeout: float = 120, **extra_vars):
    """``ansible-playbook tests/integration/eda/playbooks/<playbook>`` against ``store``."""
    command = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / playbook), "-e", json.dumps(extra_vars)]
    env = dict(ansible_env(Path(".")), APPGRAPH_STORE=str(store))
    proc = subprocess.run(command, cwd=str(workdir), env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, "rc=%d\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr)
    return proc
