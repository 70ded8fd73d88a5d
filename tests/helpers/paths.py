# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where things are, for tests wherever they sit: the repository, collection/, the unit fixtures."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# holds ansible_collections/appgraph/lifecycle: collection/ (a link back to REPO_ROOT), or the tree a
# copy already sits in (ansible-test units)
COLLECTIONS_ROOT = (REPO_ROOT.parents[2] if REPO_ROOT.parent.parent.name == "ansible_collections"
                    else REPO_ROOT / "collection")
UNIT_FIXTURES = REPO_ROOT / "tests" / "unit" / "fixtures"
