# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An ``ssh`` server whose key is given inline in the application file (a secret option, never
stored): the ``script`` recipes and the ``ansible`` playbooks of the instances on it reach it with
that key (the tests' real sshd on 127.0.0.1). On the old code the operations' provider was made
from the stored options alone, without the key: the playbooks could not log in."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.names import safe_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

RECIPES = Path(__file__).resolve().parent / "ansible_recipes"
SCRIPT = "#!/usr/bin/env bash\nset -eu\necho \"$APPGRAPH_OPERATION\" >> \"$APPGRAPH_DATA_DIR/ops.log\"\n"


def write_app(tmp_path: Path, options: dict) -> str:
    shutil.copytree(RECIPES, tmp_path / "recipes", dirs_exist_ok=True)
    scripts = tmp_path / "recipes" / "script" / "scripts"
    scripts.mkdir(parents=True)
    for op in ("deploy", "start"):
        (scripts / ("%s.sh" % op)).write_text(SCRIPT, encoding="utf-8")
        (scripts / ("%s.sh" % op)).chmod(0o755)
    document = {"application": "keyed",
                "components": {"VM": {"installer": "server", "provider": "ssh", "provider_options": options,
                                      "children": ["Scripted", "Played"]},
                               "Scripted": {"installer": "script", "recipes": "recipes/script"},
                               "Played": {"installer": "ansible", "recipes": "recipes/base"}},
                "instances": [{"name": "vm", "component": "VM", "children": [
                    {"name": "scripted", "component": "Scripted"}, {"name": "played", "component": "Played"}]}]}
    path = tmp_path / "keyed.app.yml"
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return str(path)


def test_recipes_and_playbooks_reach_a_server_whose_key_is_inline(tmp_path, sshd):
    machine = tmp_path / "machine"
    options = sshd.options(hosts={"box": sshd.host()}, state_dir=str(machine), python_interpreter=sys.executable)
    with open(options.pop("private_key_file"), encoding="utf-8") as handle:
        key = handle.read()
    options["private_key"] = key
    src = write_app(tmp_path, options)
    installers = InstallerRegistry(settings={"server": {"backoff_initial": 0.02, "backoff_max": 0.2}})
    store_file = tmp_path / "state" / "store.db"
    with Store(str(store_file)) as store:
        result = engine.ensure_application(store, src=src, state="started", installers=installers, timeout=240)
        assert result["failed_operations"] == [], [o.get("error") for o in result["failed_operations"]]
        assert {i["state"] for i in result["instances"]} == {"deployed_started"}
        slot = machine / "box" / "instances"
        assert (slot / safe_name("/vm/played") / "base-deploy.txt").read_text(encoding="utf-8") == "Played /vm/played"
        assert (slot / safe_name("/vm/scripted") / "data" / "ops.log").read_text(encoding="utf-8") == "deploy\nstart\n"

        result = engine.ensure_application(store, src=src, state="undeployed", installers=installers, timeout=240)
        assert result["failed_operations"] == [], [o.get("error") for o in result["failed_operations"]]
    secret_line = key.splitlines()[1].encode()
    for stored in [f for f in store_file.parent.glob("store.db*") if f.is_file()]:     # the WAL too
        assert secret_line not in stored.read_bytes(), stored
    assert not os.listdir(machine)
