# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which provider options are secrets (credentials): never stored, masked in what a module returns.

Secret options are those a provider declares (``Option(secret=True)``) and, as a safety net for
providers that forget to, any option whose name says so.
"""

from __future__ import annotations

import functools
import re

from ..errors import AppGraphError
from ..providers.registry import provider_class

_SECRET_NAME = re.compile(r"secret|passw|token|credential|private_key|access_key", re.I)


def secret_option_names(provider: str, options: dict | None) -> set:
    """Which of ``options`` are secrets for ``provider`` (never stored, masked in task output): those
    it declares secret; of the options it does not declare, those whose name says so."""
    declared, secret = _declared(provider)
    names = set(secret)
    names.update(key for key in options or {} if key not in declared and _SECRET_NAME.search(str(key)))
    return names & set(options or {})


@functools.lru_cache(maxsize=64)
def _declared(provider: str) -> tuple:
    """``(every option, the secret ones)`` a provider declares (cached: a name that is no built-in
    makes the registry scan the installed entry points)."""
    try:
        options = provider_class(provider).OPTIONS
    except (AppGraphError, ImportError):
        options = {}
    return frozenset(options), frozenset(k for k, o in options.items() if getattr(o, "secret", False))


def split_options(provider: str, options: dict | None) -> tuple:
    """``(public, secret)``: the options a row may keep, and the ones it must not."""
    options = dict(options or {})
    secret = secret_option_names(provider, options)
    return ({k: v for k, v in options.items() if k not in secret},
            {k: v for k, v in options.items() if k in secret and v is not None})


def secret_values(provider: str, options: dict | None) -> set:
    """The secret option values as strings (what a module masks in its output)."""
    return set(_strings(split_options(provider, options)[1]))


def public_values(provider: str, options: dict | None) -> set:
    """The other option values as strings, as Ansible collects them from a ``no_log`` option; a
    module takes them out of its masked values, so that only the secrets are masked."""
    return set(_strings(split_options(provider, options)[0])) - secret_values(provider, options)


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


SECRETS_KEY = "x-appgraph-secrets"     # in a stored document: where secrets were left out


def public_document(document: dict) -> dict:
    """An application document as the store may keep it: every component's secret provider options
    left out (their places listed under ``SECRETS_KEY``, so a run knows to read them from the
    application's file again)."""
    out = dict(document)
    components, removed = {}, []
    for name, component in (document.get("components") or {}).items():
        options = component.get("provider_options") if isinstance(component, dict) else None
        if not isinstance(options, dict):
            components[name] = component
            continue
        public, secret = split_options(str(component.get("provider") or "local"), options)
        if secret:
            component = dict(component, provider_options=public)
            removed.extend("%s.%s" % (name, key) for key in sorted(secret))
        components[name] = component
    out["components"] = components
    if removed:
        out[SECRETS_KEY] = removed
    return out
