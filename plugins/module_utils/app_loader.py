# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load an application from where the user keeps it: an ``*.app.yml`` file or a Roboconf directory."""

from __future__ import annotations

import os

from .app_builder import build_application
from .errors import InputError, Location
from .graph import check_acyclic
from .model import Application
from .yaml_source import load_yaml_file

ROBOCONF_DESCRIPTOR = os.path.join("descriptor", "application.properties")


def load_application(src: str) -> Application:
    """Read, validate and check ``src``; raise InputError(s) that name file:line and the fix."""
    if os.path.isdir(src):
        if not os.path.isfile(os.path.join(src, ROBOCONF_DESCRIPTOR)):
            raise InputError("a directory given as an application must be a Roboconf application",
                             Location(src), hint="it needs %s; or pass an *.app.yml file" % ROBOCONF_DESCRIPTOR)
        from .roboconf import read_roboconf_application  # only Roboconf users pay for the parser
        doc, locate = read_roboconf_application(src)
        base_dir = src
    elif os.path.exists(src):
        doc, locate = load_yaml_file(src)
        base_dir = os.path.dirname(os.path.abspath(src))
    else:
        raise InputError("no such file or directory", Location(src),
                         hint="give the path of an *.app.yml file or of a Roboconf application directory")
    return application_from_document(doc, locate, source=src, base_dir=base_dir)


def application_from_document(doc, locate, source=None, base_dir=None, validate: bool = True) -> Application:
    """Build and check the model. ``validate=False`` skips the schema (a document the store holds
    passed it when it was added); the model's own checks always run."""
    app = build_application(doc, locate, source=source, base_dir=base_dir, validate=validate)
    check_acyclic(app)
    return app
