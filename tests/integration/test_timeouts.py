# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module honours its ``timeout`` within a few seconds, and its process exits: a recipe that
runs far longer is stopped, and an EC2 endpoint that never answers does not hold the task (it used
to take 600 s for ``timeout: 20``)."""

from __future__ import annotations

import socket
import time

import pytest

from .helpers import run_playbook

# The bound of these tests is far below what the stuck work would take (minutes), and far above
# timeout + the module's few seconds of overtime, so a loaded machine does not make them flaky.
CEILING = 45.0

SLOW_APP = """\
application: slow
components:
  Host: {installer: noop, children: [Slow]}
  Slow: {installer: script, recipes: slow}
instances:
  - {name: host, component: Host, children: [{name: slow, component: Slow}]}
"""

EC2_APP = """\
application: cloudy
components:
  Vm:
    installer: server
    provider: ec2
    provider_options:
      endpoint_url: "http://127.0.0.1:%d"
      image_id: ami-12345678
      region: us-east-1
      account: test
      aws_access_key_id: testing
      aws_secret_access_key: testing
instances:
  - {name: vm, component: Vm}
"""


def converge(workdir, timeout):
    started = time.monotonic()
    run = run_playbook(workdir, "start.yml", app_file=str(workdir / "app.app.yml"), app_timeout=timeout)
    return run, time.monotonic() - started


def test_a_recipe_longer_than_the_timeout_is_stopped(tmp_path):
    (tmp_path / "app.app.yml").write_text(SLOW_APP, encoding="utf-8")
    (tmp_path / "slow" / "scripts").mkdir(parents=True)
    (tmp_path / "slow" / "scripts" / "start.sh").write_text("#!/usr/bin/env bash\nsleep 300\n", encoding="utf-8")
    run, took = converge(tmp_path, 3)
    assert run.rc != 0 and took < CEILING, run
    failure = run.failures()[0]
    # The engine stops the recipe at the timeout (and says which operation); on a loaded machine the
    # module's own stop, a few seconds later, may come first: either way the task ends in time.
    assert ("start /host/slow" in failure["msg"] and "timed out" in failure["msg"]) or failure.get("timed_out")


@pytest.fixture
def silent_endpoint():
    """A TCP port that accepts connections (the kernel does) and never answers a byte."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


def test_an_endpoint_that_never_answers_does_not_hold_the_task(tmp_path, silent_endpoint):
    (tmp_path / "app.app.yml").write_text(EC2_APP % silent_endpoint, encoding="utf-8")
    run, took = converge(tmp_path, 3)
    assert run.rc != 0 and took < CEILING, run
    failure = run.failures()[0]
    assert failure.get("timed_out") is True or "timed out" in failure["msg"], failure
