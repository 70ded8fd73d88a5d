"""Shared by the hostile-input tests: a ceiling that turns a hang into a failure, and the check
that an error names a file and a line (each error, when several are reported together)."""

from __future__ import annotations

import contextlib
import signal

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError

# A hang ceiling, not a performance bound: every case here takes milliseconds; before the caps
# they ran until memory or patience ran out.
HANG_CEILING = 10.0


class Hang(Exception):
    """The code under test was still running at the ceiling."""


@contextlib.contextmanager
def ceiling(seconds: float = HANG_CEILING):
    """Raise Hang inside the block once it has run ``seconds`` (SIGALRM: the main thread only)."""

    def alarm(_signum, _frame):
        raise Hang("still running after %.0f s" % seconds)

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def errors_of(error: InputError) -> list:
    return list(getattr(error, "errors", [error]))


def assert_located(error: InputError) -> None:
    for err in errors_of(error):
        assert err.location.file and err.location.line > 0, "no file or line: %s" % err


def located_error(load, *args, **kwargs) -> InputError:
    """The first InputError that ``load(*args, **kwargs)`` raises, checked to name a file and a
    line; anything else it raises (RecursionError, TypeError, Hang) fails the test."""
    with ceiling(), pytest.raises(InputError) as caught:
        load(*args, **kwargs)
    assert_located(caught.value)
    return errors_of(caught.value)[0]
