# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bindings between applications (Roboconf's ``external`` imports): the queries a ``Store`` and a
``Transaction`` both answer, on the connection they hold."""

from __future__ import annotations

from .backends import json_column


def read_bindings(db, name: str) -> dict:
    out: dict = {}
    for prefix, bound in db.query("SELECT prefix, bound FROM bindings WHERE application = ? ORDER BY prefix, bound",
                                  (name,)):
        out.setdefault(prefix, []).append(bound)
    return out


def read_all_bindings(db) -> list:
    return [tuple(r) for r in db.query("SELECT application, prefix, bound FROM bindings "
                                       "ORDER BY application, prefix, bound")]


def external_sources(db, names, states) -> dict:
    """``Store.external_sources`` on a connection (inside a transaction too)."""
    names, states = sorted(set(names)), sorted(set(states))
    if not names:
        return {}
    marks, state_marks = ", ".join("?" * len(names)), ", ".join("?" * len(states))
    out = {}
    rows = db.query("SELECT name, version, exports_prefix, external_exports FROM applications WHERE name IN (%s)"
                    % marks, names)
    for name, version, prefix, exports in rows:
        out[name] = (version, prefix, json_column(exports), [])
    published = [n for n, entry in out.items() if entry[1] and entry[2]]
    if published and states:
        rows = db.query("SELECT application, path, exports FROM instances WHERE application IN (%s) AND state IN (%s) "
                        "ORDER BY application, position, path" % (", ".join("?" * len(published)), state_marks),
                        published + states)
        for application, path, exports in rows:
            out[application][3].append((path, json_column(exports)))
    return out
