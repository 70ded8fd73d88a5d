# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the reserve tests: a store of each kind, an in-memory provider, a clock, a service."""

from __future__ import annotations

import uuid

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.service import ReserveService

from .helpers import SITE_APP, Clock, Instant, at, forget


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def dsn(request, tmp_path):
    """A store: a SQLite file, or a PostgreSQL database of the test's own (reconcile and the
    housekeeping pass are store-wide: with xdist, one test's reconcile finished another's clones)."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("fresh_postgresql")


@pytest.fixture
def name(dsn):
    """A reserve name of this test's own (PostgreSQL is shared); its rows are removed at the end."""
    reserve = "r%s" % uuid.uuid4().hex[:8]
    yield reserve
    forget(dsn, reserve)


@pytest.fixture
def clock():
    return Clock(at("2026-01-15 02:00"))        # inside the default window (00:00-04:00 UTC)


@pytest.fixture
def provider():
    return Instant()


@pytest.fixture
def service(dsn, provider, clock):
    return ReserveService(dsn, provider_factory=lambda _name, _options: provider, clock=clock, sleep=clock.sleep)


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site.app.yml"
    path.write_text(SITE_APP, encoding="utf-8")
    return str(path)
