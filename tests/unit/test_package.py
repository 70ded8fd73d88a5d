# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection: what Galaxy and ansible-builder get.

The tarball is built with ``ansible-galaxy collection build`` and installed with
``ansible-galaxy collection install`` into a folder of the test's own; then

- ``galaxy.yml`` has what Galaxy needs to accept an upload (repository, documentation, issues,
  homepage, tags Galaxy accepts);
- the tarball ships no test-only file (tests, benchmarks, the test requirements, CI scripts);
- ansible-builder's own introspection of the installed collection (what an execution environment
  build installs) covers every third-party import of the collection, PostgreSQL and ec2 included.

``.ci/package`` runs the slower checks (ansible-lint's production profile, ``ansible-builder create``,
galaxy-importer).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from ansible_collections.appgraph.lifecycle.tests.unit.test_requirements import (
    distributions_of, normalise, third_party_imports)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TEST_ONLY = ("tests/", "bench/", ".ci/", "collection/", "requirements-test.txt", "requirements-nodeps.txt",
             "pytest.ini", ".venv", ".git/")
# ansible-builder leaves these out of an environment's pip requirements: its base image has them.
IN_EVERY_IMAGE = {"ansible-core", "pyyaml"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """The tarball, and the folder it is installed in (``<folder>/ansible_collections/appgraph/lifecycle``)."""
    out = tmp_path_factory.mktemp("package")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    tarball = next(out.glob("appgraph-lifecycle-*.tar.gz"))
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--force", "-p",
                    str(out / "collections"), str(tarball)], check=True, capture_output=True, text=True)
    return {"tarball": tarball, "collections": out / "collections"}


def test_galaxy_metadata_is_complete():
    meta = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    for key in ("repository", "documentation", "homepage", "issues"):
        assert re.match(r"^https://[^\s/]+/\S+$", meta.get(key) or ""), "galaxy.yml: %s must be a URL" % key
    assert meta["tags"] and len(meta["tags"]) <= 20
    for tag in meta["tags"]:     # Galaxy's rule for tags
        assert re.match(r"^[a-z][a-z0-9_]{0,63}$", tag), "galaxy.yml: tag %r: lower case, digits, _" % tag


def test_the_tarball_ships_no_test_only_file(built):
    with tarfile.open(built["tarball"]) as archive:
        names = archive.getnames()
    shipped = [name for name in names if name.startswith(TEST_ONLY) or name in {n.rstrip("/") for n in TEST_ONLY}]
    assert not shipped, "test-only files in the tarball (add them to galaxy.yml's build_ignore): %s" % shipped
    for needed in ("requirements.txt", "requirements-backends.txt", "bindep.txt", "meta/execution-environment.yml",
                   "meta/runtime.yml", "README.md", "plugins/modules/application.py", "playbooks/demo.yml",
                   "examples/awx/configure.yml"):
        assert needed in names, needed


def test_ansible_builder_sees_every_import(built, tmp_path):
    pip = tmp_path / "pip.txt"
    subprocess.run([str(BIN / "ansible-builder"), "introspect", "--sanitize", "--write-pip", str(pip),
                    "--write-bindep", str(tmp_path / "bindep.txt"), str(built["collections"])],
                   check=True, capture_output=True, text=True)
    listed = {normalise(re.match(r"[A-Za-z0-9._-]+", line).group(0))
              for line in pip.read_text(encoding="utf-8").splitlines() if line.strip()}
    uncovered = ["%s (%s)" % (module, where[0]) for module, where in sorted(third_party_imports(ROOT).items())
                 if not distributions_of(module) & (listed | IN_EVERY_IMAGE)]
    assert not uncovered, "an execution environment built with the collection lacks: %s" % ", ".join(uncovered)
    assert {"psycopg", "boto3"} <= listed
    assert "bash" in (tmp_path / "bindep.txt").read_text(encoding="utf-8")
