"""Fuzzing the loader with mutated real inputs, both formats: whatever the mutation, the load
succeeds or raises InputError, every error names a file and a line, and no case takes more than
five seconds of CPU or allocates more than 200 MB (tracemalloc's peak for one case in ten, which
is six times slower; the resident set's growth for the others, which misses memory the process had
freed). These are ceilings against hangs and blow-ups, not performance figures: cases take
milliseconds (the worst, ~0.2 s untraced; 1.06 s of CPU once with tracemalloc on, on a loaded
machine, which failed the 1 s ceiling this test had). The benchmark's figure (< 1 s per input) is
``bench/fuzz_loader.py``'s to print. The ceiling is of CPU time so that other processes on a loaded
machine cannot fail the test; the wall clock has a ceiling of its own, six times as generous.
``bench/fuzz_loader.py`` runs many more and prints the figures.

Cases are drawn by Hypothesis; under CI (``CI`` set) the draw is derandomized, so a run is
repeatable and bounded in time (about 3,000 cases, well under a minute on two cores).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from .fuzzing import KINDS, RoboconfWorkspace, is_input_error, load_yaml_case, mutate, roboconf_seeds, unlocated, \
    warm_up, yaml_seeds
from .hostile import ceiling

YAML_CASES = 2000
ROBOCONF_CASES = 1000
CPU_SECONDS_CEILING = 5.0
WALL_SECONDS_CEILING = 30.0
BYTES_CEILING = 200 * 1024 * 1024
SEEDS = yaml_seeds()
OPERATIONS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 1 << 20), st.integers(0, 1 << 20)),
                      min_size=1, max_size=4)
FUZZ = dict(deadline=None, database=None, derandomize=bool(os.environ.get("CI")), print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def warm(folder):
    warm_up(folder)


@pytest.fixture(scope="module")
def roboconf(tmp_path_factory):
    return RoboconfWorkspace(str(tmp_path_factory.mktemp("roboconf")))


_CASES = itertools.count()


@contextlib.contextmanager
def sometimes_traced():
    """tracemalloc on for one case in ten: the others run at full speed."""
    traced = next(_CASES) % 10 == 0
    if traced:
        tracemalloc.start()
    try:
        yield
    finally:
        if traced:
            tracemalloc.stop()


def check(outcome, case) -> None:
    assert is_input_error(outcome.error), "%r for %s" % (outcome.error, case)
    if outcome.error is not None:
        assert not unlocated(outcome.error), "no line: %s for %s" % (unlocated(outcome.error)[0], case)
    assert outcome.cpu_seconds < CPU_SECONDS_CEILING, "%.2f s of CPU for %s" % (outcome.cpu_seconds, case)
    assert outcome.seconds < WALL_SECONDS_CEILING, "%.2f s for %s" % (outcome.seconds, case)
    assert outcome.peak_bytes < BYTES_CEILING, "%d MB for %s" % (outcome.peak_bytes >> 20, case)


def test_there_are_seeds_of_both_formats():
    assert len(SEEDS) >= 20 and len(roboconf_seeds()) >= 10


@settings(max_examples=YAML_CASES, **FUZZ)
@given(seed=st.integers(0, len(SEEDS) - 1), ops=OPERATIONS)
def test_mutated_yaml_files_load_or_raise_a_located_input_error(warm, folder, seed, ops):
    name, data = SEEDS[seed]
    with ceiling(), sometimes_traced():
        outcome = load_yaml_case(folder, mutate(data, ops, dsl=False))
    check(outcome, (name, ops))


@settings(max_examples=ROBOCONF_CASES, **FUZZ)
@given(app=st.integers(0, 1 << 10), file=st.integers(0, 1 << 10), ops=OPERATIONS)
def test_mutated_roboconf_applications_load_or_raise_a_located_input_error(warm, roboconf, app, file, ops):
    with ceiling(), sometimes_traced():
        outcome = roboconf.case(app, file, ops)
    check(outcome, (app, file, ops))
