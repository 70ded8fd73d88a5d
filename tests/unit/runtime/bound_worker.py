"""Converge one application of tests/helpers/recorded.py's ``write_bound_apps`` in a process of its own.

Usage: python bound_worker.py <store> <app file> <name> <state> [bindings as JSON]
Prints ``{"failed": [...], "timed_out": bool, "operations": n, "reactions": [...]}`` as JSON.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "collection"))

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store  # noqa: E402


def main() -> None:
    store_path, src, name, state = sys.argv[1:5]
    bindings = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
    with Store(store_path) as store:
        result = ensure_application(store, name=name, src=src, state=state, parallelism=8, bindings=bindings,
                                    timeout=120)
    print(json.dumps({"failed": result["failed_operations"], "timed_out": result["timed_out"],
                      "operations": len(result["operations"]), "reactions": result["reactions"]}))


if __name__ == "__main__":
    main()
