"""Fuzz the application loader with mutated real inputs (both formats) and print the figures.

Usage: python bench/fuzz_loader.py [--cases 10000] [--roboconf-share 0.33] [--seed N] [--no-trace]

Each case mutates a seed (an ``*.app.yml`` of examples/ or of the unit tests, or one file of a
Roboconf fixture) with 1-4 operations drawn at random (tests/unit/model/fuzzing.py) and loads it.
Prints: cases run per format, outcomes by class (loaded, InputError, anything else: a bug),
errors without a line, the worst wall-clock and CPU time and the worst memory of one case with
the case that took it, and one case at the instance cap (the most a small file may cost by the caps' design).
Memory is tracemalloc's peak of Python allocations (``--no-trace``: the resident set's growth,
six times faster). A case is also stopped after 10 s (counted as "Hang").
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile
import tracemalloc

# _common puts collection/ on sys.path before the engine is imported
import _common

sys.path.insert(0, _common.REPO)

from tests.unit.model import fuzzing  # noqa: E402 pylint: disable=wrong-import-position
from tests.unit.model.hostile import ceiling  # noqa: E402 pylint: disable=wrong-import-position


def random_ops(rng: random.Random) -> list:
    return [(rng.choice(fuzzing.KINDS), rng.randrange(1 << 20), rng.randrange(1 << 20))
            for _step in range(rng.randint(1, 4))]


class Tally:
    def __init__(self):
        self.cases = collections.Counter()
        self.outcomes = collections.Counter()
        self.unlocated = []
        self.bugs = []
        self.slowest = (0.0, None)
        self.most_cpu = (0.0, None)
        self.biggest = (0, None)
        self.at_cap = None

    def add(self, fmt: str, outcome, case) -> None:
        self.cases[fmt] += 1
        name = "loaded" if outcome.error is None else type(outcome.error).__name__
        self.outcomes[name] += 1
        if not fuzzing.is_input_error(outcome.error):
            self.bugs.append((case, repr(outcome.error)[:300]))
        elif outcome.error is not None and fuzzing.unlocated(outcome.error):
            self.unlocated.append((case, str(fuzzing.unlocated(outcome.error)[0])[:300]))
        self.slowest = max(self.slowest, (outcome.seconds, case), key=lambda t: t[0])
        self.most_cpu = max(self.most_cpu, (outcome.cpu_seconds, case), key=lambda t: t[0])
        self.biggest = max(self.biggest, (outcome.peak_bytes, case), key=lambda t: t[0])


def run(args) -> Tally:
    rng = random.Random(args.seed)
    seeds = fuzzing.yaml_seeds()
    tally = Tally()
    with tempfile.TemporaryDirectory() as folder:
        fuzzing.warm_up(folder)
        workspace = fuzzing.RoboconfWorkspace(os.path.join(folder, "roboconf"))
        if not args.no_trace:
            tracemalloc.start()
        for _case in range(args.cases):
            ops = random_ops(rng)
            with ceiling():
                if rng.random() < args.roboconf_share:
                    app, file = rng.randrange(1 << 10), rng.randrange(1 << 10)
                    tally.add("roboconf", workspace.case(app, file, ops), ("roboconf", app, file, ops))
                else:
                    name, data = rng.choice(seeds)
                    tally.add("yaml", fuzzing.load_yaml_case(folder, fuzzing.mutate(data, ops, dsl=False)),
                              ("yaml", name, ops))
        at_cap = fuzzing.load_yaml_case(folder, b"application: a\ncomponents:\n  VM: {installer: noop}\n"
                                                b"instances: [{name: vm, component: VM, count: 100000}]\n")
        tracemalloc.stop()
    tally.at_cap = at_cap
    return tally


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--roboconf-share", type=float, default=0.33)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-trace", action="store_true")
    args = parser.parse_args()
    args.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    tally = run(args)
    memory = "resident set growth" if args.no_trace else "tracemalloc peak"
    print("seed %d; cases: %d (%s)" % (args.seed, sum(tally.cases.values()),
                                       ", ".join("%s %d" % item for item in sorted(tally.cases.items()))))
    print("outcomes: %s" % ", ".join("%s %d" % item for item in tally.outcomes.most_common()))
    print("not InputError (bugs): %d; InputError without a line: %d" % (len(tally.bugs), len(tally.unlocated)))
    for case, text in (tally.bugs + tally.unlocated)[:10]:
        print("  %s\n    %s" % (case, text))
    print("worst time: %.3f s  %s" % tally.slowest)
    print("worst CPU time: %.3f s  %s" % tally.most_cpu)
    print("worst memory (%s): %.1f MB  %s" % (memory, tally.biggest[0] / 1e6, tally.biggest[1]))
    print("at the instance cap (count: 100000): %.3f s (%.3f s of CPU), %.1f MB, %s"
          % (tally.at_cap.seconds, tally.at_cap.cpu_seconds, tally.at_cap.peak_bytes / 1e6, "loaded" if tally.at_cap.error is None
             else type(tally.at_cap.error).__name__))


if __name__ == "__main__":
    main()
