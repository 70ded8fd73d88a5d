# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory the ``ansible`` installer writes for a run, read by a real ``ansible-playbook``:
the instance's values arrive as data (a template in them is never run), in JSON, and in YAML when
a mapping key is one that Ansible's JSON decoder would take for its own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.ansible_vars import inventory_file

from .helpers import BIN, ansible_env

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        content: "{{ {'data': appgraph_data, 'imports': appgraph_imports, 'name': appgraph_instance_name} | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname | replace('/', '_') }}.json"
        mode: "0600"
"""


@pytest.mark.parametrize("data, kind", [
    ({"text": "{{ lookup('pipe', 'touch PWNED') }}", "n": 3, "flag": True, "none": None, "list": ["{{ 1 + 1 }}", 2.5]},
     "hosts.json"),
    ({"__ansible_unsafe": "not a marker", "__ansible_type": {"x": "{{ 7 * 6 }}"}}, "hosts.yml"),
])
def test_the_instance_values_reach_the_tasks_as_written(tmp_path, data, kind):
    hosts = {"/vm 1/web": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                           "appgraph_data": data, "appgraph_imports": {"Db": [{"ip": "{{ 6 * 7 }}", "port": 5432}]},
                           "appgraph_instance_name": "web {{ x }}"}}
    name, text = inventory_file(hosts)
    assert name == kind
    (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "play.yml").write_text(PLAY, encoding="utf-8")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / name), str(tmp_path / "play.yml"),
                           "-e", "out=%s" % tmp_path], cwd=str(tmp_path), env=ansible_env(tmp_path / "store.db"),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads((tmp_path / "_vm 1_web.json").read_text(encoding="utf-8"))
    assert seen == {"data": data, "imports": {"Db": [{"ip": "{{ 6 * 7 }}", "port": 5432}]}, "name": "web {{ x }}"}
    assert not (tmp_path / "PWNED").exists()
