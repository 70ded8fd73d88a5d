"""Shared bits of the benchmarks: import paths and a timer. Benchmarks print figures; they assert nothing."""

from __future__ import annotations

import os
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
