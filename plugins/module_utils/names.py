# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a name may look like, and how any text becomes one, for every layer.

The patterns are the application schema's and the Roboconf reader's alike (an import
``Prefix.var`` must parse the same from both formats); ``identifier`` and ``safe_name`` turn
free text (instance paths, application names) into shell variables, group names, directory and
server names.
"""

from __future__ import annotations

import hashlib
import re

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$"
# Applications also take parentheses (Roboconf's PATTERN_APP_NAME: ``Shop (staging)``).
APPLICATION_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-() ]*$"
# Components and facets are referenced in imports as ``Prefix.var``: no dots, no spaces.
TYPE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
# An exported variable as written in a component or a facet: a name, maybe prefixed (``db.ip``).
# Roboconf's variable names may hold dots (its PATTERN_ID): the prefix is what comes before the
# first one (``VariableHelpers.parseVariableName``), so ``tomcat.db.ip`` is tomcat's ``db.ip``.
_DOTTED = r"[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*"
EXPORT_NAME_PATTERN = r"^%s$" % _DOTTED
# An external export of a template: ``Component.variable`` (the descriptor's ``exports = X.y as z``).
QUALIFIED_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*\.%s$" % _DOTTED
# A key of an instance's runtime data (``data.ec2.elastic.ip`` in Roboconf is the key ``ec2.elastic.ip``).
DATA_KEY_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
# ``[external ]Prefix.variable|*[ (optional)]``; groups: external, prefix, variable, optional.
IMPORT_PATTERN = (r"^\s*(external\s+)?([A-Za-z_][A-Za-z0-9_\-]*)\.(%s|\*)"
                  r"\s*(\(optional\))?\s*$" % _DOTTED)

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")
_NOT_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def split_variable(name: str) -> tuple:
    """``(prefix, local name)`` of a variable's full name, split at its first dot as Roboconf does
    (``Tomcat.port`` -> ``("Tomcat", "port")``); a name without a dot has no prefix (``("", name)``)."""
    prefix, dot, local = name.partition(".")
    return (prefix, local) if dot else ("", name)


def local_name(name: str) -> str:
    """The variable ``name`` without its prefix: what a recipe's environment calls it."""
    return split_variable(name)[1]


def identifier(text) -> str:
    """``text`` with every character but a letter, a digit or ``_`` replaced by ``_`` (a shell
    variable, an Ansible group name: Roboconf replaces spaces and ``-`` the same way)."""
    return _NOT_IDENTIFIER.sub("_", str(text))


def safe_name(*parts: str, limit: int = 100) -> str:
    """A name for a directory or a server, unique for ``parts``: readable, then a short digest.

    Letters, digits, '.', '_' and '-' only, starting with a letter or digit (the ``local``
    provider's rule), at most ``limit`` characters. ``("shop", "/vm 1/web")`` gives
    ``shop-vm-1-web-<8 hex>``; the digest keeps ``/a b`` and ``/a-b`` apart.
    """
    readable = _NOT_SAFE.sub("-", "-".join(p.strip("/") for p in parts)).strip("-._")
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]
    return "%s-%s" % (readable[:limit - len(digest) - 1].rstrip("-._"), digest) if readable else "s-" + digest
