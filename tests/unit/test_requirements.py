# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The requirements files list what the collection imports, and nothing else.

Every import of ``plugins/`` and ``extensions/`` (top-level, inside functions, and the names given
to ``importlib.import_module``) that is neither the standard library nor Ansible itself must come
from a distribution named in ``requirements.txt`` or ``requirements-backends.txt``; every line of
those files must be imported by something. ``meta/execution-environment.yml`` (what ansible-builder
reads) must reach both files and ``bindep.txt``. A failure names the file and line of the import, or
the requirement nothing uses.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("plugins", "extensions")
# Provided by what runs the code, never installed with the collection: Ansible itself, and the
# event source's host (ansible-rulebook runs extensions/eda; a decision environment ships it).
PROVIDED = {"ansible", "ansible_collections", "ansible_rulebook"}
IMPORT_FUNCTIONS = {"import_module", "_import"}    # importlib.import_module and builder._import


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path, seen=None) -> list:
    """``[(file name, line number, distribution)]`` of a pip requirements file, ``-r`` followed."""
    seen = set() if seen is None else seen
    if path in seen:
        return []
    seen.add(path)
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            found.extend(requirement_lines(path.parent / line.split(None, 1)[1], seen))
            continue
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        assert name, "%s:%d: not a requirement: %r" % (path.name, number, raw)
        found.append((path.name, number, normalise(name.group(0))))
    return found


def imported_modules(tree: ast.AST) -> list:
    """``[(line, top-level module name)]`` of every absolute import in a parsed file."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) in IMPORT_FUNCTIONS):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def third_party_imports(root: Path) -> dict:
    """``{module: ["file:line", ...]}`` of the imports that need an installed distribution."""
    found = {}
    for folder in SOURCES:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, module in imported_modules(tree):
                if module in sys.stdlib_module_names or module in PROVIDED or module == "__future__":
                    continue
                found.setdefault(module, []).append("%s:%d" % (path.relative_to(root), line))
    return found


def distributions_of(module: str) -> set:
    """The distributions that provide an importable top-level module (from the installed metadata)."""
    return {normalise(name) for name in importlib.metadata.packages_distributions().get(module, [])}


def test_every_import_is_a_requirement():
    listed = {name for _file, _line, name in requirement_lines(ROOT / "requirements-backends.txt")}
    missing = []
    for module, where in sorted(third_party_imports(ROOT).items()):
        distributions = distributions_of(module)
        assert distributions, "%s imports %r, which no installed distribution provides" % (where[0], module)
        if not distributions & listed:
            missing.append("%s (imported at %s): add %s to requirements.txt, or to requirements-backends.txt "
                           "when only an optional backend imports it" % (module, ", ".join(where), " or ".join(
                               sorted(distributions))))
    assert not missing, "\n".join(missing)


def test_every_requirement_is_imported():
    imported = set()
    for module in third_party_imports(ROOT):
        imported |= distributions_of(module)
    unused = ["%s:%d: %s is imported by nothing in %s: remove it (test-only tools go in requirements-test.txt)"
              % (file, line, name, " or ".join(SOURCES))
              for file, line, name in requirement_lines(ROOT / "requirements-backends.txt")
              if name not in imported and name != "ansible-core"]
    assert not unused, "\n".join(unused)


def test_execution_environment_reaches_every_requirement_file():
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text(encoding="utf-8"))
    assert meta["version"] == 1
    python = ROOT / meta["dependencies"]["python"]
    files = {file for file, _line, _name in requirement_lines(python)}
    assert {"requirements.txt", "requirements-backends.txt"} <= files
    assert (ROOT / meta["dependencies"]["system"]).name == "bindep.txt"
    for line in (ROOT / "bindep.txt").read_text(encoding="utf-8").splitlines():
        assert line.startswith("#") or re.match(r"^$|^[a-z0-9][a-z0-9.+-]*( \[[^]]+\])?$", line), line


def test_the_checks_see_a_missing_and_an_unused_requirement(tmp_path):
    """The scanner finds a guarded import inside a function and an import_module() name."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "x.py").write_text(
        "import os\n\ndef f():\n    import networkx\n    return importlib.import_module('jsonschema')\n",
        encoding="utf-8")
    assert sorted(third_party_imports(tmp_path)) == ["jsonschema", "networkx"]
    (tmp_path / "requirements.txt").write_text("networkx>=3  # graph\n\n", encoding="utf-8")
    (tmp_path / "more.txt").write_text("-r requirements.txt\nboto3\n", encoding="utf-8")
    assert requirement_lines(tmp_path / "more.txt") == [("requirements.txt", 1, "networkx"), ("more.txt", 2, "boto3")]
