# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calls into a provider that may be a third party's: its own exceptions become a ``PermanentError``
that names the provider, so a task says whose failure it was instead of ending in a traceback."""

from __future__ import annotations

from ..errors import AppGraphError, PermanentError, describe


def build_provider(factory, name: str, options: dict):
    """``factory(name, options)``: the provider, its options checked (building calls nothing remote)."""
    try:
        return factory(name, options)
    except AppGraphError:
        raise
    except Exception as exc:        # a third-party provider's own failure: say which
        raise PermanentError("cannot use provider %r: %s" % (name, describe(exc))) from exc


def account_of(name: str, built) -> str:
    """``built.identity()``: the account (or machine) the provider's servers live in."""
    try:
        return built.identity()
    except AppGraphError:
        raise
    except Exception as exc:
        raise PermanentError("provider %r cannot say which account it is: %s" % (name, describe(exc))) from exc
