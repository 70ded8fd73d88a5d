# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the integration tests (helpers.py has the rest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import BAD_APP, FAILING_APP, FAILING_DEPLOY, PUPPET_APP, SHOP_APP, TIERS_APP


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A temporary directory with the application files and a store path."""
    (tmp_path / "shop.app.yml").write_text(SHOP_APP, encoding="utf-8")
    (tmp_path / "tiers.app.yml").write_text(TIERS_APP, encoding="utf-8")
    (tmp_path / "bad.app.yml").write_text(BAD_APP, encoding="utf-8")
    (tmp_path / "failing.app.yml").write_text(FAILING_APP, encoding="utf-8")
    (tmp_path / "failing-thing" / "scripts").mkdir(parents=True)
    (tmp_path / "failing-thing" / "scripts" / "deploy.sh").write_text(FAILING_DEPLOY, encoding="utf-8")
    (tmp_path / "puppets.app.yml").write_text(PUPPET_APP, encoding="utf-8")
    return tmp_path
