# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``bindings`` of an application (the ``application`` module's option): which applications
its ``external <prefix>.*`` imports come from. Roboconf's application bindings
(``ApplicationMngrImpl.bindOrUnbindApplication``): a prefix is bound to applications whose
template's ``exports_prefix`` is that prefix.

Refused, each with an InputError naming the binding: a prefix that is not a name or that no
component imports as ``external``, an application that is not in the store, one whose template
offers another prefix, the application itself, and bindings that would make a cycle (A imports
from B which imports from A, even through others: the chain reactions across applications go
one way, exporters first). The bindings are checked and written in one store-wide transaction,
so two processes binding at once cannot make a cycle between them.
"""

from __future__ import annotations

import re

from ..errors import InputError, suggest
from ..model.external import external_import_prefixes
from ..names import APPLICATION_NAME_PATTERN, TYPE_NAME_PATTERN
from ..store.store import Store

_PREFIX = re.compile(TYPE_NAME_PATTERN)
_NAME = re.compile(APPLICATION_NAME_PATTERN)
MAX_BOUND = 1000          # applications one prefix may be bound to (each is read at every step)


def normalise(bindings) -> dict:
    """The option's value (``{prefix: [names]}``, a single name allowed) as ``{prefix: sorted names}``."""
    if not isinstance(bindings, dict):
        raise InputError("bindings must be a mapping of a prefix to application names, not %s"
                         % type(bindings).__name__, key="bindings", hint="bindings: {Lamp: [shop-db]}")
    out = {}
    for prefix, names in bindings.items():
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            raise InputError("invalid prefix %r in bindings" % (prefix,), key="bindings",
                             hint="a prefix is the 'Lamp' of 'external Lamp.ip': letters, digits, '_' and '-'")
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise InputError("the bindings of %r must be application names" % prefix, key="bindings",
                             hint="bindings: {%s: [<application>, ...]}" % prefix)
        if len(names) > MAX_BOUND:
            raise InputError("%r is bound to %d applications, more than %d" % (prefix, len(names), MAX_BOUND),
                             key="bindings", hint="bind fewer applications")
        for name in names:
            if not _NAME.match(name):
                raise InputError("invalid application name %r in the bindings of %r" % (name[:100], prefix),
                                 key="bindings", hint="application names use letters, digits, spaces, '.', '_', "
                                                      "'-', '(' and ')'")
        out[prefix] = sorted(set(names))
    return {prefix: names for prefix, names in sorted(out.items()) if names}


def check(store: Store, name: str, app, bindings: dict, all_bindings=None) -> None:
    """Raise InputError unless ``name`` (whose model is ``app``) may be bound as ``bindings``;
    ``all_bindings``: the store's rows, ``[(application, prefix, bound)]``, read in the caller's transaction."""
    imported = external_import_prefixes(app.components)
    for prefix, names in bindings.items():
        if prefix not in imported:
            raise InputError("no component of %r imports 'external %s.*'" % (name, prefix), key="bindings",
                             hint=suggest(prefix, imported) if imported else
                             "%r imports nothing from other applications" % name)
        for bound in names:
            if bound == name:
                raise InputError("%r cannot be bound to itself" % name, key="bindings",
                                 hint="an application imports its own variables without 'external'")
            record = store.application(bound)
            if record is None:
                raise InputError("the application %r bound to %r is not in the store" % (bound, prefix),
                                 key="bindings", hint=suggest(bound, store.application_names()) or
                                 "add it first (application: src=..., name=%s)" % bound)
            if record.exports_prefix != prefix:
                raise InputError("the template of %r offers %s, not %r" % (
                    bound, "its exports as %r" % record.exports_prefix if record.exports_prefix else "no exports",
                    prefix), key="bindings", hint="bind %r to applications whose template says 'exports_prefix: %s'"
                                                  % (prefix, prefix))
    cycle = binding_cycle(all_bindings if all_bindings is not None else store.all_bindings(), name, bindings)
    if cycle:
        raise InputError("these bindings make a cycle: %s" % " imports from ".join(cycle), key="bindings",
                         hint="applications cannot import from each other, even through others")


def binding_cycle(rows, name: str, bindings: dict) -> list:
    """``[name, ..., name]`` when ``name`` bound as ``bindings`` would import from itself through
    the other applications' bindings (``rows``), else []."""
    imports_from: dict = {}
    for application, _prefix, bound in rows:
        if application != name:
            imports_from.setdefault(application, set()).add(bound)
    imports_from[name] = {bound for names in bindings.values() for bound in names}
    # a path name -> ... -> name, breadth first so that the cycle named is a shortest one
    parents, frontier = {name: None}, [name]
    while frontier:
        following = []
        for current in frontier:
            for bound in sorted(imports_from.get(current, ())):
                if bound == name:
                    path = [current]
                    while parents[path[-1]] is not None:
                        path.append(parents[path[-1]])
                    return [name] + list(reversed(path))[1:] + [name] if current != name else [name, name]
                if bound not in parents:
                    parents[bound] = current
                    following.append(bound)
        frontier = following
    return []


def set_bindings(store: Store, name: str, app, bindings: dict, check_mode: bool = False) -> bool:
    """Bind ``name`` as ``bindings`` (replacing what was bound); whether that changed anything."""
    if store.bindings(name) == bindings:
        return False
    if check_mode:
        check(store, name, app, bindings)
        return True
    with store.transaction() as tx:             # store-wide: no other binding slips in between
        if tx.bindings(name) == bindings:
            return False
        check(store, name, app, bindings, tx.all_bindings())
        tx.put_bindings(name, bindings)
        tx.append_events([(None, "bindings_changed", {"bindings": bindings})], application=name)
    return True
