# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/awx: the AWX configuration as code, its surveys, its credential type, its playbooks.

- Every survey passes the checks AWX's API makes when a survey spec is saved (JobTemplateSurveySpec:
  the question fields and their types, unique variables, defaults of the question's type and among
  its choices, integer limits), and every survey variable is one its playbook reads.
- ``ansible-playbook --syntax-check`` passes for configure.yml (with the awx.awx collection that
  ``.ci/setup`` unpacks into tests/output/collections) and every job template's playbook; every
  option configure.yml gives an awx.awx module is one that module documents.
- The credential type's injectors, rendered as AWX renders them, give a job the store: the
  converge job template's playbook, run with its survey's answers as extra vars and the injected
  environment, converges an application in that store (SQLite, and PostgreSQL with the password
  apart from the DSN); inside an AWX job, a SQLite store gets the warning that it will not survive.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from pathlib import Path

import jinja2.sandbox
import pytest
import yaml

from .helpers import BIN, ansible_env

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "examples" / "awx"
AWX_COLLECTION = ROOT / "tests" / "output" / "collections" / "ansible_collections" / "awx" / "awx"
# AWX's SURVEY_TYPE_MAPPING: question type -> the Python types a default may have.
SURVEY_TYPES = {"text": (str,), "textarea": (str,), "password": (str,), "multiplechoice": (str,),
                "multiselect": (str,), "integer": (int,), "float": (float, int)}
NOOP_APP = """\
application: awxshop
components:
  Host: {installer: noop, children: [Db]}
  Db:   {installer: noop, exports: {port: 5432}}
instances:
  - {name: db-vm, component: Host, children: [{name: db, component: Db}]}
"""


def job_templates() -> list:
    """The definitions of job_templates.yml and of every provisioning/*.yml."""
    files = [AWX / "job_templates.yml"] + sorted((AWX / "provisioning").glob("*.yml"))
    templates = []
    for path in files:
        templates.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["appgraph_job_templates"])
    return templates


def survey_problems(spec: list) -> list:
    """What AWX's API would refuse in a survey's questions (its rules, restated)."""
    problems, seen = [], set()
    for index, question in enumerate(spec):
        where = "question %d (%s)" % (index, question.get("variable") if isinstance(question, dict) else question)
        if not isinstance(question, dict):
            problems.append("%s: not a mapping" % where)
            continue
        for key, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
            if not isinstance(question.get(key), kind):
                problems.append("%s: %r must be a %s" % (where, key, kind.__name__))
        qtype, variable = question.get("type"), question.get("variable")
        if variable in seen:
            problems.append("%s: variable %r appears twice" % (where, variable))
        seen.add(variable)
        if qtype not in SURVEY_TYPES:
            problems.append("%s: type %r is not one of %s" % (where, qtype, ", ".join(SURVEY_TYPES)))
            continue
        default = question.get("default", "")
        if default != "" and (not isinstance(default, SURVEY_TYPES[qtype]) or isinstance(default, bool)):
            problems.append("%s: default %r is not a %s" % (where, default, qtype))
        for key in ("min", "max"):
            if question.get(key) is not None and not isinstance(question[key], int):
                problems.append("%s: %s must be an integer" % (where, key))
        if qtype in ("multiplechoice", "multiselect"):
            choices = question.get("choices")
            if not choices:
                problems.append("%s: a %s question needs choices" % (where, qtype))
            elif default != "" and any(d not in choices for d in str(default).splitlines()):
                problems.append("%s: default %r is not among the choices %s" % (where, default, choices))
        if qtype in ("integer", "float") and default != "" and isinstance(default, (int, float)):
            low, high = question.get("min"), question.get("max")
            if (low is not None and default < low) or (high is not None and default > high):
                problems.append("%s: default %r is outside [%s, %s]" % (where, default, low, high))
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", variable or ""):
            problems.append("%s: %r is not a variable name" % (where, variable))
    return problems


def syntax_check(*playbooks: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(
        [os.environ["ANSIBLE_COLLECTIONS_PATH"], str(AWX_COLLECTION.parents[2])]))
    return subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check"] + [str(p) for p in playbooks], env=env,
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.parametrize("template", job_templates(), ids=lambda t: t["name"])
def test_survey_is_one_awx_accepts_and_its_playbook_reads(template):
    assert set(template) <= {"name", "playbook", "description", "survey", "credentials_extra", "ask_limit"}
    assert survey_problems(template["survey"]) == []
    playbook = (ROOT / template["playbook"]).read_text(encoding="utf-8")
    unread = [q["variable"] for q in template["survey"] if not re.search(r"\b%s\b" % q["variable"], playbook)]
    assert not unread, "%s: survey variables its playbook never reads: %s" % (template["playbook"], unread)


def test_the_survey_checks_find_what_awx_refuses():
    bad = [{"type": "multiplechoice", "question_name": "x", "variable": "a", "required": True,
            "choices": ["p", "q"], "default": "r"},
           {"type": "integer", "question_name": "y", "variable": "a", "required": "yes", "default": "3"},
           {"type": "date", "question_name": "z", "variable": "9b", "required": False}]
    problems = survey_problems(bad)
    assert any("not among the choices" in p for p in problems)
    assert any("appears twice" in p for p in problems)
    assert any("'required' must be a bool" in p for p in problems)
    assert any("default '3' is not a integer" in p for p in problems)
    assert any("type 'date'" in p for p in problems)


@pytest.mark.skipif(not AWX_COLLECTION.is_dir(), reason="no awx.awx in tests/output/collections: run bash .ci/setup")
def test_configure_playbook_passes_syntax_check_and_uses_documented_options():
    result = syntax_check(AWX / "configure.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    play = yaml.safe_load((AWX / "configure.yml").read_text(encoding="utf-8"))[0]
    modules = [(name, args) for task in play["tasks"] for name, args in task.items() if name.startswith("awx.awx.")]
    assert {"awx.awx.credential_type", "awx.awx.credential", "awx.awx.project", "awx.awx.inventory_source",
            "awx.awx.job_template"} <= {name for name, _args in modules}
    for name, args in modules:
        options = documented_options(name.rsplit(".", 1)[1])
        assert set(args) <= options, "%s: options it does not document: %s" % (name, set(args) - options)


def documented_options(module: str) -> set:
    source = (AWX_COLLECTION / "plugins" / "modules" / ("%s.py" % module)).read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return set(yaml.safe_load(node.value.value)["options"])
    raise AssertionError("%s has no DOCUMENTATION" % module)


def test_job_template_playbooks_pass_syntax_check():
    playbooks = sorted({t["playbook"] for t in job_templates()})
    result = syntax_check(*(ROOT / playbook for playbook in playbooks))      # one ansible-playbook for all
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("playbook: ") == len(playbooks)


def injected_environment(inputs: dict) -> dict:
    """The environment AWX gives a job with an 'appgraph store' credential: its env injectors,
    rendered with the credential's inputs (AWX renders them with Jinja in a sandbox)."""
    credential_type = yaml.safe_load((AWX / "credential_type.yml").read_text(encoding="utf-8").replace(
        "!unsafe ", ""))["appgraph_credential_type"]
    fields = {field["id"] for field in credential_type["inputs"]["fields"]}
    assert set(credential_type["inputs"]["required"]) <= fields
    sandbox = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    return {name: sandbox.from_string(template).render(**inputs)
            for name, template in credential_type["injectors"]["env"].items()}


def launch_converge(tmp_path: Path, store_env: dict, awx_job: bool) -> subprocess.CompletedProcess:
    """The converge job template's playbook as AWX launches it: survey answers as extra vars."""
    (tmp_path / "awxshop.app.yml").write_text(NOOP_APP, encoding="utf-8")
    template = next(t for t in job_templates() if t["name"] == "appgraph converge")
    answers = {q["variable"]: q.get("default", "") for q in template["survey"]}
    answers.update(appgraph_application="awxshop", appgraph_src=str(tmp_path / "awxshop.app.yml"))
    env = ansible_env(tmp_path / "unused.db")
    env.pop("APPGRAPH_STORE")
    env.pop("APPGRAPH_EXECUTION_ENVIRONMENT", None)
    env.update(store_env)
    if awx_job:
        env.update(AWX_HOST="https://awx.example.com", JOB_ID="42")
    return subprocess.run([str(BIN / "ansible-playbook"), str(ROOT / template["playbook"]), "-e", json.dumps(answers)],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=120)


def test_an_awx_job_with_a_sqlite_store_is_warned_that_it_will_not_survive(tmp_path):
    env = injected_environment({"dsn": str(tmp_path / "job.db"), "password": ""})
    assert env == {"APPGRAPH_STORE": str(tmp_path / "job.db"), "APPGRAPH_STORE_PASSWORD": ""}
    result = launch_converge(tmp_path, env, awx_job=True)
    assert result.returncode == 0, result.stdout + result.stderr
    output = " ".join((result.stdout + result.stderr).split())
    assert "the store is the SQLite file %s inside an execution environment" % (tmp_path / "job.db") in output
    assert "APPGRAPH_STORE=postgresql://" in output
    assert (tmp_path / "job.db").is_file()


def test_outside_awx_no_warning(tmp_path):
    result = launch_converge(tmp_path, {"APPGRAPH_STORE": str(tmp_path / "job.db")}, awx_job=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "execution environment" not in result.stdout + result.stderr


@pytest.mark.postgresql
def test_the_credential_gives_an_awx_job_its_postgresql_store(tmp_path, fresh_postgresql):
    import psycopg
    role = "awx_%s" % os.urandom(4).hex()
    with psycopg.connect(fresh_postgresql, autocommit=True) as admin:
        admin.execute("CREATE ROLE %s LOGIN SUPERUSER PASSWORD 'job-secret'" % role)
    try:
        dsn = fresh_postgresql.replace("postgresql://postgres@", "postgresql://%s@" % role)
        env = injected_environment({"dsn": dsn, "password": "job-secret"})
        result = launch_converge(tmp_path, env, awx_job=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "execution environment" not in result.stdout + result.stderr
        assert "job-secret" not in result.stdout + result.stderr
        with psycopg.connect(fresh_postgresql) as conn:
            states = dict(conn.execute("SELECT path, state FROM instances").fetchall())
        assert states == {"/db-vm": "deployed_started", "/db-vm/db": "deployed_started"}
    finally:
        with psycopg.connect(fresh_postgresql, autocommit=True) as admin:
            admin.execute("DROP OWNED BY %s" % role)
            admin.execute("DROP ROLE %s" % role)


def test_an_awx_job_on_the_local_provider_is_warned_its_servers_end_with_it(tmp_path):
    template = next(t for t in job_templates() if t["name"] == "appgraph pools")
    answers = {q["variable"]: q.get("default", "") for q in template["survey"]}
    answers.update(appgraph_pool="web", appgraph_pool_number=0)     # an empty pool: no server is started
    env = ansible_env(tmp_path / "job.db")
    env.update(AWX_HOST="https://awx.example.com", JOB_ID="43", APPGRAPH_LOCAL_ROOT=str(tmp_path / "local"))
    run = subprocess.run([str(BIN / "ansible-playbook"), str(ROOT / template["playbook"]), "-e", json.dumps(answers)],
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False,
                         stdin=subprocess.DEVNULL, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    output = " ".join((run.stdout + run.stderr).split())
    assert "the local provider runs its servers as processes and folders inside this execution environment" in output


def test_the_inventory_source_file_parses(tmp_path):
    env = ansible_env(tmp_path / "job.db")
    env.update(APPGRAPH_LOCAL_ROOT=str(tmp_path / "local"), ANSIBLE_INVENTORY_UNPARSED_FAILED="True")
    run = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(AWX / "inventory" / "appgraph.servers.yml"),
                          "--list"], cwd=str(tmp_path), env=env, capture_output=True, text=True, check=False,
                         stdin=subprocess.DEVNULL, timeout=120)
    assert run.returncode == 0 and "Failed to parse" not in run.stderr, run.stdout + run.stderr
    assert json.loads(run.stdout)["all"]["children"]
