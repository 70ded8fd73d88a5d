# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``latency``: every operation takes a fixed time, for tests and benchmarks of the executor.

Not a built-in (users are never offered it): a test or bench that runs an application with
``installer: latency`` passes ``installers=latency_installers()`` to the engine call
(``converge_application``, ``ensure_application``, ``converge_instance``, ``Converger``).

Component ``options``: ``latency`` (seconds, default 0.05), ``fail`` (list of operations that
fail), ``record`` (a file to which one JSON line per operation is appended: path, operation,
pid, start and end times; lines are small and appended with O_APPEND, so processes can share it).
"""

from __future__ import annotations

import json
import os
import threading
import time

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InstallerError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.base import Installer
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry


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


def latency_installers(sleep=time.sleep, **settings) -> InstallerRegistry:
    """The engine's installers plus ``latency`` (sleeping with ``sleep``); ``settings`` as
    ``InstallerRegistry`` takes them."""
    return InstallerRegistry(factories={"latency": lambda: LatencyInstaller(sleep=sleep)}, settings=settings)
