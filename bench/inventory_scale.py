"""`ansible-inventory --list` over N real local servers that carry an application (default 1,000).

Usage: python bench/inventory_scale.py [--servers 1000] [--parallelism 100]
The servers are made the real way: an application of N roots (`server` installer, `local`
provider, each with a `noop` child) started by the engine; every server is an agent process
(about 6.5 MB of memory each). Then `ansible-inventory --list` runs cold (no cache), then twice
more with the jsonfile cache on (the first fills it, the second reads it). Everything is
undeployed at the end, even when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _common  # noqa: F401 pylint: disable=unused-import

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

BIN = os.path.dirname(sys.executable)


def application(root: str, count: int) -> dict:
    return {
        "application": "fleet",
        "components": {
            "VM": {"installer": "server", "provider": "local", "provider_options": {"root": root},
                   "children": ["Agent"]},
            "Agent": {"installer": "noop", "exports": {"ip": None, "port": 9100}},
        },
        "instances": [{"name": "vm", "component": "VM", "count": count,
                       "children": [{"name": "agent", "component": "Agent"}]}],
    }


def inventory(source: str, env: dict) -> tuple:
    start = time.perf_counter()
    done = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", source, "--list"], env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit("ansible-inventory failed:\n" + done.stderr[-3000:])
    hosts = json.loads(done.stdout).get("_meta", {}).get("hostvars", {})
    return elapsed, len(hosts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--parallelism", type=int, default=100)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    root = os.path.join(folder, "servers")
    app_file = os.path.join(folder, "fleet.app.yml")
    with open(app_file, "w") as out:
        json.dump(application(root, args.servers), out)
    store = Store(os.path.join(folder, "store.db"))
    installers = InstallerRegistry(settings={"server": {"backoff_initial": 0.1, "backoff_max": 1.0}})
    try:
        engine.add_application(store, app_file)
        start = time.perf_counter()
        result = engine.converge_application(store, "fleet", "started", parallelism=args.parallelism,
                                             installers=installers, timeout=1800)
        if result["failed_operations"]:
            sys.exit("start failed: %s" % result["failed_operations"][:3])
        print("%d local servers deployed and started by the engine in %.1f s (parallelism %d)"
              % (args.servers, time.perf_counter() - start, args.parallelism))
        source = os.path.join(folder, "fleet.servers.yml")
        with open(source, "w") as out:
            json.dump({"plugin": "appgraph.lifecycle.servers", "store": store.dsn,
                       "providers": [{"name": "local", "options": {"root": root}}],
                       "cache": True, "cache_plugin": "jsonfile",
                       "cache_connection": os.path.join(folder, "cache"), "cache_timeout": 600}, out)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(_common.REPO, "collection"),
                   ANSIBLE_INVENTORY_ENABLED="appgraph.lifecycle.servers")
        cold, hosts = inventory(source, env)
        print("ansible-inventory --list, cold (cache empty): %.2f s for %d hosts (target < 2 s)" % (cold, hosts))
        cached, hosts = inventory(source, env)
        print("ansible-inventory --list, from the cache:    %.2f s for %d hosts (target < 1 s)" % (cached, hosts))
    finally:
        start = time.perf_counter()
        engine.converge_application(store, "fleet", "undeployed", parallelism=args.parallelism,
                                    installers=installers, timeout=1800)
        print("undeployed in %.1f s" % (time.perf_counter() - start))
        store.close()


if __name__ == "__main__":
    main()
