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

from ..errors import InstallerError
from .base import Installer
from .noop import NoopInstaller

ENTRY_POINT_GROUP = "appgraph.installers"


# Each built-in is imported by name inside a function, never looked up by string: Ansible ships a
# module with only the module_utils it sees imported (imports in functions included), and a run
# imports only the installers its application uses (the script installer brings http.client and
# ssl through the providers: 30 ms that a ``noop`` application never needs).

def _noop():
    return NoopInstaller


def _script():
    from .script import ScriptInstaller  # pylint: disable=import-outside-toplevel
    return ScriptInstaller


def _server():
    from .server import ServerInstaller  # pylint: disable=import-outside-toplevel
    return ServerInstaller


def _attached():
    from .attached import AttachedInstaller  # pylint: disable=import-outside-toplevel
    return AttachedInstaller


def _ansible():
    from .ansible_installer import AnsibleInstaller  # pylint: disable=import-outside-toplevel
    return AnsibleInstaller


BUILTINS = {"ansible": _ansible, "attached": _attached, "noop": _noop, "script": _script, "server": _server}


class MissingInstaller(Installer):
    def __init__(self, name: str, known):
        self.name, self.known = name, sorted(known)

    def run(self, ctx):
        raise InstallerError("no installer named %r (component %r needs it for %s); available: %s"
                             % (self.name, ctx.component.name, ctx.operation, ", ".join(self.known)))


class InstallerRegistry:
    """Installer instances by name, made once per run. ``factories`` override or add names."""

    @classmethod
    def with_providers(cls, provider_factory, polling: dict | None = None) -> "InstallerRegistry":
        """The built-ins reaching servers through ``provider_factory`` (the server flows polling
        with ``polling``): what a service that converges applications of its own gives them."""
        return cls(settings={"server": dict(polling or {}, provider_factory=provider_factory),
                             "script": {"provider_factory": provider_factory},
                             "ansible": {"provider_factory": provider_factory}})

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

    def provides(self, name: str) -> bool:
        """Whether an installer of that name exists (a built-in, a factory or an entry point)."""
        return name in self.factories or name in BUILTINS or _entry_point(name) is not None

    def missing_message(self, name: str, component: str) -> str:
        return "component %r needs the installer %r, which nobody provides (available: %s)" % (
            component, name, ", ".join(sorted(set(BUILTINS) | set(self.factories))))

    def _make(self, name: str) -> Installer:
        if name in self.factories:
            return self.factories[name]()
        if name in BUILTINS:
            return BUILTINS[name]()(**self.settings.get(name, {}))
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
