# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sub-provisioners by role and name: the built-ins, and classes that Python packages declare in
the entry point group ``appgraph.provisioners`` (``name = package.module:Class``; the class says its
``role``). DFE discovered its provisioners the same way, through configuration and discovery.
"""

from __future__ import annotations

from importlib import metadata

from ..errors import PermanentError

GROUP = "appgraph.provisioners"
BUILTINS = (("instance", "server"), ("storage", "tree"), ("database", "sqlite"), ("database", "postgresql"))


def builtin(role: str, name: str):
    """The built-in class, imported when used (each import written out: Ansible ships a module's
    module_utils by reading its imports, so a name computed at run time would not be shipped)."""
    # pylint: disable=import-outside-toplevel
    if (role, name) == ("instance", "server"):
        from .instance import ServerInstance
        return ServerInstance
    if (role, name) == ("storage", "tree"):
        from .storage import TenantTree
        return TenantTree
    if (role, name) == ("database", "sqlite"):
        from .sqlite_db import SQLiteDatabase
        return SQLiteDatabase
    if (role, name) == ("database", "postgresql"):
        from .postgresql_db import PostgreSQLDatabase
        return PostgreSQLDatabase
    return None


class Registry:
    """Looks sub-provisioners up; ``entry_points`` is injected by tests (default: the installed ones)."""

    def __init__(self, entry_points=None):
        self._entry_points = entry_points

    def _plugins(self) -> list:
        if self._entry_points is None:
            self._entry_points = list(metadata.entry_points(group=GROUP))
        return self._entry_points

    def names(self, role: str) -> list:
        """Every name known for ``role`` (plugins whose class cannot be loaded are left out)."""
        found = {name for (r, name) in BUILTINS if r == role}
        for point in self._plugins():
            cls = self._load_plugin(point, quiet=True)
            if cls is not None and getattr(cls, "role", None) == role:
                found.add(point.name)
        return sorted(found)

    def get(self, role: str, name: str):
        """The class of ``role`` named ``name``; None when there is none."""
        if (role, name) in BUILTINS:
            return builtin(role, name)
        for point in self._plugins():
            if point.name == name:
                cls = self._load_plugin(point)
                if getattr(cls, "role", None) == role:
                    return cls
        return None

    @staticmethod
    def _load_plugin(point, quiet: bool = False):
        try:
            return point.load()
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if quiet:
                return None
            raise PermanentError("the sub-provisioner %r (entry point %s of %s) cannot be loaded: %s: %s"
                                 % (point.name, point.value, GROUP, type(exc).__name__, exc)) from None
