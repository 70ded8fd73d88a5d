"""Mutations of real application files, and one measured load of each, for the fuzz test
(``test_fuzz.py``, cases drawn by Hypothesis) and ``bench/fuzz_loader.py`` (cases drawn at random).

A case is a seed (an ``*.app.yml`` text, or one file of a Roboconf application) and a few
operations ``(kind, a, b)``: ``a`` and ``b`` are any non-negative numbers, read modulo what the
kind needs (a byte offset, a line, a word, a token), so any drawn case is a valid one.
Kinds: byte, token and line edits, words swapped for other words or special ones, numbers made
huge, nesting, YAML aliases (a billion laughs, a recursive alias) and broken encodings.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application

REPO = Path(__file__).resolve().parents[3]
ROBOCONF_FIXTURES = [REPO / "tests" / "unit" / "fixtures" / "roboconf-examples",
                     REPO / "tests" / "unit" / "fixtures" / "roboconf"]
ROBOCONF_SUFFIXES = (".graph", ".instances", ".properties")

TOKENS = [b"\x00", b"\xff", b"\xc3", b"\xe2\x80", b"\r", b"\t", b"\n", b" ", b"{", b"}", b"[", b"]", b":", b",",
          b";", b"=", b"&", b"*", b"&a ", b"*a", b"!!set ", b"!!binary ", b"!foo ", b"!!python/object:os.system ",
          b"? ", b"- ", b"#", b'"', b"'", b"|\n", b">\n", b"---\n", b"...\n", b"<<: ", b"~", b"null", b"true",
          b"%YAML 1.1\n", b"\\", b"\\u0000", b"\xef\xbb\xbf", b"\xf0\x9f\x92\xa5", b"\xed\xa0\x80",
          b", count: 1000000000", b", count: 100001", b", count: 1e9", b", count: 2.0", b"children: &r [*r]",
          b"instance of ", b"facet ", b"import ", b"extends: ", b"children: ", b"exports: ", b"imports: ",
          b"installer: ", b"random[port] ", b"(optional)", b"external ", b"name: ", b"component: ", b"count: ",
          b"count: 1000000000;", b"count: 1e9;", b"instance of VM {\n", b"}\n", b"facets: ", b"provider_options: "]
NUMBERS = [b"1000000000", b"100001", b"99999999999999999999", b"1e9", b"1e999", b"-1", b"0", b"2.0", b"0x7fffffff",
           b"9" * 5000, b".inf", b".nan", b"3"]
NESTS = [10, 30, 31, 32, 63, 64, 65, 200, 400, 999, 1001, 1200]
_WORD = re.compile(rb"[A-Za-z0-9_.*\-]+")
_NUMBER = re.compile(rb"(?<![A-Za-z0-9_.])[0-9]+(?![A-Za-z0-9_])")
KINDS = ("byte", "insert", "delete", "line_dup", "line_del", "line_swap", "indent", "word", "number", "nest",
         "alias", "encoding")


# -- seeds -----------------------------------------------------------------------------------------

def yaml_seeds() -> list:
    """``[(name, bytes)]``: the examples' ``*.app.yml`` files and every YAML application text
    written in the unit tests (string constants starting with ``application:``)."""
    seeds = [(str(p.relative_to(REPO)), p.read_bytes()) for p in sorted(REPO.glob("examples/*/*.app.yml"))]
    for test_file in sorted((REPO / "tests" / "unit").rglob("test_*.py")):
        tree = ast.parse(test_file.read_text(encoding="utf-8"))
        texts = {node.value for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 and node.value.startswith("application:")}
        seeds.extend(("%s:%d" % (test_file.name, i), text.encode("utf-8")) for i, text in enumerate(sorted(texts)))
    return seeds


def roboconf_seeds() -> list:
    """The Roboconf application directories of the fixtures."""
    return sorted(str(d) for root in ROBOCONF_FIXTURES for d in root.iterdir()
                  if (d / "descriptor" / "application.properties").is_file())


def roboconf_files(app_dir: str) -> list:
    """The files of a Roboconf application a mutation may change, relative to ``app_dir``."""
    found = []
    for folder, _dirs, names in os.walk(app_dir):
        found.extend(os.path.relpath(os.path.join(folder, n), app_dir) for n in names if n.endswith(ROBOCONF_SUFFIXES))
    return sorted(found)


# -- mutations -------------------------------------------------------------------------------------

def mutate(data: bytes, ops, dsl: bool) -> bytes:
    """``data`` with each operation ``(kind, a, b)`` applied in turn."""
    for kind, a, b in ops:
        data = _APPLY[kind](data, a, b, dsl)
    return data


def _byte(data, a, b, _dsl):
    if not data:
        return bytes([b % 256])
    a %= len(data)
    return data[:a] + bytes([b % 256]) + data[a + 1:]


def _insert(data, a, b, _dsl):
    a %= len(data) + 1
    return data[:a] + TOKENS[b % len(TOKENS)] + data[a:]


def _delete(data, a, b, _dsl):
    if not data:
        return data
    a %= len(data)
    return data[:a] + data[a + 1 + b % 64:]


def _lines(data, a, change):
    lines = data.split(b"\n")
    change(lines, a % len(lines))
    return b"\n".join(lines)


def _line_dup(data, a, b, _dsl):
    return _lines(data, a, lambda lines, k: lines.insert(k, lines[k] * (1 + b % 2)))


def _line_del(data, a, _b, _dsl):
    return _lines(data, a, lambda lines, k: lines.pop(k) if len(lines) > 1 else None)


def _line_swap(data, a, b, _dsl):
    def swap(lines, k):
        j = (k + 1 + b % 3) % len(lines)
        lines[k], lines[j] = lines[j], lines[k]
    return _lines(data, a, swap)


def _indent(data, a, b, _dsl):
    def indent(lines, k):
        shift = b % 9 - 4
        lines[k] = b" " * shift + lines[k] if shift > 0 else lines[k][min(-shift, len(lines[k]) - len(lines[k].lstrip())):]
    return _lines(data, a, indent)


def _word(data, a, b, _dsl):
    words = list(_WORD.finditer(data))
    if not words:
        return _insert(data, a, b, _dsl)
    target = words[a % len(words)]
    pool = [m.group() for m in words] + TOKENS
    return data[:target.start()] + pool[b % len(pool)] + data[target.end():]


def _number(data, a, b, dsl):
    numbers = list(_NUMBER.finditer(data))
    value = NUMBERS[b % len(NUMBERS)]
    if not numbers:
        return data + (b"count: %s;\n" if dsl else b"count: %s\n") % value
    target = numbers[a % len(numbers)]
    return data[:target.start()] + value + data[target.end():]


def _nest(data, a, b, dsl):
    depth = NESTS[b % len(NESTS)]
    if dsl:
        block = b"instance of VM {\n name: n;\n" * depth + b"}\n" * depth
    elif b % 2:
        block = b"description: " + b"[" * depth + b"]" * depth + b"\n"
    else:
        block = b"description: " + b"{a: " * depth + b"1" + b"}" * depth + b"\n"
    return _lines(data, a, lambda lines, k: lines.insert(k, block))


def _alias(data, a, b, _dsl):
    variant = b % 3
    if variant == 0:      # a billion laughs, where the line is
        lines = [b"lols:", b"  - &l0 lol"] + [
            b"  - &l%d [%s]" % (i, b", ".join([b"*l%d" % (i - 1)] * 9)) for i in range(1, 10)]
        block = b"\n".join(lines)
    elif variant == 1:
        block = b"description: &r [*r]"
    else:                 # an alias of whatever is anchored first, repeated
        block = b"x: &x {a: [1, 2, 3]}\ny: [" + b", ".join([b"*x"] * (1 + a % 50)) + b"]"
    return _lines(data, a, lambda lines, k: lines.insert(k, block))


def _encoding(data, a, b, _dsl):
    variant = b % 5
    if variant == 0:
        return data.decode("utf-8", "replace").encode("utf-16")
    if variant == 1:
        return data.decode("utf-8", "replace").encode("latin-1", "replace") + "é".encode("latin-1")
    if variant == 2:
        return b"\xef\xbb\xbf" + data
    if variant == 3:
        return (data + "é".encode("utf-8"))[:-1]                   # ends inside a character
    return data[:a % (len(data) + 1)] + b"\xc3\x28" + data[a % (len(data) + 1):]


_APPLY = {"byte": _byte, "insert": _insert, "delete": _delete, "line_dup": _line_dup, "line_del": _line_del,
          "line_swap": _line_swap, "indent": _indent, "word": _word, "number": _number, "nest": _nest,
          "alias": _alias, "encoding": _encoding}


# -- one measured load -----------------------------------------------------------------------------

@dataclass
class Outcome:
    seconds: float                    # wall-clock (time.monotonic)
    cpu_seconds: float                # this process's CPU time: what other processes' load leaves out
    peak_bytes: int                   # the most memory the load added (see ``measured``)
    error: BaseException | None       # what the load raised


def measured(load) -> Outcome:
    """Run ``load()``, keeping what it raised, its time and the most memory it added: Python's
    allocations when tracemalloc traces (precise, six times slower), else the resident set's
    high-water mark over what was resident before (Linux resets the mark through clear_refs)."""
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    else:
        base = _reset_resident_peak()
    start, cpu = time.monotonic(), time.process_time()
    error = None
    try:
        load()
    except Exception as exc:  # pylint: disable=broad-except
        # the caller judges what was raised
        error = exc
    seconds, cpu = time.monotonic() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] - base if tracing else _resident("VmHWM") - base
    return Outcome(seconds, cpu, max(peak, 0), error)


def _resident(key: str) -> int:
    """``VmRSS`` or ``VmHWM`` of this process, in bytes (0 where /proc has none)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_resident_peak() -> int:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")             # 5: reset the peak resident set size to the current one
    except OSError:
        pass
    return _resident("VmRSS")


def unlocated(error: BaseException) -> list:
    """The errors of an InputError(s) that do not name a file and a line."""
    return [e for e in getattr(error, "errors", [error]) if not (e.location.file and e.location.line > 0)]


WARM_UP = [b"application: a\ncomponents:\n  VM: {installer: noop, colour: red}\n",       # jsonschema
           b"application: a\ncomponents:\n  VM: {installer: noop, children: [N]}\n"        # networkx
           b"  N: {installer: noop, exports: {ip: null}, imports: [N.ip]}\n"
           b"instances: [{name: vm, component: VM, count: 2, children: [{name: n, component: N}]}]\n"]


def warm_up(folder: str) -> None:
    """Import on first use what the loader imports on first use (the validators, networkx to
    name a cycle), so that no case is charged for it."""
    for data in WARM_UP + [seed for _name, seed in yaml_seeds()]:
        load_yaml_case(folder, data)
    roboconf = roboconf_seeds()[0]
    measured(lambda: load_application(roboconf))


def load_yaml_case(folder: str, data: bytes) -> Outcome:
    path = os.path.join(folder, "case.app.yml")
    with open(path, "wb") as handle:
        handle.write(data)
    return measured(lambda: load_application(path))


class RoboconfWorkspace:
    """Working copies of the Roboconf seeds: a case rewrites one file, loads, puts it back."""

    def __init__(self, folder: str):
        self.apps = []
        for seed in roboconf_seeds():
            copy = os.path.join(folder, os.path.basename(seed))
            shutil.copytree(seed, copy)
            self.apps.append((copy, roboconf_files(copy)))

    def case(self, app_index: int, file_index: int, ops) -> Outcome:
        app, files = self.apps[app_index % len(self.apps)]
        path = os.path.join(app, files[file_index % len(files)])
        with open(path, "rb") as handle:
            original = handle.read()
        try:
            with open(path, "wb") as handle:
                handle.write(mutate(original, ops, dsl=True))
            return measured(lambda: load_application(app))
        finally:
            with open(path, "wb") as handle:
                handle.write(original)


def is_input_error(error: BaseException | None) -> bool:
    return error is None or isinstance(error, InputError)
