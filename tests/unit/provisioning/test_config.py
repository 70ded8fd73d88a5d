# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""provisioners.yml: its schema (and the file generated from it), and errors with file:line, key and hint."""

from __future__ import annotations

import json

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, InputErrors
from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.config import (
    choose_offerings, load_config)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.schema import schema_json

from .helpers import plugin_registry

GOOD = """\
default: dreamfactory
provisioners:
  dreamfactory:
    provides:
      instance: {name: server, options: {source: reserve, reserve: tenants}}
      storage: tree
      database: sqlite
    offerings:
      version: {values: ["2.0", "2.1"], default: "2.1"}
      plan: {values: [small, large]}
    resource_uri: "https://{instance_id}.example.com/"
  lite:
    provides:
      instance: server
snapshots: {directory: backups, keep_days: 30, compression: gzip}
"""


def write(tmp_path, text):
    path = tmp_path / "provisioners.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def errors_of(tmp_path, text) -> list:
    with pytest.raises(InputError) as caught:
        load_config(write(tmp_path, text), plugin_registry())
    found = caught.value.errors if isinstance(caught.value, InputErrors) else [caught.value]
    return [(e.location.line, e.key, e.message, e.hint) for e in found]


def test_the_schema_file_is_generated_from_the_code(repo_root):
    assert (repo_root / "schemas" / "provisioners.schema.json").read_text(encoding="utf-8") == schema_json()


def test_a_good_file(tmp_path):
    config = load_config(write(tmp_path, GOOD), plugin_registry())
    chosen = config.provisioner(None)
    assert chosen.name == "dreamfactory" and chosen.roles == ["instance", "storage", "database"]
    assert chosen.provides["instance"] == ("server", {"source": "reserve", "reserve": "tenants"})
    assert config.snapshots.directory == str(tmp_path / "backups") and config.snapshots.keep_days == 30
    assert config.provisioner("lite").roles == ["instance"]


@pytest.mark.parametrize("text, line, key, words", [
    (GOOD.replace("storage: tree", "storage: trees"), 6, "storage", "did you mean 'tree'"),
    (GOOD.replace("database: sqlite", "database: oracle"), 7, "database", "no database sub-provisioner"),
    (GOOD.replace("resource_uri", "resource-uri"), 11, "resource-uri", "unknown key"),
    (GOOD.replace("default: dreamfactory", "default: dreamfactroy"), 1, "default", "did you mean 'dreamfactory'"),
    (GOOD.replace('default: "2.1"', 'default: "3.0"'), 9, "default", "not one of the values"),
    (GOOD.replace("source: reserve, reserve: tenants", "source: reserve"), 5, "reserve", "needs the option"),
    (GOOD.replace("source: reserve", "source: cloud"), 5, "source", "not a source"),
    (GOOD.replace("reserve: tenants", "reserve: tenants, colour: red"), 5, "colour", "unknown option"),
    (GOOD.replace("      instance: server\n", "      storage: tree\n"), 13, "provides", "'instance' is missing"),
    (GOOD.replace("keep_days: 30", "keep_days: -1"), 15, "keep_days", "less than the minimum"),
    (GOOD.replace("compression: gzip", "compression: rar"), 15, "compression", "is not one of"),
    ("provisioners: {}\n", 1, "provisioners", "should be non-empty"),
    ("provisioners:\n  a: {provides: {instance: server}}\n  b: {provides: {instance: server}}\n", 1, "default",
     "no default"),
    ("provisioners: [\n", 2, None, "YAML syntax error"),
    ("- just\n- a list\n", 1, None, "is a mapping"),
])
def test_errors_say_line_key_and_what_to_do(tmp_path, text, line, key, words):
    found = errors_of(tmp_path, text)
    assert any(e[0] == line and e[1] == key and words in "%s %s" % (e[2], e[3]) for e in found), found


def test_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read the file"):
        load_config(str(tmp_path / "nope.yml"))


def test_offerings_defaults_choices_and_required(tmp_path):
    chosen = load_config(write(tmp_path, GOOD), plugin_registry()).provisioner("dreamfactory")
    assert choose_offerings(chosen, {"plan": "small"}) == {"plan": "small", "version": "2.1"}
    with pytest.raises(InputErrors) as caught:
        choose_offerings(chosen, {})
    assert [e.key for e in caught.value.errors] == ["offerings.plan"]
    with pytest.raises(InputErrors) as caught:
        choose_offerings(chosen, {"plan": "huge", "versoin": "2.0"})
    hints = {"offerings.versoin": "did you mean 'version'?", "offerings.plan": "one of small, large"}
    assert {e.key: e.hint for e in caught.value.errors} == hints
    with pytest.raises(InputError):
        choose_offerings(chosen, ["plan"])


def test_sub_provisioners_come_from_entry_points(tmp_path):
    text = GOOD.replace("database: sqlite", "database: {name: blocking, options: {directory: /tmp/x}}")
    config = load_config(write(tmp_path, text), plugin_registry())
    assert config.provisioner(None).provides["database"] == ("blocking", {"directory": "/tmp/x"})
    assert json.loads(schema_json())["properties"]["provisioners"]["minProperties"] == 1
