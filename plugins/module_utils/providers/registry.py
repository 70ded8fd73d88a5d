# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find a provider by name: the built-ins first, then the ``appgraph.providers`` entry points.

Built-ins are imported statically, not by a string: Ansible ships a module with only the
module_utils it can see imported, so a provider loaded by name from a string would be missing when
the module runs. A built-in whose library is absent (boto3 for ``ec2``) must guard that import in
its own file and fail when used, not when imported.
"""

from __future__ import annotations

from typing import Any, Mapping

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import PermanentError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import Provider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh import SshProvider

ENTRY_POINT_GROUP = "appgraph.providers"


def _ec2() -> type[Provider]:
    # Imported when asked for: boto3 takes 0.15 s to import, which every run without ec2 would pay.
    # (Ansible's packager finds imports inside functions too, so a module still ships ec2.py.)
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ec2 import Ec2Provider
    return Ec2Provider


def _local() -> type[Provider]:
    return LocalProvider


def _ssh() -> type[Provider]:
    return SshProvider


# One line per built-in provider: name -> the function that gives its class.
BUILTINS: Mapping[str, Any] = {"ec2": _ec2, "local": _local, "ssh": _ssh}


def get_provider(name: str, options: Mapping[str, Any] | None = None) -> Provider:
    """The provider called ``name``, built from ``options`` (validated: unknown keys are refused)."""
    return provider_class(name).from_options(options)


def provider_class(name: str) -> type[Provider]:
    """The class of the provider called ``name``; ``PermanentError`` naming the valid ones if none."""
    if name in BUILTINS:
        return BUILTINS[name]()
    entry = _entry_points().get(name)
    if entry is None:
        raise PermanentError("unknown provider %r; valid providers: %s" % (name, ", ".join(provider_names())))
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise PermanentError("entry point %r in group %s is %r, not a Provider subclass"
                             % (name, ENTRY_POINT_GROUP, entry.value))
    return cls


def provider_names() -> list[str]:
    """Every provider name that ``get_provider`` accepts, sorted."""
    return sorted(set(BUILTINS) | set(_entry_points()))


def _entry_points() -> dict:
    # Imported here: importlib.metadata scans every installed distribution, which only matters
    # when a name is not a built-in.
    from importlib.metadata import entry_points

    # A built-in keeps its name: an installed package cannot replace ``local`` behind the user's back.
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTINS}
