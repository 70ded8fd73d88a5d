# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real local server (a sandbox with its agent) made for a test, started and answering."""

from __future__ import annotations

from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider

from .wait import wait_until


def started_local_server(root: str, name: str = "web-1", heartbeat_interval: float = 1.0) -> LocalProvider:
    """The provider of a new local server ``name`` under ``root``, once its agent answers (the
    ``local_root`` fixture stops it after the test)."""
    provider = LocalProvider(root=root, heartbeat_interval=heartbeat_interval)
    provider.create_server(ServerSpec(name, "small", "token-" + name))
    wait_until(lambda: provider.has_started(name), what="the local server %s to start" % name)
    return provider
