# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's error taxonomy: what a user reads when input is bad."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (
    AppGraphError,
    ConflictError,
    InputError,
    InputErrors,
    Location,
    PermanentError,
    StoreError,
    TransientError,
)


def test_input_error_names_file_line_column_key_and_hint():
    err = InputError("unknown component 'Tomkat'", Location("lamp.app.yml", 12, 5), key="children",
                     hint="did you mean 'Tomcat'?")
    assert str(err) == "lamp.app.yml:12:5: children: unknown component 'Tomkat' (hint: did you mean 'Tomcat'?)"
    assert err.args == (str(err),)


@pytest.mark.parametrize("location, key, hint, expected", [
    (Location("a.yml", 3), None, None, "a.yml:3: bad"),
    (Location("a.yml", 3, 0), "k", None, "a.yml:3: k: bad"),
    (Location("a.yml"), None, "fix it", "a.yml: bad (hint: fix it)"),
    (Location(None, 7, 2), "k", None, "<input>:7:2: k: bad"),
    (None, None, None, "<input>: bad"),
])
def test_input_error_leaves_out_what_is_unknown(location, key, hint, expected):
    assert str(InputError("bad", location, key=key, hint=hint)) == expected


def test_location_column_needs_a_line():
    # A column without a line says nothing useful; it is not printed.
    assert str(Location("f.yml", 0, 9)) == "f.yml"


def test_location_equality_and_hash():
    assert Location("f", 1, 2) == Location("f", 1, 2)
    assert Location("f", 1, 2) != Location("f", 1, 3)
    assert Location("f", 1, 2) != ("f", 1, 2)
    assert len({Location("f", 1, 2), Location("f", 1, 2)}) == 1
    assert repr(Location("f", 1, 2)) == "Location('f', 1, 2)"


def test_input_errors_keeps_every_error_in_order():
    errors = [
        InputError("first", Location("a.yml", 1, 1), key="x", hint="h1"),
        InputError("second", Location("a.yml", 4), key="y"),
        InputError("third", Location("b.yml", 9, 3)),
    ]
    combined = InputErrors(errors)

    assert combined.errors == errors
    assert combined.errors is not errors  # a copy: the caller's list may change later
    assert str(combined).splitlines() == [
        "a.yml:1:1: x: first (hint: h1)",
        "a.yml:4: y: second",
        "b.yml:9:3: third",
    ]
    # It reads as the first error where only one is shown.
    assert (combined.message, combined.location, combined.key, combined.hint) == (
        "first", Location("a.yml", 1, 1), "x", "h1")
    assert isinstance(combined, InputError)


def test_input_errors_is_raised_and_caught_as_input_error():
    with pytest.raises(InputError) as info:
        raise InputErrors([InputError("only", Location("c.yml", 2, 2))])
    assert str(info.value) == "c.yml:2:2: only"


def test_taxonomy():
    assert issubclass(InputError, AppGraphError)
    assert issubclass(PermanentError, AppGraphError)
    assert issubclass(StoreError, AppGraphError)
    assert issubclass(ConflictError, TransientError)
    assert not issubclass(TransientError, PermanentError)
    err = ConflictError("lease held by pid 42", retry_after=1.5)
    assert err.retry_after == 1.5
    assert str(err) == "lease held by pid 42"
    assert TransientError("throttled").retry_after is None
