# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ``appgraph.lifecycle.servers`` inventory plugin shows: live servers joined with the store.

Hosts are the servers that the providers list now. A server that carries a root instance of an
application (the server installer keeps ``provider``, ``provider_id``, ``server`` and ``address`` in
the root's runtime) gets that application's details: the root's component, its path, and the
exports of the root and of everything it contains. Servers of no application are hosts too (a pool's
spare servers), with their provider and status only.

Plain data in, plain data out: ``inventory_hosts`` returns ``[{name, vars, groups}]``; the plugin
only adds them to Ansible's inventory.
"""

from __future__ import annotations

import hashlib

from ..names import identifier
from ..providers.base import ALL_FLEETS
from ..providers.registry import get_provider
from ..servers.flows import bind_fleet
from ..store import servers as rows_sql
from ..store.backends import redact, resolve_dsn
from ..store.store import Store

LOCAL_PROVIDERS = ("local",)


def store_identity(dsn: str | None) -> str:
    """The store a DSN (or the default) means, without its password."""
    return redact(resolve_dsn(dsn))


def cache_key_suffix(dsn: str | None, providers) -> str:
    """What the cache key adds to the config file's: the store and every provider's identity."""
    text = "\n".join([store_identity(dsn)] + ["%s=%s" % (name, provider.identity()) for name, provider in providers])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def application_roots(store) -> list:
    """``[{application, root, component, state, runtime, exports}]`` for every root instance of every
    application; ``exports`` maps the root's path and each descendant's path to its exports."""
    roots = []
    for application in store.application_names():
        rows = store.instance_rows(application)
        children: dict = {}
        for path, row in rows.items():
            children.setdefault(row.parent, []).append(path)
        for path, row in sorted(rows.items()):
            if row.parent is not None:
                continue
            subtree = _subtree(children, path)
            roots.append({
                "application": application,
                "root": path,
                "component": row.component,
                "state": row.state.state,
                "runtime": dict(row.runtime or {}),
                "exports": {p: dict(rows[p].exports or {}) for p in subtree},
                "components": sorted({rows[p].component for p in subtree}),
            })
    return roots


def _subtree(children: dict, path: str) -> list:
    out, stack = [], [path]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(sorted(children.get(current, ()), reverse=True))
    return out


def _match(roots: list, provider_name: str, server) -> dict | None:
    """The root instance that ``server`` carries: same provider id (and provider, when the runtime
    names one), else the server's name in the runtime's ``server``."""
    for root in roots:
        runtime = root["runtime"]
        if runtime.get("provider_id") == server.provider_id and runtime.get("provider", provider_name) == provider_name:
            return root
    for root in roots:
        runtime = root["runtime"]
        if runtime.get("server") and runtime.get("server") == server.name \
                and runtime.get("provider", provider_name) == provider_name:
            return root
    return None


def server_type_of(server) -> str | None:
    extra = getattr(server, "extra", None) or {}
    tags = getattr(server, "tags", None) or {}
    return extra.get("server_type") or tags.get("server_type") or tags.get("appgraph_server_type")


def inventory_hosts(store, providers) -> list:
    """``[{name, vars, groups}]``: one host per server that a provider lists.

    ``providers`` is ``[(name, provider)]`` (providers.registry.get_provider). Host names are the
    servers' names; a name two providers both use gets ``@<provider>`` appended for the second.
    """
    roots = application_roots(store)
    rows = server_rows(store)
    hosts, seen = [], set()
    for provider_name, provider in providers:
        for server in sorted(provider.list_servers(), key=lambda s: (s.name, s.provider_id)):
            name = server.name if server.name not in seen else "%s@%s" % (server.name, provider_name)
            seen.add(name)
            row = rows.get((provider_name, server.provider_id)) or rows.get((provider_name, server.name))
            hosts.append(_host(name, provider_name, server, _match(roots, provider_name, server), row))
    return hosts


def server_rows(store) -> dict:
    """The store's live server rows (Spatie's statuses, the pool), by (provider, provider id) and
    by (provider, name): one query."""
    out = {}
    for row in rows_sql.live(store.db):
        out[(row.provider, row.name)] = row
        if row.provider_id:
            out[(row.provider, row.provider_id)] = row
    return out


def _host(name: str, provider_name: str, server, root: dict | None, row=None) -> dict:
    # The store's row says where the server is in its flow (running, rebooting, hanging, ...);
    # the provider's own word is kept beside it.
    status = row.status if row is not None else server.state
    server_type = row.server_type if row is not None else server_type_of(server)
    variables = {
        "ansible_host": server.address or (root or {}).get("runtime", {}).get("address"),
        "appgraph_provider": provider_name,
        "appgraph_provider_id": server.provider_id,
        "appgraph_status": status,
        "appgraph_provider_state": server.state,
        "appgraph_server_type": server_type,
        "appgraph_application": None,
        "appgraph_component": None,
        "appgraph_instance_path": None,
        "appgraph_instance_state": None,
        "appgraph_exports": {},
    }
    groups = ["status_%s" % identifier(status)]
    if server_type:
        groups.append("pool_%s" % identifier(server_type))
    if root is not None:
        variables.update({
            "appgraph_application": root["application"],
            "appgraph_component": root["component"],
            "appgraph_instance_path": root["root"],
            "appgraph_instance_state": root["state"],
            "appgraph_exports": root["exports"],
        })
        groups.append("app_%s" % identifier(root["application"]))
        groups.extend("component_%s" % identifier(c) for c in root["components"])
    variables.update(connection_vars(provider_name, server))
    return {"name": name, "vars": variables, "groups": groups}


def connection_vars(provider_name: str, server) -> dict:
    """How Ansible reaches a server: a local server inside its sandbox (the collection's
    ``sandbox`` connection, through its agent), an ssh one with its user and port."""
    extra = getattr(server, "extra", None) or {}
    if provider_name in LOCAL_PROVIDERS:
        return {"ansible_connection": "appgraph.lifecycle.sandbox", "appgraph_local_root": extra.get("home")}
    if provider_name == "ssh":
        return {"ansible_user": extra.get("user"), "ansible_port": extra.get("port")}
    return {}


class InventorySource:
    """What the ``servers`` inventory plugin asks: a cache key, and the hosts (on a cache miss).

    ``providers`` is the plugin's option: ``[{name, options}]``. The providers are built (and their
    options validated) at once, since their identities are part of the cache key."""

    def __init__(self, store_dsn: str | None, providers: list, all_fleets: bool = False):
        self.store_dsn = store_dsn
        self.providers = [(p["name"], get_provider(p["name"], p.get("options") or {})) for p in providers]
        self.all_fleets = all_fleets

    def cache_key(self) -> str:
        return cache_key_suffix(self.store_dsn, self.providers) + ("-all" if self.all_fleets else "")

    def hosts(self) -> list:
        """The servers of the store's fleet (of every fleet with ``all_fleets``)."""
        with Store(self.store_dsn) as store:
            fleet = ALL_FLEETS if self.all_fleets else store.fleet
            providers = [(name, bind_fleet(built, fleet)) for name, built in self.providers]
            return inventory_hosts(store, providers)
