# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory provider, for every test and bench that needs servers without processes (the real
``local`` and ``ec2`` providers have their own tests); with ``helpers.clock.FakeClock``, no test waits.

``FakeProvider`` keeps the provider contract of ``providers/base.py``; what a test sets up:

- ``polls[action] = n``: each server answers "not yet" to its first ``n`` calls of the poll
  ``action`` (``has_started``, ``has_stopped``, ``has_been_deleted``), then "yes". The count is per
  (action, server) and kept in ``answered``: ``answered.clear()`` starts every server afresh, so
  ``n`` more "not yet" answers follow.
- ``start_time``: on top of ``polls``, ``has_started`` says "not yet" until ``start_time`` seconds
  (of ``clock``) have passed since the server's first ``create_server`` (a bench's slow servers).
- ``fail[action]`` or ``fail[(action, server name)]``: an exception raised by every such call, or
  a list of exceptions, raised one a call (in order) until it is empty; the (action, name) entry
  is looked at first.
- ``on_create(spec)``: called by ``create_server`` before it makes the server (to look at the store
  while the provider is being asked).
- ``heartbeats[provider_id]``: what ``last_heartbeat`` answers (``None`` when absent).

What it shows: ``servers`` (provider id -> ``ProviderServer``; ids are ``id-<name>``, addresses
``10.0.0.<n>``) and ``calls``, every call in order: ``("identity",)``, ``("create_server",
client_token)``, ``("list_servers",)``, ``(action, provider_id)`` for the rest (``server_calls()``:
the same without ``identity``). Safe for the worker threads of a pool.
"""

from __future__ import annotations

import threading
import time

from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ProviderServer


class FakeProvider:
    """Servers in a dict; see the module's docstring for what a test can set and see."""

    def __init__(self, identity: str = "fake:account", name: str = "fake", clock=time.monotonic,
                 start_time: float = 0.0):
        self.name = name
        self.account = identity
        self.clock = clock
        self.start_time = start_time
        self.lock = threading.RLock()
        self.servers: dict = {}
        self.calls: list = []
        self.polls: dict = {}
        self.answered: dict = {}
        self.fail: dict = {}
        self.heartbeats: dict = {}
        self.on_create = None
        self._made: dict = {}           # provider id -> clock() at its first create_server

    # -- set-up ------------------------------------------------------------------------------------

    def add_server(self, name: str, provider_id: str | None = None, state: str = "running",
                   address: str | None = None, tags: dict | None = None, client_token: str | None = None,
                   **extra) -> ProviderServer:
        """A server the provider holds already (made outside the engine); ``extra`` is its ``extra``."""
        with self.lock:
            server = ProviderServer(provider_id or "id-" + name, name, state,
                                    address or "10.0.0.%d" % (len(self.servers) + 1), dict(tags or {}),
                                    client_token or "token-" + name, 0.0, dict(extra))
            self.servers[server.provider_id] = server
            return server

    def server_calls(self) -> list:
        """``calls`` but ``identity`` (which the engine asks to check an account, acting on nothing)."""
        with self.lock:
            return [call for call in self.calls if call != ("identity",)]

    # -- the provider contract ---------------------------------------------------------------------

    def identity(self):
        self._enter("identity", None)
        return self.account

    def create_server(self, spec):
        self._enter("create_server", spec.name, spec.client_token)
        if self.on_create is not None:
            self.on_create(spec)
        with self.lock:
            for server in self.servers.values():
                if server.client_token == spec.client_token:
                    return server
            server = ProviderServer("id-" + spec.name, spec.name, "starting", "10.0.0.%d" % (len(self.servers) + 1),
                                    dict(spec.tags), spec.client_token, 0.0)
            self.servers[server.provider_id] = server
            self._made.setdefault(server.provider_id, self.clock())
            return server

    def has_started(self, provider_id):
        self._enter("has_started", self._name(provider_id), provider_id)
        ready = self._poll("has_started", provider_id)
        if self.start_time:
            with self.lock:
                made = self._made.get(provider_id)
            ready = ready and made is not None and self.clock() - made >= self.start_time
        return ready

    def stop_server(self, provider_id):
        self._enter("stop_server", self._name(provider_id), provider_id)

    def has_stopped(self, provider_id):
        self._enter("has_stopped", self._name(provider_id), provider_id)
        return self._poll("has_stopped", provider_id)

    def delete_server(self, provider_id):
        self._enter("delete_server", self._name(provider_id), provider_id)
        with self.lock:
            self.servers.pop(provider_id, None)
            self._made.pop(provider_id, None)

    def has_been_deleted(self, provider_id):
        self._enter("has_been_deleted", self._name(provider_id), provider_id)
        return self._poll("has_been_deleted", provider_id)

    def reboot_server(self, provider_id):
        self._enter("reboot_server", self._name(provider_id), provider_id)

    def list_servers(self, tags=None):
        """Every server (``tags`` are not looked at)."""
        self._enter("list_servers", None)
        with self.lock:
            return list(self.servers.values())

    def current_server_count(self):
        with self.lock:
            return len(self.servers)

    def last_heartbeat(self, provider_id):
        with self.lock:
            return self.heartbeats.get(provider_id)

    # -- inside ------------------------------------------------------------------------------------

    def _name(self, provider_id):
        with self.lock:
            server = self.servers.get(provider_id)
        if server is not None:
            return server.name
        return provider_id[3:] if provider_id.startswith("id-") else provider_id

    def _enter(self, action, name, *args):
        """Log the call; raise what ``fail`` holds for it."""
        with self.lock:
            self.calls.append((action,) + args)
            failure = self._failure((action, name)) or self._failure(action)
        if failure is not None:
            raise failure

    def _failure(self, key):
        failure = self.fail.get(key)
        if isinstance(failure, list):
            return failure.pop(0) if failure else None
        return failure

    def _poll(self, action, provider_id):
        with self.lock:
            seen = self.answered.get((action, provider_id), 0)
            self.answered[(action, provider_id)] = seen + 1
            return seen >= self.polls.get(action, 0)
