# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Caps on what reading one application may cost, so that hostile input gets a located error
instead of a hang, a traceback or all the memory of the machine.

=====================  ==========  ===============================  ==========================================
cap                    default     environment variable             what it bounds
=====================  ==========  ===============================  ==========================================
``max_instances``      100,000     ``APPGRAPH_MAX_INSTANCES``       instances once every ``count`` is expanded
``max_depth``          64          ``APPGRAPH_MAX_DEPTH``           nesting of maps and lists in a document
                                                                    (YAML), of blocks in a Roboconf file
``max_alias_nodes``    10,000      ``APPGRAPH_MAX_ALIAS_NODES``     nodes YAML aliases add once expanded (a
                                                                    recursive alias is always refused)
``max_document_bytes`` 64 MiB      ``APPGRAPH_MAX_DOCUMENT_BYTES``  size of one file (``*.app.yml``,
                                                                    ``.graph``, ``.instances``, descriptor)
``max_dependencies``   1,000,000   ``APPGRAPH_MAX_DEPENDENCIES``    pairs the model would hold: (exporter,
                                                                    importer) instances the imports relate,
                                                                    (component, child) the children allow
=====================  ==========  ===============================  ==========================================

``max_depth`` also caps chains of ``extends`` (components and facets).

The defaults load the 10,003-instance benchmark (``bench/load_graph.py``) with room to spare.
Override them per call (``load_application(src, limits=Limits(max_instances=500_000))``) or for
a whole process through the environment (read by ``Limits.from_environment``, the one place that
reads it; a call without ``limits`` uses it). ``max_depth`` cannot exceed ``DEPTH_CEILING``: deeper
documents would reach Python's recursion limit in the validators.
"""

from __future__ import annotations

import dataclasses
import os

from .errors import InputError

DEPTH_CEILING = 200
# An instance's runtime data (``data.*``) reaches its recipes as environment variables, once each and
# once as JSON; Linux refuses an environment string past 128 KiB (MAX_ARG_STRLEN): so the keys and
# values of one instance's data hold at most this many characters (JSON escapes may grow them 6x).
# A fixed cap, not a setting: past it a recipe could not be started at all.
MAX_DATA_CHARACTERS = 16 * 1024
ENVIRONMENT = {
    "max_instances": "APPGRAPH_MAX_INSTANCES",
    "max_depth": "APPGRAPH_MAX_DEPTH",
    "max_alias_nodes": "APPGRAPH_MAX_ALIAS_NODES",
    "max_document_bytes": "APPGRAPH_MAX_DOCUMENT_BYTES",
    "max_dependencies": "APPGRAPH_MAX_DEPENDENCIES",
}


@dataclasses.dataclass(frozen=True)
class Limits:
    """The caps one load runs under (see the module's docstring); each is a whole number >= 1."""

    max_instances: int = 100_000
    max_depth: int = 64
    max_alias_nodes: int = 10_000
    max_document_bytes: int = 64 * 1024 * 1024
    max_dependencies: int = 1_000_000

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError("%s must be a whole number >= 1, not %r" % (field.name, value), key=field.name)
        if self.max_depth > DEPTH_CEILING:
            raise InputError("max_depth cannot exceed %d, not %d" % (DEPTH_CEILING, self.max_depth),
                             key="max_depth", hint="deeper documents would reach Python's recursion limit")

    @property
    def max_instance_nesting(self) -> int:
        """How deep instances may nest: each level takes two document levels (the instance's map
        and its ``children`` list), and the deepest one's ``exports`` map one more."""
        return max(1, (self.max_depth - 2) // 2)

    @classmethod
    def from_environment(cls, environ=None) -> "Limits":
        """The defaults, each replaced by its environment variable when that is set."""
        environ = os.environ if environ is None else environ
        values = {}
        for name, variable in ENVIRONMENT.items():
            text = environ.get(variable, "").strip()
            if not text:
                continue
            try:
                values[name] = int(text)
            except ValueError:
                raise InputError("%s must be a whole number, not %r" % (variable, text), key=variable,
                                 hint="unset it for the default, %d" % getattr(cls, name)) from None
        try:
            return cls(**values)
        except InputError as exc:
            raise InputError(exc.message, key=ENVIRONMENT.get(exc.key, exc.key), hint=exc.hint) from None


def resolve(limits: Limits | None) -> Limits:
    """``limits``, or the defaults with the environment's overrides when it is None."""
    return limits if limits is not None else Limits.from_environment()


def from_option(values: dict | None) -> Limits:
    """A module's ``limits`` option (``{max_instances: n, ...}``, unset keys as None) over the
    environment's overrides and the defaults."""
    given = {key: value for key, value in (values or {}).items() if value is not None}
    unknown = sorted(set(given) - set(ENVIRONMENT))
    if unknown:
        raise InputError("unknown cap %r" % unknown[0], key="limits", hint="caps: %s" % ", ".join(sorted(ENVIRONMENT)))
    return dataclasses.replace(Limits.from_environment(), **given)


def cap_hint(name: str) -> str:
    """How to raise the cap ``name`` (a field of Limits), for an error's hint."""
    return "or raise the cap: the option limits.%s, or %s=<n> in the environment" % (name, ENVIRONMENT[name])
