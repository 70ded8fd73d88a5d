# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What bound applications publish, as an importer's life cycle reads it (Roboconf's ``external``
imports and application bindings).

An application imports ``external <prefix>.<variable>`` from the applications it is bound to for
that prefix (its ``bindings``: prefix -> application names). A bound application publishes under
``prefix`` when its template's ``exports_prefix`` is that prefix: each of its instances in a
publishing state (started, or ``problem``) that exports one of the template's ``external_exports``
(``"Component.variable" -> name``) publishes ``{name: value}``, as the exporter
``<application>:<path>``. A required external import is present while some bound exporter
publishes its prefix, exactly as an import of the same application is present while some
exporter of it is started.

The view is a plain value, ``{prefix: {exporter key: {variable: value}}}``, made here from what the
store holds (``external_view``); the rules only read it, and ``inputs.bound_changed`` is the input
that brings a new one (the chain reactions that follow cross the applications).
"""

from __future__ import annotations


def exporter_key(application: str, path: str) -> str:
    """How an exporter of another application is named among an instance's imports."""
    return "%s:%s" % (application, path)


def publications(application: str, external_exports: dict, rows) -> dict:
    """``{exporter key: {name: value}}`` for ``rows`` (``[(path, exports)]`` of instances that
    publish) of ``application``, whose template offers ``external_exports``."""
    out = {}
    for path, exports in rows:
        values = {name: exports[internal] for internal, name in external_exports.items() if internal in exports}
        if values:
            out[exporter_key(application, path)] = values
    return out


def external_view(bindings: dict, sources: dict) -> dict:
    """The view of an application bound as ``bindings`` says, from ``sources``: for each bound
    application that exists, ``(version, exports_prefix, external_exports, [(path, exports)] of its
    publishing instances)`` (``Store.external_sources``). A binding to an application that is not
    in the store, or whose template has another prefix, publishes nothing."""
    view = {}
    for prefix, names in sorted(bindings.items()):
        merged: dict = {}
        for name in names:
            source = sources.get(name)
            if source is None or source[1] != prefix:
                continue
            merged.update(publications(name, source[2], source[3]))
        view[prefix] = merged
    return view


def changed_prefixes(before: dict, after: dict) -> set:
    """The prefixes whose exporters or values differ between two views."""
    return {prefix for prefix in set(before) | set(after) if (before.get(prefix) or {}) != (after.get(prefix) or {})}
