# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in instance sub-provisioner ``server``: the tenant's server, from one of three sources.

- ``create`` (default): a server of its own, made by the server flows (``servers/flows.py``) under
  the name ``<name_prefix><instance id>``; deprovision stops and deletes it. With ``application``
  (a template: an ``*.app.yml`` or a Roboconf directory whose one root instance is a server), the
  server is that application's root: an application of the same name as the server is added (its
  root bound to the server, as a reserve's clone's is), deployed and started on it, so the tenant
  gets a ready site, not a bare machine; deprovision undeploys it (its recipes run, the server goes
  with its root) and removes it. A run killed in the middle is rolled back and made again by the
  next one: the application is named in the part before it is made.
- ``reserve``: a ready clone claimed from a warm reserve under the instance id (milliseconds; a cold
  create when the reserve is empty, as a claim does); deprovision releases it.
- ``pool``: a running server of a pool, shared with other tenants (the one with the fewest); a
  deprovision leaves the server to its pool. With ``application``, the tenant's application is
  *attached* to that server (its root installer ``attached``: used, never made nor removed), its
  instances' directories its own on the shared server; deprovision undeploys and removes it.

The part records the server and its home folder (the provider's ``server_home``), where the storage
sub-provisioner puts the tenant's tree. ``locations`` maps a guest location to options of its own
(DFE's guest locations: where an instance goes).
"""

from __future__ import annotations

import os

from ..errors import InputError, PermanentError
from ..model.statuses import RUNNING
from ..store import provisions as sql
from ..store import servers as servers_sql
from ..store.store import Store
from .base import SubProvisioner
from .states import EXISTS

SOURCES = ("create", "reserve", "pool")
DEFAULT_PREFIX = "tenant-"


class ServerInstance(SubProvisioner):
    role = "instance"
    name = "server"
    OPTIONS = {"source": "create, reserve or pool", "reserve": "the reserve's name (source reserve)",
               "pool": "the pool's server type (source pool)", "server_type": "of a created server (default tenant)",
               "provider": "of a created server (default local)", "provider_options": "of a created server",
               "name_prefix": "a created server is <name_prefix><instance id> (default tenant-)",
               "application": "a template application (an *.app.yml or a Roboconf directory with one server root) "
                              "deployed and started on the tenant's server (source create or pool)",
               "locations": "guest location -> options of its own"}

    @classmethod
    def option_errors(cls, options: dict) -> list:
        errors = super().option_errors(options)
        for where in [options] + list((options.get("locations") or {}).values()):
            source = where.get("source", "create") if isinstance(where, dict) else None
            if source not in SOURCES:
                errors.append(("source", "%r is not a source" % (source,), "one of %s" % ", ".join(SOURCES)))
            elif source in ("reserve", "pool") and not where.get(source):
                errors.append((source, "source %s needs the option %r" % (source, source), "add it"))
            if isinstance(where, dict) and where.get("application"):
                errors += _application_errors(source, where["application"])
        return errors

    @classmethod
    def with_paths(cls, options: dict, folder: str) -> dict:
        """``application`` is relative to the provisioners file, as an application's recipes are
        to the application's."""
        def resolved(where):
            if isinstance(where, dict) and isinstance(where.get("application"), str):
                return dict(where, application=os.path.join(folder, os.path.expanduser(where["application"])))
            return where
        out = resolved(options)
        if isinstance(out.get("locations"), dict):
            out = dict(out, locations={k: resolved(v) for k, v in out["locations"].items()})
        return out

    def settings(self, guest_location: str | None) -> dict:
        """The options for a guest location (its own ones over the common ones)."""
        locations = self.options.get("locations") or {}
        if guest_location and locations:
            if guest_location not in locations:
                raise InputError("no guest location %r" % guest_location, key="guest_location",
                                 hint="one of %s" % ", ".join(sorted(locations)))
            return dict({k: v for k, v in self.options.items() if k != "locations"}, **locations[guest_location])
        return self.options

    def check(self, request) -> None:
        self.settings(request.guest_location)

    def intent(self, request, parts: dict) -> dict:
        settings = self.settings(request.guest_location)
        source = settings.get("source", "create")
        intent = {"source": source}
        if source == "create":
            intent["server"] = settings.get("name_prefix", DEFAULT_PREFIX) + request.instance_id
        elif source == "reserve":
            intent["reserve"] = settings["reserve"]
        else:
            intent["pool"] = settings["pool"]
        if settings.get("application"):         # named before it is made: see deprovision
            intent["application"] = settings.get("name_prefix", DEFAULT_PREFIX) + request.instance_id
            intent["template"] = settings["application"]
        return intent

    def provision(self, request, parts: dict) -> dict:
        settings = self.settings(request.guest_location)
        part = dict(parts["instance"])
        source = part["source"]
        if source == "create" and settings.get("application"):
            row = self._deploy_application(request, part, settings)
        elif source == "create":
            row = self._servers().start(part["server"], settings.get("server_type", "tenant"),
                                        settings.get("provider", "local"), settings.get("provider_options") or {},
                                        tags={"appgraph_provision": request.instance_id},
                                        deadline=self.context.deadline)
        elif source == "reserve":
            claimed = self._reserves().claim(part["reserve"], request.instance_id)
            row = self._server(claimed["server"]["name"])
        else:
            row = self._pool_server(part["pool"], part.get("server"))
            if settings.get("application"):
                self._deploy_application(request, part, settings, attached_to=row.name)
        if row.status != RUNNING:
            raise PermanentError("server %s is %s, not running: %s" % (row.name, row.status, row.error or ""))
        return dict(part, server=row.name, address=row.address, provider=row.provider, home=self._home(row))

    def deprovision(self, request, part: dict, parts: dict, keep_data: bool = False) -> str:
        source = part.get("source")
        if source == "create" and part.get("server"):
            if part.get("application"):
                self._undeploy_application(part["application"], part.get("template"))
            self._servers().stop_and_delete(part["server"], deadline=self.context.deadline)
        elif source == "reserve":
            self._reserves().release(part["reserve"], request.instance_id)
        elif source == "pool" and part.get("application"):
            self._undeploy_application(part["application"], part.get("template"))    # the server stays in its pool
        return "removed"

    def describe(self, part: dict) -> dict:
        return {k: part.get(k) for k in ("source", "server", "address", "provider", "reserve", "pool", "status",
                                         "application") if part.get(k) is not None}

    # -- the application on a created server ------------------------------------------------------------

    def _deploy_application(self, request, part: dict, settings: dict, attached_to: str | None = None):
        """The tenant's application, deployed and started: on the created server, its root (the
        server named after it); on a pool's server (``attached_to``), attached to it."""
        from ..reserves.template import add_attached, add_on_server, load_template  # pylint: disable=import-outside-toplevel
        from ..runtime.settle import START, settle  # pylint: disable=import-outside-toplevel
        src, name, event = settings["application"], part["application"], {"provision": request.instance_id}
        with Store(self.context.store_dsn, clock=self.context.clock) as store:
            _refuse_a_stranger(store, name, src)
            _model, template = load_template(src)
            if attached_to:
                app = add_attached(store, template, src, name, attached_to, event)
            else:
                app = add_on_server(store, template, src, name, settings.get("provider", "local"),
                                    settings.get("provider_options") or {}, settings.get("server_type", "tenant"),
                                    part["server"], event)
            settle(store, app, START, self._installers(), timeout=self._time_left())
        return self._server(part["server"] if not attached_to else attached_to)

    def _undeploy_application(self, name: str, src: str | None) -> None:
        """Undeploy and remove the application deployed on the tenant's server, if there is one
        (and it is this provision's: one of the same name made otherwise is left alone)."""
        from ..runtime.settle import UNDEPLOY, settle  # pylint: disable=import-outside-toplevel
        from ..runtime.stored import stored_application  # pylint: disable=import-outside-toplevel
        with Store(self.context.store_dsn, clock=self.context.clock) as store:
            record = store.application(name)
            if record is None or not _made_here(record, src):
                return
            settle(store, stored_application(store, name), UNDEPLOY, self._installers(), timeout=self._time_left())
            with store.transaction(name) as tx:
                tx.delete_application(name)
                tx.append_events([(None, "application_removed", {})])

    def _installers(self):
        from ..installers.registry import InstallerRegistry  # pylint: disable=import-outside-toplevel
        return InstallerRegistry.with_providers(self._factory(), self.context.polling)

    def _time_left(self) -> float | None:
        if self.context.deadline is None:
            return None
        return max(0.0, self.context.deadline - self.context.clock())

    # -- helpers ----------------------------------------------------------------------------------------

    def _factory(self):
        if self.context.provider_factory is not None:
            return self.context.provider_factory
        from ..providers.registry import get_provider  # pylint: disable=import-outside-toplevel
        return get_provider

    def _servers(self):
        from ..servers.flows import ServerService  # pylint: disable=import-outside-toplevel
        return ServerService(self.context.store_dsn, provider_factory=self._factory(), clock=self.context.clock,
                             sleep=self.context.sleep, **self.context.polling)

    def _reserves(self):
        from ..reserves.service import ReserveService  # pylint: disable=import-outside-toplevel
        return ReserveService(self.context.store_dsn, provider_factory=self._factory(), clock=self.context.clock,
                              sleep=self.context.sleep, **self.context.polling)

    def _server(self, name: str):
        with Store(self.context.store_dsn, clock=self.context.clock) as store:
            row = servers_sql.read(store.db, name)
        if row is None:
            raise PermanentError("server %s has no row in the store" % name)
        return row

    def _pool_server(self, pool: str, chosen: str | None):
        """The running server of ``pool`` with the fewest tenants (the one chosen before a crash, if
        it still runs)."""
        with Store(self.context.store_dsn, clock=self.context.clock) as store:
            running = [r for r in servers_sql.pool(store.db, pool) if r.status == RUNNING]
            if not running:
                raise PermanentError("the pool %r has no running server" % pool)
            for row in running:
                if row.name == chosen:
                    return row
            load = {r.name: sql.count_on_server(store.db, r.name, EXISTS) for r in running}
        return min(running, key=lambda r: (load[r.name], r.created_at, r.name))

    def _home(self, row) -> str:
        from ..servers.flows import fleet_provider  # pylint: disable=import-outside-toplevel
        provider = fleet_provider(self._factory(), row.provider, row.provider_options, row.fleet)
        return provider.server_home(row.provider_id)


def _made_here(record, src: str | None) -> bool:
    """Whether the stored application ``record`` is the one a provision added from ``src`` (the
    event data names the provision; the record keeps the template's path as its source and, unlike
    an application added with the ``application`` module, no source digest)."""
    return record.source == src and not record.source_digest


def _refuse_a_stranger(store, name: str, src: str) -> None:
    record = store.application(name)
    if record is not None and not _made_here(record, src):
        raise PermanentError("an application named %s exists already, not made by this provision (source %s); "
                             "remove it, or give the instance sub-provisioner another name_prefix" % (name, record.source))


def _application_errors(source: str, src) -> list:
    """``[(key, message, hint)]`` about the ``application`` option (its template is read here, so
    that a bad one is refused with the provisioners file, not at the first provision)."""
    if source == "reserve":
        return [("application", "a reserve's clones carry the reserve's own template application",
                 "remove 'application' (give the reserve its template), or use source create or pool")]
    if not isinstance(src, str) or not src:
        return [("application", "must be the path of an application template", "an *.app.yml or a Roboconf directory")]
    from ..reserves.template import load_template  # pylint: disable=import-outside-toplevel
    try:
        load_template(src)
    except InputError as exc:
        return [("application", "the template %s cannot be used: %s" % (src, exc), None)]
    return []
