# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pytest set-up.

- Puts ``collection/`` (whose ``ansible_collections/appgraph/lifecycle`` is a symlink to the repository
  root; in a copy that already sits in an ``ansible_collections/appgraph/lifecycle`` tree, as
  ``ansible-test units`` makes, that tree) first on ``sys.path``, so tests import the engine as
  ``from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError``,
  and exports ``ANSIBLE_COLLECTIONS_PATH`` so ``ansible-playbook`` / ``ansible-runner`` started by a
  test find the collection too.
- ``repo_root`` and ``postgresql_dsn`` fixtures; Hypothesis profiles (``ci`` when ``CI`` is set).
- ``sshd``: a real OpenSSH server on 127.0.0.1 for the whole session (tests/sshd.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# The moto server fixtures (aws, image_id, moto_url, session_image_id), for unit and integration tests.
pytest_plugins = ["ansible_collections.appgraph.lifecycle.tests.helpers.moto"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def _collections_root(repo: Path) -> Path:
    """The folder holding ``ansible_collections``: the tree the repository already sits in when it
    is one (``ansible-test units`` runs in such a copy and refuses a collection reached any other
    way), else ``collection/``, whose ``ansible_collections/appgraph/lifecycle`` links back to it."""
    if repo.parent.parent.name == "ansible_collections":
        return repo.parents[2]
    return repo / "collection"


COLLECTIONS_ROOT = _collections_root(REPO_ROOT)

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


@pytest.fixture
def postgresql_databases(postgresql_dsn):
    """``make()`` gives the DSN of a new database on the test server; all are dropped afterwards."""
    import uuid

    import psycopg
    made = []

    def make() -> str:
        name = "appgraph_test_%s" % uuid.uuid4().hex[:10]
        with psycopg.connect(postgresql_dsn, autocommit=True) as admin:
            admin.execute("CREATE DATABASE %s" % name)
        made.append(name)
        return postgresql_dsn.rsplit("/", 1)[0] + "/" + name

    yield make
    with psycopg.connect(postgresql_dsn, autocommit=True) as admin:
        for name in made:
            admin.execute("DROP DATABASE %s WITH (FORCE)" % name)


@pytest.fixture
def fresh_postgresql(postgresql_databases):
    """A database of its own on the test server (what is append-only, the outbox, is shared otherwise)."""
    return postgresql_databases()


def stop_local_servers(root: str, grace: float = 5.0) -> None:
    """Stop every agent of the ``local`` provider under ``root``, of every fleet (asked first, killed
    after 2 s) and wait, with a deadline, until they are gone: no test leaves a process behind."""
    import time

    from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider

    servers = [(LocalProvider(root=s.extra["home"], stop_timeout=2.0), s.provider_id)
               for s in LocalProvider(root=root).use_fleet(ALL_FLEETS).list_servers()]
    for provider, server in servers:
        provider.stop_server(server)
    deadline = time.monotonic() + grace
    for provider, server in servers:
        while not provider.has_stopped(server) and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture
def local_root(tmp_path) -> str:
    """A root for the ``local`` provider whose agents are all stopped when the test ends."""
    root = str(tmp_path / "servers")
    yield root
    stop_local_servers(root)


@pytest.fixture(scope="session")
def sshd():
    """A real sshd on 127.0.0.1 (tests/sshd.py), and ``APPGRAPH_SSH_CONTROL_DIR`` set to a private
    directory of the session, so every ssh connection master the tests open (ansible-playbook's
    too) is found and closed at the end. Skipped without sshd, except under CI (a failure)."""
    import shutil
    import tempfile

    from ansible_collections.appgraph.lifecycle.tests.helpers.sshd import (
        Sshd, close_masters, missing_sshd_message, sshd_binary)

    binary = sshd_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(missing_sshd_message())
        pytest.skip(missing_sshd_message())
    server = Sshd.start(binary)
    control_dir = tempfile.mkdtemp(prefix="ag-ssh-")
    previous = os.environ.get("APPGRAPH_SSH_CONTROL_DIR")
    os.environ["APPGRAPH_SSH_CONTROL_DIR"] = control_dir
    try:
        yield server
    finally:
        close_masters(control_dir)
        server.stop()
        if previous is None:
            os.environ.pop("APPGRAPH_SSH_CONTROL_DIR", None)
        else:
            os.environ["APPGRAPH_SSH_CONTROL_DIR"] = previous
        shutil.rmtree(control_dir, ignore_errors=True)
