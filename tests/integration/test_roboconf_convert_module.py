# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roboconf_convert from a collection installed from its tarball, as a user has it (no checkout,
no PYTHONPATH): the module and the collection playbook; check, diff, idempotence, a located error
for a broken .graph file (tests/unit/roboconf/test_examples.py loads what it converts)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import BIN, ansible_env

ROOT = Path(__file__).resolve().parents[2]
LAMP = ROOT / "tests" / "unit" / "fixtures" / "roboconf-examples" / "lamp-webapp-bash"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A collections path holding only appgraph.lifecycle, installed from the built tarball."""
    out = tmp_path_factory.mktemp("installed")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    tarball = next(out.glob("appgraph-lifecycle-*.tar.gz"))
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(out / "collections"),
                    str(tarball)], check=True, capture_output=True, text=True,
                   env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(out / "collections")))
    return out / "collections"


def as_user(workdir: Path, installed: Path, *args: str) -> subprocess.CompletedProcess:
    env = ansible_env(workdir / "store.db")
    env["ANSIBLE_COLLECTIONS_PATH"] = str(installed)          # the installed copy only, not this checkout
    env.pop("PYTHONPATH", None)
    env["PWD"] = str(workdir)
    return subprocess.run([str(BIN / "ansible-playbook")] + list(args), cwd=str(workdir), env=env,
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=120)


def task_playbook(workdir: Path, src: Path, dest: str) -> str:
    path = workdir / "convert.yml"
    path.write_text(json.dumps([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "tasks": [{"name": "convert", "register": "converted",
                   "appgraph.lifecycle.roboconf_convert": {"src": str(src), "dest": dest}},
                  {"ansible.builtin.debug": {"var": "converted"}}]}]), encoding="utf-8")
    return str(path)


def test_the_module_from_an_installed_collection(tmp_path, installed):
    dest = tmp_path / "lamp.app.yml"
    playbook = task_playbook(tmp_path, LAMP, str(dest))
    check = as_user(tmp_path, installed, playbook, "--check", "--diff")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "changed=1" in check.stdout and not dest.exists()
    assert "+application:" in check.stdout

    first = as_user(tmp_path, installed, playbook)
    assert first.returncode == 0 and "changed=1" in first.stdout, first.stdout + first.stderr
    assert dest.read_text(encoding="utf-8").splitlines()[1].startswith("application:")
    again = as_user(tmp_path, installed, playbook)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout + again.stderr


def test_the_collection_playbook_with_relative_paths(tmp_path, installed):
    shutil.copytree(LAMP, tmp_path / "lamp")
    run = as_user(tmp_path, installed, "appgraph.lifecycle.roboconf_convert", "-e", "src=lamp", "-e", "dest=lamp.app.yml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "lamp.app.yml").is_file()
    assert "is in %s" % (tmp_path / "lamp.app.yml") in run.stdout


def test_a_broken_graph_is_named_and_nothing_is_written(tmp_path, installed):
    broken = tmp_path / "broken"
    shutil.copytree(LAMP, broken)
    graph = next((broken / "graph").glob("*.graph"))
    graph.write_text(graph.read_text(encoding="utf-8") + "\nOops {\n  installer: ;\n", encoding="utf-8")
    dest = tmp_path / "out.app.yml"
    tasks = [{"name": name, "ignore_errors": True, "appgraph.lifecycle.roboconf_convert": {"src": str(src), "dest": out}}
             for name, src, out in (("broken", broken, str(dest)), ("no folder", LAMP, str(tmp_path / "no" / "x.app.yml")))]
    (tmp_path / "bad.yml").write_text(json.dumps([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                                   "tasks": tasks}]), encoding="utf-8")
    run = as_user(tmp_path, installed, str(tmp_path / "bad.yml"))
    assert "failed=0" in run.stdout and "ignored=2" in run.stdout, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert "%s:" % graph.name in run.stdout and '"error_location"' in run.stdout
    assert "does not exist: create it first" in run.stdout
    assert not dest.exists()
