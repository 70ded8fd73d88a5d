# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a template offers other applications: ``exports_prefix`` and ``external_exports``.

A template (Roboconf's descriptor ``exports-prefix`` and ``exports = Component.variable as name``)
says which of its variables other applications may import, and under which prefix: an
application bound to it imports them as ``external <prefix>.<name>``. Roboconf refuses external
exports without a prefix (RM_MISSING_APPLICATION_EXPORT_PREFIX), one of a variable no component
exports (RM_INVALID_EXTERNAL_EXPORT) and a name given twice (RM_ALREADY_DEFINED_EXTERNAL_EXPORT).
"""

from __future__ import annotations

from ..errors import InputError, suggest


def external_export_errors(doc: dict, exported: set, locate) -> list:
    """InputErrors for the external exports of ``doc``; ``exported`` holds every variable a
    component exports (``Prefix.variable`` full names)."""
    exports = doc.get("external_exports") or {}
    if not exports:
        return []
    errors = []
    if not doc.get("exports_prefix"):
        errors.append(InputError("'external_exports' needs an 'exports_prefix'", locate(("external_exports",)),
                                 key="exports_prefix", hint="add 'exports_prefix: <Name>': other applications "
                                                            "import these as 'external <Name>.<variable>'"))
    seen: dict = {}
    for internal, name in exports.items():
        if internal not in exported:
            errors.append(InputError("the external export %r names a variable no component exports" % internal,
                                     locate(("external_exports", internal)), key="external_exports",
                                     hint=suggest(internal, exported) or "export it from a component first"))
        if name in seen:
            errors.append(InputError("the external name %r is given to %r and %r" % (name, seen[name], internal),
                                     locate(("external_exports", internal)), key="external_exports",
                                     hint="give each exported variable its own name"))
        seen.setdefault(name, internal)
    return errors


def external_import_prefixes(components: dict) -> set:
    """The prefixes of every ``external`` import of ``components``."""
    return {spec.prefix for comp in components.values() for spec in comp.imports if spec.external}
