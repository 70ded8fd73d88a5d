# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A clock for code that takes ``clock`` and ``sleep``: time moves only when the code sleeps."""

from __future__ import annotations

import threading


class FakeClock:
    """Time that moves only when slept: ``clock()`` is now, ``clock.sleep(s)`` moves it on by ``s``
    (which must be > 0) and lists ``s`` in ``sleeps``. Safe for worker threads."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.sleeps: list = []
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "slept %r s" % seconds
        with self.lock:
            self.sleeps.append(seconds)
            self.now += seconds
