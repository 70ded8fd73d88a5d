# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A reserve's settings: defaults, the schema file, and hostile settings (each a clear InputError
naming its key, never a traceback, and nothing written)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.schema import schema_json
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.settings import parse_settings
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import reserves as sql
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_the_schema_file_is_the_one_the_engine_uses():
    with open(os.path.join(REPO, "schemas", "reserve.schema.json"), encoding="utf-8") as handle:
        assert handle.read() == schema_json()
    assert json.loads(schema_json())["properties"]["full_size"]["maximum"] == 10000


def test_defaults():
    settings = parse_settings("site", {"full_size": None})
    assert settings.as_dict() == {
        "full_size": 10, "minimum_size": 1, "refill_window": "00:00-04:00", "timezone": "UTC",
        "clone_lifetime": 23 * 3600.0, "clone_prefix": "site-clone-", "next_clone_id": 1, "pool_state": "running",
        "reuse_on_release": False, "refill_concurrency": 10}


HOSTILE = [
    ({"refill_window": "22:00"}, "refill_window"),
    ({"refill_window": "25:00-26:00"}, "refill_window"),
    ({"refill_window": "22:00-04:00\n"}, "refill_window"),
    ({"refill_window": 2200}, "refill_window"),
    ({"refill_window": {"from": "22:00"}}, "refill_window"),
    ({"full_size": -1}, "full_size"),
    ({"minimum_size": -5}, "minimum_size"),
    ({"full_size": 2, "minimum_size": 3}, "minimum_size"),      # minimum above full
    ({"full_size": 10 ** 30}, "full_size"),                     # huge numbers
    ({"full_size": 1e308}, "full_size"),
    ({"next_clone_id": 10 ** 100}, "next_clone_id"),
    ({"next_clone_id": 0}, "next_clone_id"),
    ({"refill_concurrency": 0}, "refill_concurrency"),
    ({"refill_concurrency": 10 ** 6}, "refill_concurrency"),
    ({"clone_lifetime": -1}, "clone_lifetime"),
    ({"clone_lifetime": float("nan")}, "clone_lifetime"),
    ({"clone_lifetime": float("inf")}, "clone_lifetime"),
    ({"clone_lifetime": 10 ** 30}, "clone_lifetime"),
    ({"clone_lifetime": "forever"}, "clone_lifetime"),
    ({"clone_lifetime": "99999999999999999999d"}, "clone_lifetime"),
    ({"full_size": True}, "full_size"),                         # a bool is no number
    ({"full_size": "ten"}, "full_size"),
    ({"full_size": [10]}, "full_size"),
    ({"pool_state": "paused"}, "pool_state"),
    ({"reuse_on_release": "yes please"}, "reuse_on_release"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "x" * 10000}, "timezone"),
    ({"clone_prefix": "../etc/"}, "clone_prefix"),
    ({"clone_prefix": "site-\n"}, "clone_prefix"),
    ({"clone_prefix": "\udcff-"}, "clone_prefix"),              # not even valid UTF-8
    ({"clone_prefix": "a" * 1000}, "clone_prefix"),
    ({"ful_size": 3}, "ful_size"),                              # unknown keys
    ({"nested": {"a": [{"b": [{"c": [1] * 1000}]}]}}, "nested"),
]


@pytest.mark.parametrize("settings, key", HOSTILE, ids=[k + "-%d" % i for i, (_s, k) in enumerate(HOSTILE)])
def test_hostile_settings_name_the_key(settings, key):
    with pytest.raises(InputError) as error:
        parse_settings("site", settings)
    keys = [e.key for e in getattr(error.value, "errors", [error.value])]
    assert key in keys, str(error.value)
    assert len(str(error.value)) < 2000 and "Traceback" not in str(error.value)


def test_an_unknown_key_gets_a_suggestion():
    with pytest.raises(InputError) as error:
        parse_settings("site", {"ful_size": 3})
    assert error.value.hint == "did you mean 'full_size'?"


def test_every_problem_is_reported_at_once():
    with pytest.raises(InputError) as error:
        parse_settings("site", {"full_size": -1, "refill_window": "late", "pool_state": "paused"})
    assert {e.key for e in error.value.errors} == {"full_size", "refill_window", "pool_state"}


@pytest.mark.parametrize("name", ["", "-site", "a b", "a/b", "x" * 65, "site\n", None, 42, "é"])
def test_bad_reserve_names_are_refused_and_nothing_is_written(tmp_path, name):
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.service import ReserveService
    dsn = str(tmp_path / "store.db")
    with pytest.raises(InputError) as error:
        ReserveService(dsn).ensure(name, {"full_size": 1})
    assert error.value.key == "name"
    with Store(dsn) as store:
        assert sql.reserves(store.db) == [] and sql.clones(store.db) == []


@pytest.mark.parametrize("settings, key", HOSTILE[:8])
def test_the_service_refuses_hostile_settings_before_writing(tmp_path, settings, key):
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.service import ReserveService
    dsn = str(tmp_path / "store.db")
    with pytest.raises(InputError):
        ReserveService(dsn).ensure("site", settings)
    with Store(dsn) as store:
        assert sql.reserves(store.db) == [] and store.events() == []
