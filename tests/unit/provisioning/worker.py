# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A provision manager in a process of its own (the crash and race tests).

    python worker.py <store> <provisioners file> '<json>'

``{"provision": [owner, instance_id], "go": path}``: wait for ``go`` (all workers start together),
provision (or ``{"deprovision": instance_id}``: deprovision; ``{"export": instance_id}``: export), print ``{"result": ...}`` or ``{"error": [class, message]}``.
"""

from __future__ import annotations

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "collection"))

# pylint: disable=wrong-import-position
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import AppGraphError  # noqa: E402
from ansible_collections.appgraph.lifecycle.tests.unit.provisioning.helpers import manager  # noqa: E402


def main() -> None:
    store, config, raw = sys.argv[1:4]
    job = json.loads(raw)
    go = job.get("go")
    deadline = time.monotonic() + 60
    while go and not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.001)
    try:
        if "deprovision" in job:
            result = manager(store, config).deprovision(job["deprovision"])
        elif "export" in job:
            result = manager(store, config).export(job["export"])
        else:
            result = manager(store, config).provision(*job["provision"])
        print(json.dumps({"result": result}, default=str))
    except AppGraphError as exc:
        print(json.dumps({"error": [type(exc).__name__, str(exc)]}))


if __name__ == "__main__":
    main()
