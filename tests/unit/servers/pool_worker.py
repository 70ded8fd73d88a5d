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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "collection"))

# pylint: disable=wrong-import-position
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.pools import PoolService  # noqa: E402
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider  # noqa: E402
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until  # noqa: E402


def main() -> None:
    store, pool, raw = sys.argv[1:4]
    settings = json.loads(raw)
    provider = FakeProvider(identity="race:%s" % settings["account"])      # its servers start at once
    service = PoolService(store, provider_factory=lambda name, options: provider)
    if settings.get("go"):
        with open("%s.ready.%d" % (settings["go"], os.getpid()), "w", encoding="utf-8"):
            pass
        wait_until(lambda: os.path.exists(settings["go"]), 30, "the start signal %s" % settings["go"], interval=0.001)
    result = service.ensure(pool, settings["count"], "instant", max_servers=settings.get("max"))
    json.dump({"started": result.started, "limit_hit": result.limit_hit, "counts": result.counts,
               "failed": result.failed_servers}, sys.stdout)


if __name__ == "__main__":
    main()
