"""Converge the recorded application (tests/helpers/recorded.py) in a process of its own.

Usage: python recorded_worker.py <store> <app file> <state> [instance path]
Prints ``{"failed": [...], "timed_out": bool, "operations": n}`` as JSON.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "collection"))

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store  # noqa: E402


def main() -> None:
    store_path, src, state = sys.argv[1:4]
    path = sys.argv[4] if len(sys.argv) > 4 else None
    with Store(store_path) as store:
        result = ensure_application(store, src=src, state=state, instance_path=path, parallelism=8)
    print(json.dumps({"failed": result["failed_operations"], "timed_out": result["timed_out"],
                      "operations": len(result["operations"])}))


if __name__ == "__main__":
    main()
