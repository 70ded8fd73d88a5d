# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find installers by name: the built-ins, then the ``appgraph.installers`` entry points.

A name nobody provides is not an error until an operation needs it (DESIGN.md: a ``puppet``
application loads, plans and draws); then ``MissingInstaller`` fails that operation with a
message naming the installer and the component.
"""

from __future__ import annotations

import threading

from .base import Installer, InstallerError
from .latency import LatencyInstaller
from .noop import NoopInstaller
from .script import ScriptInstaller
from .server import ServerInstaller

# Imported by name, not looked up by string: Ansible ships a module with only the module_utils it
# sees imported, so an installer loaded with importlib would be missing when a module runs.
BUILTINS = {cls.name: cls for cls in (NoopInstaller, LatencyInstaller, ScriptInstaller, ServerInstaller)}
ENTRY_POINT_GROUP = "appgraph.installers"


class MissingInstaller(Installer):
    def __init__(self, name: str, known):
        self.name, self.known = name, sorted(known)

    def run(self, ctx):
        raise InstallerError("no installer named %r (component %r needs it for %s); available: %s"
                             % (self.name, ctx.component.name, ctx.operation, ", ".join(self.known)))


class InstallerRegistry:
    """Installer instances by name, made once per run. ``factories`` override or add names."""

    def __init__(self, factories: dict | None = None, settings: dict | None = None):
        self.factories = dict(factories or {})
        self.settings = settings or {}          # passed to installers that take settings (providers...)
        self._made: dict = {}
        self._lock = threading.Lock()     # worker threads ask for installers concurrently

    def get(self, name: str) -> Installer:
        with self._lock:
            if name not in self._made:
                self._made[name] = self._make(name)
            return self._made[name]

    def _make(self, name: str) -> Installer:
        if name in self.factories:
            return self.factories[name]()
        if name in BUILTINS:
            return BUILTINS[name](**self.settings.get(name, {}))
        plugin = _entry_point(name)
        if plugin is not None:
            return plugin()
        return MissingInstaller(name, set(BUILTINS) | set(self.factories))


def _entry_point(name: str):
    try:
        from importlib.metadata import entry_points
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == name:
                return ep.load()
    except Exception:  # a broken third-party plugin must not break the built-ins
        return None
    return None
