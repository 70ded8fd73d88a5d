"""Run one converge request in its own process (for the multi-process tests).

Usage: python converge_worker.py <store> <app.json> <action> [path]

The application may use the ``latency`` installer of tests/helpers.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "collection"))

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store  # noqa: E402
from ansible_collections.appgraph.lifecycle.tests.helpers.latency import latency_installers  # noqa: E402


def main() -> None:
    store_path, app_name, action = sys.argv[1:4]
    path = sys.argv[4] if len(sys.argv) > 4 else None
    with Store(store_path) as store:
        result = engine.converge_application(store, app_name, action, instance_path=path, parallelism=4,
                                             poll_interval=0.05, installers=latency_installers())
    print(json.dumps({"failed": result["failed_operations"], "timed_out": result["timed_out"],
                      "operations": len(result["operations"])}))


if __name__ == "__main__":
    main()
