"""Reading a file under the size cap costs what the file holds, not what the cap allows."""

from __future__ import annotations

import tracemalloc

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.limits import Limits
from ansible_collections.appgraph.lifecycle.plugins.module_utils.text_input import read_text


def test_a_small_file_is_read_without_reserving_the_cap(tmp_path):
    path = tmp_path / "a.app.yml"
    path.write_text("application: a\n" * 100)
    tracemalloc.start()
    try:
        text = read_text(str(path), Limits())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text.startswith("application: a\n") and peak < 1 << 20      # read(64 MiB + 1) reserved it all


def test_a_file_just_past_the_cap_is_read_to_the_cap_only(tmp_path):
    path = tmp_path / "big.graph"
    path.write_bytes(b"x" * (3 << 20))
    with pytest.raises(InputError) as caught:
        read_text(str(path), Limits(max_document_bytes=(2 << 20) + 5))
    assert "larger than %d bytes" % ((2 << 20) + 5) in str(caught.value) and caught.value.location.line == 1
