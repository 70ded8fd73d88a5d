# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/awx/provisioning: the provisioning job templates' surveys are ones AWX accepts, each
survey variable is one its playbook reads, the playbooks (and the awx.awx configuration playbook,
with the awx.awx collection that .ci/setup unpacks into tests/output/collections) pass
``--syntax-check``, and survey answers (strings, empty ones) run the provision and deprovision playbooks."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.config import load_config
from ansible_collections.appgraph.lifecycle.tests.unit.provisioning.helpers import write_config

from .helpers import BIN, run_playbook

ROOT = Path(__file__).resolve().parents[2]
HERE = ROOT / "examples" / "awx" / "provisioning"
AWX_COLLECTIONS = ROOT / "tests" / "output" / "collections"
TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str, "integer": int,
         "float": (float, int)}


def templates() -> list:
    return yaml.safe_load((HERE / "job_templates.yml").read_text(encoding="utf-8"))["appgraph_job_templates"]


def problems_of(spec: list) -> list:
    """What AWX's API refuses when a survey spec is saved (JobTemplateSurveySpec's rules, restated)."""
    problems, seen = [], set()
    for question in spec:
        variable, kind, default = question.get("variable"), question.get("type"), question.get("default", "")
        for key, expected in (("question_name", str), ("variable", str), ("type", str), ("required", bool)):
            if not isinstance(question.get(key), expected):
                problems.append("%s: %s must be a %s" % (variable, key, expected.__name__))
        if variable in seen or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable or ""):
            problems.append("%s: a repeated or invalid variable" % variable)
        seen.add(variable)
        if kind not in TYPES:
            problems.append("%s: unknown type %s" % (variable, kind))
            continue
        if default != "" and (isinstance(default, bool) or not isinstance(default, TYPES[kind])):
            problems.append("%s: default %r is not a %s" % (variable, default, kind))
        choices = question.get("choices")
        if kind in ("multiplechoice", "multiselect") and (not choices or (default != "" and default not in choices)):
            problems.append("%s: choices, and a default among them" % variable)
        if kind in ("text", "textarea") and default != "" and not question.get("min", 0) <= len(default) <= \
                question.get("max", 1024):
            problems.append("%s: default outside min/max" % variable)
    return problems


def test_the_checks_find_what_awx_refuses():
    bad = [{"question_name": "a", "variable": "x", "type": "multiplechoice", "required": True, "choices": ["1"],
            "default": "2"}, {"question_name": "b", "variable": "x", "type": "date", "required": "yes"},
           {"question_name": "c", "variable": "y", "type": "integer", "required": True, "default": "3"}]
    found = problems_of(bad)
    assert len(found) == 5, found


@pytest.mark.parametrize("template", templates(), ids=lambda t: t["name"])
def test_each_survey_is_one_awx_accepts_and_its_playbook_reads(template):
    assert set(template) == {"name", "playbook", "description", "survey"}
    assert problems_of(template["survey"]) == []
    playbook = (ROOT / template["playbook"]).read_text(encoding="utf-8")
    unread = [q["variable"] for q in template["survey"] if not re.search(r"\b%s\b" % q["variable"], playbook)]
    assert unread == []


def test_the_four_services_have_a_template():
    assert sorted(t["playbook"] for t in templates()) == ["playbooks/deprovision.yml", "playbooks/export.yml",
                                                          "playbooks/import.yml", "playbooks/provision.yml"]


def test_the_example_provisioners_file_loads():
    config = load_config(str(ROOT / "examples" / "provisioning" / "provisioners.yml"))
    assert sorted(config.provisioners) == ["dreamfactory", "shared"] and config.default == "dreamfactory"


def syntax_check(playbook: Path, extra_paths=()) -> subprocess.CompletedProcess:
    paths = [os.environ["ANSIBLE_COLLECTIONS_PATH"]] + [str(p) for p in extra_paths]
    return subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", str(playbook)], capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL, timeout=120,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(paths)))


def test_the_playbooks_pass_syntax_check():
    for template in templates():
        result = syntax_check(ROOT / template["playbook"])
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not (AWX_COLLECTIONS / "ansible_collections" / "awx" / "awx").is_dir(),
                    reason="no awx.awx in tests/output/collections: bash .ci/setup unpacks it")
def test_the_awx_configuration_playbook_passes_syntax_check():
    result = syntax_check(HERE / "setup" / "configure.yml", [AWX_COLLECTIONS])
    assert result.returncode == 0, result.stdout + result.stderr


def test_survey_answers_run_the_playbooks(workdir, local_root):
    """AWX passes every answer as a string, the optional ones empty."""
    config = write_config(workdir, local_root)
    made = run_playbook(workdir, str(ROOT / "playbooks" / "provision.yml"), owner_id="acme", instance_id="shop1",
                        guest_location="", offerings='{"version": "2.0"}', provisioner="", provisioners=config)
    assert made.rc == 0 and made.recap["changed"] == 1, made
    gone = run_playbook(workdir, str(ROOT / "playbooks" / "deprovision.yml"), instance_id="shop1", keep_database="true")
    assert gone.rc == 0 and gone.recap["changed"] == 1, gone
    assert os.path.exists(workdir / "databases" / "shop1.sqlite")      # kept, as asked
