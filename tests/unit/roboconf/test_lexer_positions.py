"""The lexer counts lines and columns as it scans: they are the ones the source computes."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.roboconf.lexer import Source, tokenize

PIECES = st.sampled_from(["VM", " ", "\t", "\n", "\r\n", "{", "}", ":", ";", ",", "=", "# note", '"a b"', "é", "\x0b",
                          "instance", "of", "10", "Tomcat.port", "\u00a0"])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=60))
def test_every_token_is_where_the_source_says(pieces):
    source = Source("".join(pieces), "main.graph")
    try:
        tokens = tokenize(source)
    except InputError as exc:                   # an unterminated quote: still located
        assert exc.location.line >= 1
        return
    for token in tokens:
        assert (token.line, token.column) == source.position(token.start), token
        assert source.text[token.start:token.end] == (token.text if token.kind != "string" else '"%s"' % token.text)
