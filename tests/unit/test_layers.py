"""The engine's layers (DESIGN.md "Layers"): imports only go down, SQL only in store/, ansible only
in module_utils/ansible_*.py.

Every import of every engine file counts, the ones inside functions too (Ansible's packager ships
those as well). A failure names the file, the line and both layers: move the code down, or pass
what it needs in from above.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "plugins" / "module_utils"
PACKAGE = "ansible_collections.appgraph.lifecycle.plugins.module_utils"

# Top first: a file may import its own layer and the layers below it, never one above.
LAYERS = [
    "ansible",          # module_utils/ansible_*.py: the only files that import ansible
    "api",              # the entry points modules and plugins call
    "provisioning",
    "reserves",
    "runtime",          # converge, heartbeats
    "installers",
    "servers",          # flows and pools, no SQL
    "store",            # every SQL string
    "providers",
    "lifecycle",        # pure rules
    "picture",          # pure drawing
    "model",
    "roboconf",         # reads the DSL into a plain document
    "base",             # errors, names, executor, files: what every layer may use
]
RANK = {name: i for i, name in enumerate(LAYERS)}
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX))\b",
                 re.I | re.S)


def layer_of(module: str) -> str:
    """``servers.flows`` -> ``servers``; ``ansible_common`` -> ``ansible``; ``errors`` -> ``base``."""
    head = module.split(".")[0]
    if head in RANK:
        return head
    if head.startswith("ansible_"):
        return "ansible"
    return "base"


def engine_files() -> list:
    return sorted(p for p in ENGINE.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path, root: Path = ENGINE) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path = ENGINE) -> list:
    """``[(line, engine module imported)]``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [".".join(base + [a.name]) for a in node.names]
            elif node.module and node.module.startswith(PACKAGE):
                target = node.module[len(PACKAGE) + 1:]
                names = [target] if target else [a.name for a in node.names]
            else:
                continue
            found.extend((node.lineno, name) for name in names if name)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name[len(PACKAGE) + 1:]) for a in node.names if a.name.startswith(PACKAGE + "."))
    return found


def violations(path: Path, root: Path = ENGINE) -> list:
    mine = layer_of(module_name(path, root))
    out = []
    for line, target in imports_of(path, root):
        theirs = layer_of(target)
        if RANK[theirs] < RANK[mine]:
            out.append("%s:%d imports %s: layer %r may not import layer %r (it is above it)"
                       % (path.relative_to(root), line, target, mine, theirs))
    return out


@pytest.mark.parametrize("path", engine_files(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_imports_go_down_the_layers(path):
    assert violations(path) == []


def test_the_rule_catches_an_upward_import(tmp_path):
    """The check itself: a store file importing from servers/ is refused."""
    source = (ENGINE / "store" / "store.py").read_text(encoding="utf-8")
    source += "\n\ndef _later():\n    from ..servers.flows import ServerService\n"
    root = tmp_path / "module_utils"
    copy = root / "store" / "store.py"
    copy.parent.mkdir(parents=True)
    copy.write_text(source, encoding="utf-8")
    assert violations(ENGINE / "store" / "store.py") == []
    found = violations(copy, root)
    assert len(found) == 1 and "layer 'store' may not import layer 'servers'" in found[0]


def test_every_folder_is_a_layer():
    folders = {p.name for p in ENGINE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders <= set(LAYERS), "a folder that is no layer: add it to LAYERS (and to DESIGN.md)"


@pytest.mark.parametrize("path", engine_files(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_ansible_is_imported_only_by_the_glue(path):
    if layer_of(module_name(path)) == "ansible":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            assert not (name == "ansible" or name.startswith("ansible.")), \
                "%s:%d imports %s: only module_utils/ansible_*.py may" % (path.name, node.lineno, name)


@pytest.mark.parametrize("path", engine_files(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_sql_lives_in_the_store(path):
    if layer_of(module_name(path)) == "store":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            pytest.fail("%s:%d holds SQL (%r...): SQL lives in store/"
                        % (path.relative_to(ENGINE), node.lineno, node.value[:60]))
