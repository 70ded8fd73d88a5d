# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance whose last operation failed keeps that error (migration 10's instances.last_error):
application_info returns it and the picture draws the instance red, after the run that failed and
in another process, until an operation of it succeeds."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as api
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.info import application_report
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

APP = """\
application: flaky
components:
  Host:  {installer: noop, children: [Thing]}
  Thing: {installer: script, recipes: thing}
instances:
  - {name: host, component: Host, children: [{name: thing, component: Thing}]}
"""
# Fails while the file "broken" is beside the recipes.
DEPLOY = """#!/usr/bin/env bash
if [ -e "%s" ]; then echo 'the disk is full' >&2; exit 3; fi
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def store_dsn(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("fresh_postgresql")


def test_the_error_stays_until_an_operation_succeeds(tmp_path, store_dsn):
    (tmp_path / "thing" / "scripts").mkdir(parents=True)
    (tmp_path / "thing" / "scripts" / "deploy.sh").write_text(DEPLOY % (tmp_path / "broken"), encoding="utf-8")
    (tmp_path / "broken").write_text("", encoding="utf-8")
    src = tmp_path / "flaky.app.yml"
    src.write_text(APP, encoding="utf-8")
    with Store(store_dsn) as store:
        result = api.ensure_application(store, src=str(src), state="deployed")
        assert [op["path"] for op in result["failed_operations"]] == ["/host/thing"]

    with Store(store_dsn) as store:             # another process, later: the store still knows
        report = application_report(store, "flaky", picture=str(tmp_path / "flaky.svg"))
    errors = {inst["path"]: inst["last_error"] for inst in report["instances"]}
    assert errors["/host"] is None
    assert "the disk is full" in errors["/host/thing"]
    assert red_nodes(report["dot"]) == ["/host/thing"]            # the legend's "problem / failed" red
    red_in_svg = (tmp_path / "flaky.svg").read_text(encoding="utf-8").count("#c62828")

    (tmp_path / "broken").unlink()
    with Store(store_dsn) as store:
        result = api.ensure_application(store, name="flaky", state="deployed")
        assert result["failed_operations"] == []
        report = application_report(store, "flaky", picture=str(tmp_path / "flaky.svg"))
    assert all(inst["last_error"] is None for inst in report["instances"])
    assert red_nodes(report["dot"]) == []
    assert (tmp_path / "flaky.svg").read_text(encoding="utf-8").count("#c62828") < red_in_svg   # the legend's only


def red_nodes(dot: str) -> list:
    return [line.split('tooltip="', 1)[1].split('"', 1)[0] for line in dot.splitlines()
            if 'color="#c62828"' in line and "tooltip=" in line]
