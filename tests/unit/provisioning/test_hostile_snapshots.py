# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile snapshots (tar slip, absolute paths, link escapes, devices, bombs, truncation, wrong
hashes, unknown versions, ...) are refused with a clear error, and nothing is written: no row, no
server, no tenant folder, no database file, no staging folder left behind."""

from __future__ import annotations

import os

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning.extract import SnapshotRefused
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from .helpers import manager, write_config
from .hostile import hostile_cases, snapshot

LIMITS = {"max_files": 20, "max_ratio": 50, "ratio_after": 1024 * 1024}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return hostile_cases(str(folder))


@pytest.fixture
def setup(tmp_path, local_root):
    store = str(tmp_path / "store.db")
    return store, write_config(tmp_path, local_root, limits=LIMITS), tmp_path


def test_there_are_at_least_fifteen(cases):
    assert len(cases) >= 15


def _nothing_written(store: str, tmp_path, snapshot_dir: str) -> None:
    with Store(store) as opened:
        assert opened.db.query("SELECT COUNT(*) FROM provisions")[0][0] == 0
        assert opened.db.query("SELECT COUNT(*) FROM servers")[0][0] == 0
        assert opened.db.query("SELECT COUNT(*) FROM events")[0][0] == 0
    assert not (tmp_path / "databases").exists()
    assert not (tmp_path / "servers").exists()
    assert [n for n in os.listdir(snapshot_dir) if n.startswith(".import-")] == []


CASES = [
    "tar_slip", "tar_slip_nested", "absolute_path", "symlink_absolute", "symlink_escape", "below_symlink",
    "hardlink_absolute", "hardlink_outside", "device", "fifo", "duplicate_entry", "too_many_files", "truncated",
    "not_an_archive", "wrong_hash", "unknown_version", "manifest_not_first", "extra_member", "part_is_symlink",
    "part_name_escape", "missing_part", "gzip_bomb", "damaged_database"]


@pytest.mark.parametrize("name", CASES)
def test_hostile_snapshot_is_refused_and_nothing_is_written(cases, setup, name):
    store, config, tmp_path = setup
    path, words = cases[name]
    m = manager(store, config)
    with pytest.raises(SnapshotRefused) as caught:
        m.import_snapshot("acme", "shop1", path)
    assert words in str(caught.value), str(caught.value)
    _nothing_written(store, tmp_path, os.path.dirname(path))


def test_a_good_hand_made_snapshot_is_imported(setup):
    store, config, tmp_path = setup
    path = snapshot(str(tmp_path / "good.tar.gz"), str(tmp_path))
    result = manager(store, config).import_snapshot("acme", "shop1", path)
    assert result["provision"]["state"] == "provisioned", result.get("error")
    tree = result["provision"]["parts"]["storage"]["path"]
    with open(os.path.join(tree, "public", "index.html"), "rb") as handle:
        assert handle.read() == b"hi\n"


def test_every_case_is_listed(cases):
    assert sorted(CASES) == sorted(cases)
