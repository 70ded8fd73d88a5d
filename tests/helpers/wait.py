# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for something real (a process, a port, a heartbeat) without fixed sleeps."""

from __future__ import annotations

import time

DEADLINE = 10.0   # seconds: generous for a loaded 2-core CI machine, never reached when things work


def wait_until(predicate, timeout: float = DEADLINE, what: str | None = None, interval: float = 0.01):
    """Call ``predicate`` until it returns something true, and return that; between two calls, sleep
    ``interval`` (never past the deadline). After ``timeout`` seconds, fail with an AssertionError
    that names ``what`` was waited for."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out after %g s waiting for %s"
                                 % (timeout, what or getattr(predicate, "__qualname__", repr(predicate))))
        time.sleep(min(interval, left))
