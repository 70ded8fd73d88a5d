# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: an application on a real ``local`` server, through the engine.

A VM (``server`` installer, ``local`` provider in a temporary root) holds a component whose script
recipes run ``python -m http.server`` on its random port in the background. ``started`` must make
it answer; ``undeployed`` must leave no sandbox, no agent and no server process behind.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import application as engine
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api import info as info_api
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.server import server_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider, pid_alive
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.flows import ServerService
from ansible_collections.appgraph.lifecycle.plugins.module_utils.names import safe_name
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS

TIMEOUT = 60.0    # for a whole converge on a loaded CI machine; a few hundred milliseconds when all is well

DEPLOY = """#!/usr/bin/env bash
set -eu
printf 'hello from %s\\n' "$APPGRAPH_INSTANCE_PATH" > "$APPGRAPH_DATA_DIR/index.html"
"""

START = """#!/usr/bin/env bash
set -eu
pid_file="$APPGRAPH_DATA_DIR/http.pid"
"$python" -m http.server "$port" --bind "$ip" --directory "$APPGRAPH_DATA_DIR" \\
    >"$APPGRAPH_DATA_DIR/http.log" 2>&1 </dev/null &
echo $! > "$pid_file"
for _ in $(seq 1 400); do           # at most 20 s for the server to listen
    if (exec 3<>"/dev/tcp/$ip/$port") 2>/dev/null; then
        echo "http.server answers on $ip:$port"
        exit 0
    fi
    kill -0 "$(cat "$pid_file")" 2>/dev/null || { cat "$APPGRAPH_DATA_DIR/http.log" >&2; exit 1; }
    sleep 0.05
done
echo "http.server did not answer on $ip:$port" >&2
exit 1
"""

STOP = """#!/usr/bin/env bash
set -eu
pid_file="$APPGRAPH_DATA_DIR/http.pid"
[ -f "$pid_file" ] || exit 0
pid=$(cat "$pid_file")
kill "$pid" 2>/dev/null || true
for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then rm -f "$pid_file"; exit 0; fi
    sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
rm -f "$pid_file"
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


@pytest.fixture
def root(local_root):
    """The local provider's root; every agent still under it at the end is stopped."""
    return local_root


@pytest.fixture
def app_file(tmp_path, root):
    folder = tmp_path / "app"
    write(str(folder / "web" / "scripts" / "deploy.sh"), DEPLOY)
    write(str(folder / "web" / "scripts" / "start.sh"), START)
    write(str(folder / "web" / "scripts" / "stop.sh"), STOP)
    document = {
        "application": "e2e",
        "components": {
            "VM": {"installer": "server", "provider": "local",
                   "provider_options": {"root": root, "heartbeat_interval": 0.5}, "children": ["Web"]},
            "Web": {"installer": "script", "recipes": "web",
                    "exports": {"ip": None, "port": {"random": "port"}, "python": sys.executable}},
        },
        "instances": [{"name": "vm", "component": "VM", "children": [{"name": "web", "component": "Web"}]}],
    }
    path = str(folder / "e2e.app.yml")
    write(path, json.dumps(document, indent=2))       # JSON is YAML
    return path


def get(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))     # loopback: never a proxy
    with opener.open(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_an_application_on_a_local_server_starts_answers_and_goes_away(tmp_path, root, app_file):
    store = Store(str(tmp_path / "state" / "store.db"))
    installers = InstallerRegistry(settings={"server": {"backoff_initial": 0.02, "backoff_max": 0.2}})
    http_pid = None
    try:
        engine.add_application(store, app_file)
        result = engine.converge_application(store, "e2e", "started", installers=installers, timeout=TIMEOUT)
        assert result["failed_operations"] == [] and not result["timed_out"]
        assert {i["path"]: i["state"] for i in result["instances"]} == {"/vm": "deployed_started",
                                                                        "/vm/web": "deployed_started"}

        info = {i["path"]: i for i in info_api.application_info(store, "e2e")["instances"]}
        name = server_name("e2e", "/vm")
        assert info["/vm"]["runtime"]["server"] == name and info["/vm"]["runtime"]["address"] == "127.0.0.1"
        assert info["/vm/web"]["exports"]["Web.ip"] == "127.0.0.1"
        port = info["/vm/web"]["exports"]["Web.port"]
        assert get("http://127.0.0.1:%d/" % port) == (200, "hello from /vm/web\n")

        sandbox = os.path.join(os.path.realpath(root), ".fleet-" + store.fleet, name)   # the store's own folder
        data = os.path.join(sandbox, "instances", safe_name("/vm/web"), "data")
        with open(os.path.join(data, "http.pid"), encoding="utf-8") as handle:
            http_pid = int(handle.read())
        [server] = LocalProvider(root=root).use_fleet(ALL_FLEETS).list_servers()
        agent_pid = server.extra["pid"]
        assert pid_alive(http_pid) and pid_alive(agent_pid)

        result = engine.converge_application(store, "e2e", "undeployed", installers=installers, timeout=TIMEOUT)
        assert result["failed_operations"] == [] and not result["timed_out"]
        assert {i["state"] for i in result["instances"]} == {"not_deployed"}
        assert [op["operation"] for op in result["operations"]] == ["stop", "undeploy", "undeploy"]
        assert not os.path.exists(sandbox)
        assert not pid_alive(http_pid) and not pid_alive(agent_pid)
        assert LocalProvider(root=root).use_fleet(ALL_FLEETS).list_servers() == []
        assert ServerService(store.dsn).get(name).status == "deleted"
        kinds = [e.kind for e in store.events() if e.subject == name]
        assert kinds == ["creating", "starting", "running", "stopping", "stopped", "deleting", "deleted"]
    finally:
        if http_pid is not None and pid_alive(http_pid):
            os.kill(http_pid, 9)
        store.close()
