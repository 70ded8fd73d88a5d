# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the integration tests: small `noop` applications, and real `ansible-playbook` runs.

Every run gets ANSIBLE_COLLECTIONS_PATH (this checkout, set by tests/conftest.py) and a temporary
SQLite store through APPGRAPH_STORE; it runs in a temporary directory (no stray ansible.cfg).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
BIN = Path(sys.executable).parent

# Three roots; the api servers import from the database; an optional import for the balancer.
SHOP_APP = """\
application: shop
components:
  Host: {installer: noop, children: [Db, Api, Lb]}
  Db:   {installer: noop, exports: {ip: null, port: 5432}}
  Api:  {installer: noop, imports: [Db.ip, Db.port], exports: {port: 8080}}
  Lb:   {installer: noop, imports: ["Api.* (optional)"]}
instances:
  - {name: db-vm, component: Host, children: [{name: db, component: Db}]}
  - {name: api-vm, component: Host, count: 2, children: [{name: api, component: Api}]}
  - {name: lb-vm, component: Host, children: [{name: lb, component: Lb}]}
"""
SHOP_PATHS = ["/db-vm", "/db-vm/db", "/api-vm 1", "/api-vm 1/api", "/api-vm 2", "/api-vm 2/api",
              "/lb-vm", "/lb-vm/lb"]

TIERS_APP = """\
application: tiers
components:
  Host:      {installer: noop, children: [Container]}
  Container: {installer: noop, children: [App]}
  App:       {installer: noop}
instances:
  - {name: host, component: Host, children: [{name: container, component: Container, children: [{name: app, component: App}]}]}
"""

# The thing's deploy recipe exits with 3: its deploy fails.
FAILING_APP = """\
application: failing
components:
  Host:  {installer: noop, children: [Thing]}
  Thing: {installer: script, recipes: failing-thing}
instances:
  - {name: host, component: Host, children: [{name: thing, component: Thing}]}
"""
FAILING_DEPLOY = "#!/usr/bin/env bash\necho 'the thing cannot be deployed' >&2\nexit 3\n"

# No installer is called `puppet`: the application loads and plans; a run that needs it is refused.
PUPPET_APP = """\
application: puppets
components:
  Host:  {installer: noop, children: [Thing]}
  Thing: {installer: puppet}
instances:
  - {name: host, component: Host, children: [{name: thing, component: Thing}]}
"""

# Line 6 names a component that does not exist.
BAD_APP = """\
application: broken
components:
  Host: {installer: noop, children: [Web]}
  Web:
    installer: noop
    imports: [Nope.port]
instances:
  - {name: host, component: Host}
"""
BAD_LINE = 6

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)"
                   r"\s+rescued=(\d+)\s+ignored=(\d+)", re.M)


@dataclass(repr=False)
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str

    @property
    def recap(self) -> dict:
        """The PLAY RECAP line of localhost: ``{ok, changed, unreachable, failed, skipped, rescued, ignored}``."""
        for match in RECAP.finditer(self.stdout):
            if match.group(1) == "localhost":
                keys = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
                return dict(zip(keys, (int(v) for v in match.groups()[1:])))
        raise AssertionError("no PLAY RECAP for localhost in:\n%s\n%s" % (self.stdout, self.stderr))

    def failures(self) -> list:
        """The JSON results of the ``fatal: [localhost]: FAILED! => {...}`` lines."""
        out = []
        for match in re.finditer(r"^fatal: \[localhost\]: FAILED! => (\{.*\})\s*$", self.stdout, re.M):
            out.append(json.loads(match.group(1)))
        return out

    def __str__(self) -> str:
        return "rc=%d\n--- stdout\n%s\n--- stderr\n%s" % (self.rc, self.stdout, self.stderr)

    __repr__ = __str__      # pytest shows an assertion's message with repr()


def ansible_env(store: Path) -> dict:
    env = dict(os.environ)
    env.update({
        "APPGRAPH_STORE": str(store),
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_CALLBACK_FORMAT_PRETTY": "False",
        "PATH": "%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")),
    })
    return env


def run_playbook(workdir: Path, playbook: str, *args: str, store: Path | None = None, timeout: float = 120,
                 env: dict | None = None, **extra_vars) -> PlaybookRun:
    """``ansible-playbook playbooks/<playbook> -e <extra_vars as JSON> <args>`` in ``workdir``
    (``env``: variables added to its environment)."""
    store = store or workdir / "store.db"
    command = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / playbook), "-e", json.dumps(extra_vars)] + list(args)
    proc = subprocess.run(command, cwd=str(workdir), env=dict(ansible_env(store), **(env or {})), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr)
