"""Shared bits of the benchmarks: import paths and a timer. Benchmarks print figures; they assert nothing.

Importing it puts collection/ on sys.path: the engine and the tests' helpers (tests/helpers: the
in-memory provider, the latency installer) import as ``ansible_collections.appgraph.lifecycle...``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from contextlib import contextmanager

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "collection"))


@contextmanager
def timed(label: str, sink: dict):
    start = time.perf_counter()
    yield
    sink[label] = time.perf_counter() - start


def best_of(n: int, fn):
    """The fastest of ``n`` runs (seconds) and the last result."""
    best, result = float("inf"), None
    for _run in range(n):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def dies_with_us() -> None:
    """For ``subprocess.Popen(preexec_fn=...)``: the child gets SIGTERM when the benchmark ends,
    however it ends (a kill -9 or a timeout too), so a benchmark leaves no process running. Linux
    only; elsewhere a no-op."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
