# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the EDA integration tests: a store per test (SQLite, or a PostgreSQL database of its own)."""

from __future__ import annotations


import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path) -> str:
    """A new store, created (the event source waits for a SQLite file that is not there)."""
    dsn = str(tmp_path / "store.db") if request.param == "sqlite" else request.getfixturevalue("fresh_postgresql")
    Store(dsn).close()
    return dsn
