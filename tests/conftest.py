# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pytest set-up.

- Puts ``collection/`` (whose ``ansible_collections/appgraph/lifecycle`` is a symlink to the repository
  root) first on ``sys.path``, so tests import the engine as
  ``from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError``,
  and exports ``ANSIBLE_COLLECTIONS_PATH`` so ``ansible-playbook`` / ``ansible-runner`` started by a
  test find the collection too.
- ``repo_root`` and ``postgresql_dsn`` fixtures; Hypothesis profiles (``ci`` when ``CI`` is set).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO_ROOT / "collection"

if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))

_other_paths = [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)
                if p and p != str(COLLECTIONS_ROOT)]
os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([str(COLLECTIONS_ROOT)] + _other_paths)

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # Hypothesis is in requirements-test.txt; tolerate running without it.
    pass
else:
    # No per-example deadline: a 2-core CI machine under load makes timing-based failures flaky.
    settings.register_profile("dev", deadline=None)
    settings.register_profile("ci", deadline=None, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository (= collection) root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def postgresql_dsn() -> str:
    """DSN of the throwaway PostgreSQL cluster that ``.ci/setup --with-postgresql`` started.

    Read from ``APPGRAPH_TEST_POSTGRESQL_DSN``, else ``tests/output/postgresql.dsn``. Without a
    reachable server the test is skipped, unless ``APPGRAPH_REQUIRE_POSTGRESQL=1`` (set by ``.ci/run``
    when it started the cluster): then it is a failure.
    """
    dsn = os.environ.get("APPGRAPH_TEST_POSTGRESQL_DSN", "").strip()
    dsn_file = REPO_ROOT / "tests" / "output" / "postgresql.dsn"
    if not dsn and dsn_file.is_file():
        dsn = dsn_file.read_text(encoding="utf-8").strip()
    problem = None
    if not dsn:
        problem = "no PostgreSQL for tests"
    else:
        try:
            import psycopg
            psycopg.connect(dsn, connect_timeout=3).close()
        except Exception as exc:  # any failure means "not usable"
            problem = "PostgreSQL at %s is not usable (%s)" % (dsn, exc)
    if problem:
        message = problem + ": run `bash .ci/setup --with-postgresql`"
        if os.environ.get("APPGRAPH_REQUIRE_POSTGRESQL") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return dsn


def stop_local_servers(root: str, grace: float = 5.0) -> None:
    """Stop every agent of the ``local`` provider under ``root`` (asked first, killed after 2 s) and
    wait, with a deadline, until they are gone: no test leaves a process behind."""
    import time

    from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider

    provider = LocalProvider(root=root, stop_timeout=2.0)
    servers = provider.list_servers()
    for server in servers:
        provider.stop_server(server.provider_id)
    deadline = time.monotonic() + grace
    for server in servers:
        while not provider.has_stopped(server.provider_id) and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture
def local_root(tmp_path) -> str:
    """A root for the ``local`` provider whose agents are all stopped when the test ends."""
    root = str(tmp_path / "servers")
    yield root
    stop_local_servers(root)
