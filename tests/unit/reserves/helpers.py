# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the reserve tests share: an in-memory provider, a clock, template files, store helpers.

Importable by the worker processes of the race and crash tests too (no pytest here).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ProviderServer
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

# A template whose one root is the clone's server; the site inside it only publishes values.
SITE_APP = """\
application: site
components:
  VM:   {installer: server, provider: local, children: [Site]}
  Site: {installer: noop, exports: {ip: null, port: 8080, title: Hello}}
instances:
  - {name: vm, component: VM, children: [{name: site, component: Site}]}
"""

# The same, whose site takes ``latency`` seconds per operation (to kill a process in the middle).
SLOW_APP = """\
application: slow
components:
  VM:   {installer: server, provider: local, children: [Site]}
  Site: {installer: latency, options: {latency: %s}, exports: {ip: null, port: 8080}}
instances:
  - {name: vm, component: VM, children: [{name: site, component: Site}]}
"""

TWO_ROOTS_APP = """\
application: two
components:
  VM:   {installer: server, children: [Site]}
  Site: {installer: noop}
instances:
  - {name: a, component: VM}
  - {name: b, component: VM}
"""


def at(text: str, zone=timezone.utc) -> float:
    """Epoch seconds of ``"YYYY-MM-DD HH:MM[:SS]"`` in ``zone``."""
    layout = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, layout).replace(tzinfo=zone).timestamp()


class Clock:
    """Epoch seconds that move only when told (``sleep`` moves them too)."""

    def __init__(self, now: float):
        self.now = now
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


class Instant:
    """A provider whose servers run as soon as they are made; thread-safe; counts its calls.

    ``fail``: names whose create fails (once each); ``names``: extra names it says it has (servers
    someone made by hand)."""

    def __init__(self, identity: str = "instant:account"):
        self.account = identity
        self.lock = threading.Lock()
        self.servers: dict = {}
        self.calls: list = []
        self.fail: set = set()
        self.names: set = set()

    def identity(self) -> str:
        return self.account

    def _call(self, *what) -> None:
        with self.lock:
            self.calls.append(what)

    def create_server(self, spec):
        self._call("create_server", spec.name)
        with self.lock:
            if spec.name in self.fail:
                self.fail.discard(spec.name)
                raise RuntimeError("no capacity for %s" % spec.name)
            for server in self.servers.values():
                if server.client_token == spec.client_token:
                    return server
            server = ProviderServer("id-" + spec.name, spec.name, "running", "10.0.0.%d" % (len(self.servers) + 1),
                                    dict(spec.tags), spec.client_token, time.time())
            self.servers[server.provider_id] = server
            return server

    def has_started(self, provider_id):
        return True

    def stop_server(self, provider_id):
        self._call("stop_server", provider_id)

    def has_stopped(self, provider_id):
        return True

    def delete_server(self, provider_id):
        self._call("delete_server", provider_id)
        with self.lock:
            self.servers.pop(provider_id, None)

    def has_been_deleted(self, provider_id):
        return True

    def reboot_server(self, provider_id):
        pass

    def list_servers(self, tags=None):
        self._call("list_servers")
        with self.lock:
            made = list(self.servers.values())
        extra = [ProviderServer("hand-" + n, n, "running", None, {}, "", 0.0) for n in sorted(self.names)]
        return made + extra

    def current_server_count(self):
        return len(self.servers)

    def last_heartbeat(self, provider_id):
        return None

    def made(self) -> list:
        return sorted(s.name for s in self.servers.values())


def events(dsn: str, kinds=None) -> list:
    with Store(dsn) as store:
        return [e for e in store.events(limit=1000000) if kinds is None or e.kind in kinds]


def forget(dsn: str, reserve: str) -> None:
    """Remove every row a test made for ``reserve`` (PostgreSQL is shared by tests); events stay."""
    with Store(dsn) as store, store.transaction(None) as tx:
        names = [n for (n,) in tx.db.query("SELECT name FROM clones WHERE reserve = ?", (reserve,))]
        apps = [a for (a,) in tx.db.query("SELECT application FROM clones WHERE reserve = ?", (reserve,)) if a]
        for app in apps:
            tx.db.execute("DELETE FROM instances WHERE application = ?", (app,))
            tx.db.execute("DELETE FROM applications WHERE name = ?", (app,))
        tx.db.execute("DELETE FROM servers WHERE server_type = ?", (reserve,))
        for name in names:
            tx.db.execute("DELETE FROM servers WHERE name = ?", (name,))
        tx.db.execute("DELETE FROM clones WHERE reserve = ?", (reserve,))
        tx.db.execute("DELETE FROM reserves WHERE name = ?", (reserve,))
