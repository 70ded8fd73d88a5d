# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A reserve client in a process of its own (the race and crash tests, and bench/reserves.py).

    python worker.py <store> <reserve> '<json>'

``{"claim": [names], "go": path}``: claim each name (no fallback), after waiting for ``go`` to
exist (all workers start together); prints ``{"claims": {name: clone}, "errors": {...},
"seconds": [claim latencies]}``. ``{"ensure": settings, "src": path}``: one ``ensure`` (a refill)
with an in-memory provider. The latency installer really sleeps here: the crash tests kill the
worker in the middle of an operation.
"""

from __future__ import annotations

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "collection"))
sys.path.insert(0, os.path.join(HERE, "..", "..", ".."))

# pylint: disable=wrong-import-position
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import AppGraphError  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves import claim as claims  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.service import ReserveService  # noqa: E402
from ansible_collections.appgraph.lifecycle.tests.helpers.latency import latency_installers  # noqa: E402
from tests.unit.reserves.helpers import Instant  # noqa: E402


def wait_for(go: str | None) -> None:
    if not go:
        return
    with open("%s.ready.%d" % (go, os.getpid()), "w", encoding="utf-8"):
        pass
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.001)


def main() -> None:
    dsn, reserve, raw = sys.argv[1:4]
    job = json.loads(raw)
    provider = Instant()
    service = ReserveService(dsn, provider_factory=lambda _n, _o: provider,
                             registry=lambda: latency_installers(server={"provider_factory": lambda _n, _o: provider}))
    if "ensure" in job:
        print(json.dumps(service.ensure(reserve, job["ensure"], provider="instant", src=job.get("src")),
                         default=str))
        return
    out = {"claims": {}, "errors": {}, "seconds": []}
    with service.store() as store:
        wait_for(job.get("go"))
        for name in job["claim"]:
            started = time.perf_counter()
            try:
                result = claims.claim(service, reserve, name, fallback=False, store=store)
                out["claims"][name] = result["server"]["name"]
            except AppGraphError as exc:
                out["errors"][name] = str(exc)
            out["seconds"].append(time.perf_counter() - started)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
