# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``latency``: every operation takes a fixed time, for tests and benchmarks of the executor.

Component ``options``: ``latency`` (seconds, default 0.05), ``fail`` (list of operations that
fail), ``record`` (a file to which one JSON line per operation is appended: path, operation,
pid, start and end times; lines are small and appended with O_APPEND, so processes can share it).
"""

from __future__ import annotations

import json
import os
import threading
import time

from .base import Installer, InstallerError


class LatencyInstaller(Installer):
    name = "latency"

    def __init__(self, sleep=time.sleep, clock=time.time):
        self.sleep, self.clock = sleep, clock
        self._lock = threading.Lock()

    def run(self, ctx):
        options = ctx.component.options
        started = self.clock()
        self.sleep(float(options.get("latency", 0.05)))
        if ctx.operation in (options.get("fail") or ()):
            raise InstallerError("%s of %s failed on purpose (latency installer)" % (ctx.operation, ctx.path))
        if options.get("record"):
            line = json.dumps({"path": ctx.path, "operation": ctx.operation, "pid": os.getpid(),
                               "start": started, "end": self.clock()}) + "\n"
            fd = os.open(options["record"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        return None
