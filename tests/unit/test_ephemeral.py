# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Execution environments: detected from AWX's job variables, the runner layout or the override;
a SQLite store and the local provider get a warning there, PostgreSQL and ssh/ec2 do not."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ephemeral import (
    ephemeral_state_warnings, in_execution_environment)


def paths(*existing):
    return lambda path: path in existing


@pytest.mark.parametrize("environ, existing, expected", [
    ({}, (), False),
    ({"AWX_HOST": "https://awx", "JOB_ID": "7"}, (), True),
    ({"AWX_HOST": "https://awx"}, (), False),                              # a controller URL alone: awx.awx users
    ({}, ("/runner/project", "/run/.containerenv"), True),                 # ansible-runner in podman
    ({}, ("/runner/project", "/.dockerenv"), True),
    ({}, ("/runner/project",), False),                                     # a /runner folder on a real machine
    ({"APPGRAPH_EXECUTION_ENVIRONMENT": "0", "AWX_HOST": "h", "JOB_ID": "1"}, (), False),
    ({"APPGRAPH_EXECUTION_ENVIRONMENT": "true"}, (), True),
    ({"APPGRAPH_EXECUTION_ENVIRONMENT": "maybe", "AWX_HOST": "h", "JOB_ID": "1"}, (), True),  # unknown word: detect
])
def test_detection(environ, existing, expected):
    assert in_execution_environment(environ, paths(*existing)) is expected


def test_warnings_name_the_file_and_the_way_out():
    awx = {"AWX_HOST": "https://awx", "JOB_ID": "7"}
    store, local = ephemeral_state_warnings("/runner/.local/state/appgraph/appgraph.db", True, awx, paths())
    assert "/runner/.local/state/appgraph/appgraph.db" in store and "lost" in store
    assert "APPGRAPH_STORE=postgresql://" in store and "APPGRAPH_EXECUTION_ENVIRONMENT=0" in store
    assert "local provider" in local and "ec2 or ssh" in local
    assert ephemeral_state_warnings(None, False, awx, paths()) == []           # PostgreSQL, ssh/ec2
    assert ephemeral_state_warnings("/x.db", True, {}, paths()) == []          # not in an EE
