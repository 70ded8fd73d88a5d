# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one ``ensure`` of a pool in its own process (for the race tests of test_pools.py).

Usage: python pool_worker.py <store> <pool> '{"account": ..., "count": N, "max": M, "go": path}'

The provider is an in-memory one whose identity is ``race:<account>``; with ``go``, the worker
writes ``<go>.ready.<pid>``, then waits until ``go`` exists before it asks (so that two workers
ask at the same moment). Prints the result as JSON: ``started``, ``limit_hit``, ``counts``.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "collection"))

# pylint: disable=wrong-import-position
from ansible_collections.appgraph.lifecycle.plugins.module_utils.pools import PoolService  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ProviderServer  # noqa: E402


class Instant:
    """A provider whose servers start at once (nothing in it is shared between processes)."""

    def __init__(self, account):
        self.account = account

    def identity(self):
        return "race:%s" % self.account

    def create_server(self, spec):
        return ProviderServer("id-" + spec.name, spec.name, "running", "127.0.0.1", dict(spec.tags),
                              spec.client_token, time.time())

    def has_started(self, provider_id):
        return True


def main() -> None:
    store, pool, raw = sys.argv[1:4]
    settings = json.loads(raw)
    provider = Instant(settings["account"])
    service = PoolService(store, provider_factory=lambda name, options: provider)
    if settings.get("go"):
        with open("%s.ready.%d" % (settings["go"], os.getpid()), "w", encoding="utf-8"):
            pass
        deadline = time.monotonic() + 30
        while not os.path.exists(settings["go"]) and time.monotonic() < deadline:
            time.sleep(0.001)
    result = service.ensure(pool, settings["count"], "instant", max_servers=settings.get("max"))
    json.dump({"started": result.started, "limit_hit": result.limit_hit, "counts": result.counts,
               "failed": result.failed}, sys.stdout)


if __name__ == "__main__":
    main()
