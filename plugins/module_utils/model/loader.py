# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load an application from where the user keeps it: an ``*.app.yml`` file or a Roboconf directory.

Both run under the caps of ``limits.Limits`` (instances, nesting depth, YAML aliases, file size,
import relations): input past a cap gets an InputError at its file and line, never a hang.
"""

from __future__ import annotations

import os

from .builder import build_application
from ..errors import InputError, Location
from .document import check_document
from .graph import check_acyclic, check_dependency_count
from .application import Application
from ..limits import Limits, resolve as resolve_limits
from .yaml_lines import load_yaml_file

ROBOCONF_DESCRIPTOR = os.path.join("descriptor", "application.properties")


def load_application(src: str, limits: Limits | None = None, name: str | None = None) -> Application:
    """Read, validate and check ``src``; raise InputError(s) that name file:line and the fix.

    ``src`` is a template: the application is called ``name``, by default what the file calls it.
    ``limits`` defaults to ``Limits.from_environment()`` (the defaults, or APPGRAPH_MAX_*)."""
    limits = resolve_limits(limits)
    if os.path.isdir(src):
        if not os.path.isfile(os.path.join(src, ROBOCONF_DESCRIPTOR)):
            raise InputError("a directory given as an application must be a Roboconf application",
                             Location(src), hint="it needs %s; or pass an *.app.yml file" % ROBOCONF_DESCRIPTOR)
        from ..roboconf.reader import read_roboconf_application  # only Roboconf users pay for the parser
        doc, locate = read_roboconf_application(src, limits)
        base_dir = src
    elif os.path.exists(src):
        doc, locate = load_yaml_file(src, limits)
        base_dir = os.path.dirname(os.path.abspath(src))
    else:
        raise InputError("no such file or directory", Location(src),
                         hint="give the path of an *.app.yml file or of a Roboconf application directory")
    return application_from_document(doc, locate, source=src, base_dir=base_dir, limits=limits, name=name)


def source_folder(source: str | None) -> str | None:
    """Where the relative paths of ``source`` (recipes) start: the directory, or the file's folder."""
    if not source:
        return None
    return source if os.path.isdir(source) else os.path.dirname(os.path.abspath(source))


def stored_model(document: dict, name: str, source: str | None) -> Application:
    """The application ``name`` rebuilt from the document the store kept (no file needed)."""
    return application_from_document(document, lambda _path: None, source=source, base_dir=source_folder(source),
                                     validate=False, name=name)


def application_from_document(doc, locate, source=None, base_dir=None, validate: bool = True,
                              limits: Limits | None = None, name: str | None = None) -> Application:
    """Build and check the model under the caps of ``limits`` (default: ``Limits.from_environment()``).

    ``validate=False`` skips the schema and the caps: a document the store holds passed them when
    it was added (and JSON read back holds no alias), so lowering a cap later never locks an
    application out. The model's own checks always run."""
    caps = resolve_limits(limits) if validate else None
    if caps is not None and isinstance(doc, (dict, list)):
        check_document(doc, locate, caps)
    app = build_application(doc, locate, source=source, base_dir=base_dir, validate=validate, limits=caps, name=name)
    if caps is not None:
        check_dependency_count(app, caps)
    check_acyclic(app)
    return app
