# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding providers by name, validating their options, and the contract's defaults."""

from __future__ import annotations

import textwrap

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, PermanentError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers import registry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import (
    Option, Provider, validate_options)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider


def test_local_is_built_in_and_takes_its_options(tmp_path):
    provider = registry.get_provider("local", {"root": str(tmp_path), "heartbeat_interval": "0.5", "start_delay": 1})
    assert isinstance(provider, LocalProvider)
    assert (provider.root, provider.heartbeat_interval, provider.start_delay) == (str(tmp_path), 0.5, 1.0)
    assert "local" in registry.provider_names()


def test_unset_options_take_their_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("APPGRAPH_LOCAL_ROOT", str(tmp_path / "env-root"))
    provider = registry.get_provider("local", {"root": None, "start_delay": None})
    assert provider.root == str(tmp_path / "env-root")
    assert (provider.heartbeat_interval, provider.start_delay) == (60.0, 0.0)
    monkeypatch.delenv("APPGRAPH_LOCAL_ROOT")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert registry.get_provider("local").root == str(tmp_path / ".local/state/appgraph/local")


def test_unknown_provider_names_the_valid_ones():
    with pytest.raises(PermanentError, match=r"unknown provider 'nimbus'; valid providers: .*local"):
        registry.get_provider("nimbus", {})


def test_unknown_option_names_the_key_and_the_valid_keys():
    with pytest.raises(InputError) as error:
        registry.get_provider("local", {"rooot": "/tmp/x"})
    assert error.value.key == "rooot"
    assert "heartbeat_interval, root, start_delay" in str(error.value)


@pytest.mark.parametrize("key, value, message", [
    ("heartbeat_interval", 0, "greater than 0"),
    ("heartbeat_interval", True, "must be a number"),
    ("heartbeat_interval", "soon", "must be a number"),
    ("start_delay", -1, "at least 0"),
    ("root", 5, "must be a str"),
])
def test_bad_option_values_are_refused(key, value, message):
    with pytest.raises(InputError, match=message) as error:
        registry.get_provider("local", {key: value})
    assert error.value.key == key


def test_options_must_be_a_mapping():
    with pytest.raises(InputError, match="must be a mapping"):
        validate_options("local", LocalProvider.OPTIONS, ["root"])


def test_validate_options_fills_defaults():
    declared = {"size": Option(float, 2.0, minimum=1), "label": Option(str, "x")}
    assert validate_options("p", declared, {"size": 3}) == {"size": 3.0, "label": "x"}


class Minimal(Provider):
    """The smallest complete provider: enough to check the contract's defaults."""

    name = "minimal"

    def create_server(self, spec):
        raise NotImplementedError

    def has_started(self, provider_id):
        return False

    def stop_server(self, provider_id):
        pass

    def has_stopped(self, provider_id):
        return True

    def delete_server(self, provider_id):
        pass

    def has_been_deleted(self, provider_id):
        return True

    def reboot_server(self, provider_id):
        pass

    def list_servers(self, tags=None):
        return []

    def current_server_count(self):
        return 0

    def last_heartbeat(self, provider_id):
        return None

    def identity(self):
        return "minimal:"


def test_exec_is_optional_and_refused_by_default():
    with pytest.raises(PermanentError, match="provider minimal cannot run commands"):
        Minimal().exec("x", ["true"], {}, None)
    assert Minimal.from_options(None).identity() == "minimal:"
    with pytest.raises(InputError):
        Minimal.from_options({"anything": 1})


def test_a_provider_must_implement_the_whole_contract():
    class Partial(Provider):  # pylint: disable=abstract-method
        def create_server(self, spec):
            raise NotImplementedError

    with pytest.raises(TypeError):
        Partial()  # pylint: disable=abstract-class-instantiated


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A real distribution on sys.path declaring entry points in the ``appgraph.providers`` group."""
    (tmp_path / "cloudy_provider.py").write_text(textwrap.dedent("""
        from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import Option
        from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider

        class Cloudy(LocalProvider):
            name = "cloudy"
            OPTIONS = {"region": Option(str, "north")}

            def __init__(self, region):
                self.region = region

        NotAProvider = object
    """), encoding="utf-8")
    dist = tmp_path / "cloudy_provider-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cloudy-provider\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""
        [appgraph.providers]
        cloudy = cloudy_provider:Cloudy
        broken = cloudy_provider:NotAProvider
        local = cloudy_provider:Cloudy
    """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_entry_point_providers_are_found(installed):
    provider = registry.get_provider("cloudy", {"region": "south"})
    assert type(provider).__name__ == "Cloudy" and provider.region == "south"
    assert {"cloudy", "broken", "local"} <= set(registry.provider_names())
    with pytest.raises(PermanentError, match="not a Provider subclass"):
        registry.get_provider("broken")


def test_an_entry_point_cannot_replace_a_built_in(installed, tmp_path):
    assert isinstance(registry.get_provider("local", {"root": str(tmp_path)}), LocalProvider)
