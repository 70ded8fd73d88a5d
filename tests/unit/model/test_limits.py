"""The caps one load runs under: defaults that fit real applications, overridable per call and
through the environment, refused when they make no sense."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.limits import DEPTH_CEILING, Limits, resolve
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import (
    application_from_document, load_application)

from .hostile import located_error

TEN = """application: a
components:
  VM: {installer: noop}
instances:
  - {name: vm, component: VM, count: 10}
"""


def write(tmp_path, text, name="a.app.yml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_defaults_are_documented_sizes():
    limits = Limits()
    assert (limits.max_instances, limits.max_depth, limits.max_alias_nodes, limits.max_document_bytes,
            limits.max_dependencies) == (100_000, 64, 10_000, 64 * 1024 * 1024, 1_000_000)
    assert limits.max_instance_nesting == 31


def test_a_cap_given_to_the_call_wins(tmp_path):
    path = write(tmp_path, TEN)
    assert len(load_application(path).instances) == 10
    err = located_error(load_application, path, limits=Limits(max_instances=9))
    assert "more than 9 instances" in err.message and err.key == "count" and err.location.line == 5


def test_the_environment_overrides_the_defaults(tmp_path, monkeypatch):
    path = write(tmp_path, TEN)
    monkeypatch.setenv("APPGRAPH_MAX_INSTANCES", "9")
    assert resolve(None).max_instances == 9
    assert "APPGRAPH_MAX_INSTANCES" in located_error(load_application, path).hint
    assert len(load_application(path, limits=Limits()).instances) == 10


@pytest.mark.parametrize("value, words", [("many", "whole number"), ("0", ">= 1"), ("-3", ">= 1")])
def test_a_bad_environment_value_names_the_variable(monkeypatch, value, words):
    monkeypatch.setenv("APPGRAPH_MAX_DEPTH", value)
    with pytest.raises(InputError) as caught:
        Limits.from_environment()
    assert caught.value.key == "APPGRAPH_MAX_DEPTH" and words in str(caught.value)


@pytest.mark.parametrize("kwargs", [{"max_instances": 0}, {"max_depth": DEPTH_CEILING + 1}, {"max_alias_nodes": 2.5},
                                    {"max_document_bytes": True}])
def test_caps_that_make_no_sense_are_refused(kwargs):
    with pytest.raises(InputError) as caught:
        Limits(**kwargs)
    assert caught.value.key == next(iter(kwargs))


def test_a_stored_document_is_rebuilt_whatever_the_caps_are_now():
    doc = {"application": "a", "components": {"VM": {"installer": "noop"}},
           "instances": [{"name": "vm", "component": "VM", "count": 10}]}
    small = Limits(max_instances=9)
    with pytest.raises(InputError):
        application_from_document(doc, lambda _path: None, limits=small)
    assert len(application_from_document(doc, lambda _path: None, validate=False, limits=small).instances) == 10
