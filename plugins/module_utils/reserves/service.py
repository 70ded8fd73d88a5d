# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reserve service: set a reserve (and run a pass over it), remove it, claim, release, look.

``ReserveService`` holds what every step needs: the store, the providers (``provider_factory``;
the secret options of this call are added to it, never stored), the clock (epoch seconds: it
dates rows and decides windows and lifetimes, so tests inject one) and the installers the
converges of the clones' applications use. It opens a store connection per step, in the calling
thread, so one service may be used by the worker threads of a pass.
"""

from __future__ import annotations

import dataclasses
import os
import time

from typing import TYPE_CHECKING

from ..providers.guarded import account_of, build_provider
from ..store import reserves as sql
from ..store.leases import new_owner
from ..store.store import Store
from . import claim as claims
from .housekeeping import housekeep
from .result import counts_of, description, predicted_counts, reserve_status
from .settings import DEFAULT_PROVIDER, parse_settings
from .states import RESERVE_CHANGED, RESERVE_REMOVED

# The providers, the server flows, the installers and the template loader are imported where they
# are used: a claim needs none of them (under Ansible, every module imported is compiled anew).
if TYPE_CHECKING:  # pragma: no cover
    from ..installers.registry import InstallerRegistry
    from ..servers.flows import ServerService

LEASE_SECONDS = 3600.0      # how long a clone's lease lasts if its process hangs (a dead one frees it at once)


def get_provider(name: str, options):
    """The registry's ``get_provider``, imported when a provider is first needed."""
    from ..providers.registry import get_provider as registry_get  # pylint: disable=import-outside-toplevel
    return registry_get(name, options)


def split_options(provider: str, options):
    from ..servers.secrets import split_options as split  # pylint: disable=import-outside-toplevel
    return split(provider, options)


@dataclasses.dataclass
class ReserveService:
    """Reserves in the store at ``store_dsn``."""

    store_dsn: str | None = None
    provider_factory: object = get_provider
    clock: object = time.time
    sleep: object = time.sleep
    registry: object = None             # () -> InstallerRegistry; default: the built-ins on provider_factory
    build_timeout: float | None = None  # seconds a clone's build may take (None: the flows' own limits)
    lease_seconds: float = LEASE_SECONDS
    backoff_initial: float | None = None    # the server flows' polling (None: ServerService's defaults)
    backoff_max: float | None = None
    hanging_after: float | None = None
    owner: str = dataclasses.field(default_factory=new_owner)

    # -- what the steps use ---------------------------------------------------------------------------

    def store(self) -> Store:
        return Store(self.store_dsn, clock=self.clock)

    def _polling(self) -> dict:
        return {k: v for k, v in (("backoff_initial", self.backoff_initial), ("backoff_max", self.backoff_max),
                                  ("hanging_after", self.hanging_after)) if v is not None}

    def servers(self) -> ServerService:
        from ..servers.flows import ServerService  # pylint: disable=import-outside-toplevel
        return ServerService(self.store_dsn, provider_factory=self.provider_factory, clock=self.clock,
                             sleep=self.sleep, **self._polling())

    def installers(self) -> InstallerRegistry:
        if self.registry is not None:
            return self.registry()
        from ..installers.registry import InstallerRegistry  # pylint: disable=import-outside-toplevel
        return InstallerRegistry.with_providers(self.provider_factory, self._polling())

    def deadline(self) -> float | None:
        return None if self.build_timeout is None else self.clock() + self.build_timeout

    def with_secrets(self, provider: str, secret: dict) -> "ReserveService":
        """This service, with the secret options of ``provider`` added to what its providers get."""
        if not secret:
            return self
        base = self.provider_factory

        def factory(name, options):
            return base(name, dict(options, **secret) if name == provider else options)
        return dataclasses.replace(self, provider_factory=factory)

    def with_credentials(self, reserve: str, provider_options: dict | None, store=None) -> "ReserveService":
        """This service with the secret options of ``provider_options`` (credentials) added for the
        reserve's provider; its other options are the reserve's own."""
        if not provider_options:
            return self
        if store is None:
            with self.store() as opened:
                return self.with_credentials(reserve, provider_options, opened)
        row = sql.reserve(store.db, reserve)
        provider = row.provider if row is not None else DEFAULT_PROVIDER
        return self.with_secrets(provider, split_options(provider, provider_options)[1])

    # -- reserves -------------------------------------------------------------------------------------

    def ensure(self, name: str, settings: dict | None = None, provider: str | None = None,
               provider_options: dict | None = None, src: str | None = None, check_mode: bool = False) -> dict:
        """Set the reserve ``name`` (settings, template), then run one pass over it (refill, expire,
        migrate); in check mode, what that would do."""
        claims.check_name(name, "name")
        parsed = parse_settings(name, settings, provider=provider, provider_options=provider_options, src=src)
        provider = provider or DEFAULT_PROVIDER
        public, secret = split_options(provider, provider_options)
        svc = self.with_secrets(provider, secret)
        built = build_provider(svc.provider_factory, provider, dict(public, **secret))
        from .template import load_template, template_digest  # pylint: disable=import-outside-toplevel
        app, template = load_template(src) if src else (None, None)
        digest = template_digest(provider, public, app)
        source = os.path.abspath(src) if src else None
        with self.store() as store:
            before, rows = sql.reserve(store.db, name), sql.clones(store.db, name)
        after = dict(parsed.as_dict(), provider=provider, src=source, template_digest=digest)
        changed = description(before) != after or (before is not None and before.provider_options != public)
        if check_mode:
            now = self.clock()
            virtual = sql.ReserveRow(
                name=name, settings=parsed.as_dict(), provider=provider, provider_options=public,
                provider_identity=before.provider_identity if before else None, source=source, template=template,
                template_digest=digest, next_clone_id=max(parsed.next_clone_id, before.next_clone_id if before else 1),
                hits=before.hits if before else 0, misses=before.misses if before else 0, created_at=now,
                updated_at=now)
            report = housekeep(svc, name, check_mode=True, reserve=virtual)
            status = dict(reserve_status(name, virtual, rows, now), counts=predicted_counts(rows, report))
            return _result(status, report, before, rows, changed, check_mode=True)
        identity = account_of(provider, built)
        with self.store() as store, sql.reserve_transaction(store, name) as tx:
            sql.put_reserve(tx, name, parsed.as_dict(), provider, public, identity, source, template, digest,
                            parsed.next_clone_id)
            if changed:
                tx.append_events([(name, RESERVE_CHANGED, {"reserve": name, "before": description(before),
                                                           "after": after})])
        report = housekeep(svc, name)
        return _result(svc.status(name)["reserves"][0], report, before, rows, changed)

    def absent(self, name: str, check_mode: bool = False) -> dict:
        """Remove the reserve: its unclaimed clones are deleted; claimed ones stay (migrated)."""
        claims.check_name(name, "name")
        with self.store() as store:
            before, rows = sql.reserve(store.db, name), sql.clones(store.db, name)
        if check_mode:
            report = housekeep(self, name, check_mode=True, absent=True)
            status = dict(reserve_status(name, None, rows, self.clock()), counts=predicted_counts(rows, report))
            return _result(status, report, before, rows, before is not None, check_mode=True)
        if before is not None:
            with self.store() as store, sql.reserve_transaction(store, name) as tx:
                sql.delete_reserve(tx, name)
                tx.append_events([(name, RESERVE_REMOVED, {"reserve": name, "clones": counts_of(rows)})])
        report = housekeep(self, name, absent=True)
        return _result(self.status(name)["reserves"][0], report, before, rows, before is not None)

    def housekeep_all(self, check_mode: bool = False, only: set | None = None) -> list:
        """One pass over every reserve of the store (of ``only``, when given), and over the clones of
        removed ones."""
        with self.store() as store:
            names = sorted({r.name for r in sql.reserves(store.db)} | {c.reserve for c in sql.clones(store.db)})
        return [housekeep(self, name, check_mode=check_mode) for name in names if only is None or name in only]

    # -- claims ---------------------------------------------------------------------------------------

    def claim(self, reserve: str, name: str, fallback: bool = True, check_mode: bool = False, store=None) -> dict:
        """Claim a clone under ``name`` (``store``: an open one to work on, else one is opened)."""
        if check_mode:
            return claims.plan_claim(self, reserve, name, fallback)
        return claims.claim(self, reserve, name, fallback, store)

    def release(self, reserve: str, name: str, check_mode: bool = False) -> dict:
        if check_mode:
            return claims.plan_release(self, reserve, name)
        return claims.release(self, reserve, name)

    # -- looking --------------------------------------------------------------------------------------

    def status(self, name: str | None = None) -> dict:
        """One reserve (``name``) or every one: ``{reserves: [...]}``, each as ``reserve_status``."""
        now = self.clock()
        with self.store() as store:
            if name is not None:
                claims.check_name(name, "name")
                names = [name]
            else:
                names = sorted({r.name for r in sql.reserves(store.db)} | {c.reserve for c in sql.clones(store.db)})
            return {"reserves": [reserve_status(n, sql.reserve(store.db, n), sql.clones(store.db, n), now)
                                 for n in names]}


REPORT_KEYS = ("built", "resumed", "expired", "deleted", "returned", "migrated", "failed", "pending", "low", "target")


def _result(status: dict, report: dict, before, rows_before: list, changed: bool, check_mode: bool = False) -> dict:
    """What ``reserve`` returns: the reserve as it is now (in check mode: would be), what the pass
    did, and the diff of the settings and of the counts."""
    result = dict(status, **{key: report[key] for key in REPORT_KEYS})
    result.update(reserve=status["name"], changed=changed or report["changed"], check_mode=check_mode,
                  diff={"before": {"settings": description(before), "counts": counts_of(rows_before)},
                        "after": {"settings": status["settings"], "counts": status["counts"]}})
    return result
