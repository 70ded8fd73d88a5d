# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A reserve's template: a server type (provider and options) and, optionally, an application
deployed and started on every clone.

**How a clone's application is stored.** Each clone has an application of its own in the store,
named after the clone (``site-clone-7``): the template's document with that name, whose one root
instance is the clone's server (the reserve's provider and options, the server row named after the
clone, ``server_type`` the reserve's name). The clone's record keeps the template's source as its
source (its recipes are found there) but no source digest, so an ``application`` task on the
template file never mistakes a clone for the template. Migration renames that application to the
permanent name; from then on it is an ordinary application (``application_info``,
``application``, ``reconcile`` see it under that name).

**The template's digest** covers what a clone is made of: the provider, its public options, the
template's document (its name aside) and the bytes of every recipe folder. A clone records the
digest it was built from; a changed template retires its clones, which Aegir could not tell.
"""

from __future__ import annotations

import copy
import hashlib
import json

from ..errors import InputError, Location
from ..model.sources import source_digest
from ..runtime.stored import document_digest, stored_application

SERVER_INSTALLERS = ("server", "target")     # Roboconf's "target" means server


def load_template(src: str):
    """``(model, stored template)`` of the template application in ``src`` (validated); the stored
    template is ``{document, root, component}``: the document, its one root instance and that
    instance's component. A clone is one server, so the template has exactly one root, a server."""
    from ..model.loader import load_application  # pylint: disable=import-outside-toplevel
    app = load_application(src)
    roots = app.roots
    if len(roots) != 1:
        raise InputError("a reserve's template application needs exactly one root instance (a clone is one "
                         "server); %r has %d: %s" % (app.name, len(roots), ", ".join(roots[:5]) or "none"),
                         Location(src), key="src", hint="keep one root instance, with everything else inside it")
    component = app.component_of(roots[0])
    if component.installer not in SERVER_INSTALLERS:
        raise InputError("the root instance %s of the template is a %r component with installer %r, not a server"
                         % (roots[0], component.name, component.installer), Location(src), key="src",
                         hint="give the root component 'installer: server': the reserve makes that server")
    return app, {"document": app.document, "root": roots[0], "component": component.name}


def template_digest(provider: str, options: dict, app=None) -> str:
    """``sha256:<hex>`` of what a clone is made of (see the module's docstring)."""
    digest = hashlib.sha256()
    document = None
    if app is not None:
        document = {k: v for k, v in app.document.items() if k != "application"}
    digest.update(json.dumps({"provider": provider, "provider_options": options, "application": document},
                             sort_keys=True, default=str).encode())
    for folder in sorted({d for comp in (app.components.values() if app else ()) for d in comp.recipe_dirs}):
        digest.update(b"\0%s\0%s" % (folder.encode("utf-8", "surrogateescape"),
                                     (source_digest(folder) or "").encode()))
    return "sha256:" + digest.hexdigest()


def clone_document(template: dict, name: str, provider: str, options: dict, server_type: str) -> dict:
    """The document of the clone ``name``'s application: the template's (stored ``{document, root,
    component}``), named ``name``, its root component made at the reserve's provider with its
    options (``server_type``: the reserve)."""
    document = copy.deepcopy(template["document"])
    document["application"] = name
    component = document["components"][template["component"]]
    component["provider"] = provider
    component["provider_options"] = dict(options, server_type=server_type)
    return document


def renamed(document: dict, name: str) -> tuple:
    """``(document, digest)`` of a clone's application once it is called ``name``."""
    document = dict(document, application=name)
    return document, document_digest(document)


def add_on_server(store, template: dict, source: str | None, name: str, provider: str, options: dict,
                  server_type: str, server: str, event: dict):
    """The application ``name`` made of ``template`` with its root instance bound to the server
    ``server`` (made at ``provider`` with ``options`` by the root's deploy); added now, with an
    ``application_added`` event carrying ``event``, unless an earlier attempt added it. Its model."""
    return _add(store, clone_document(template, name, provider, options, server_type), template["root"], source,
                server, event)


def add_attached(store, template: dict, source: str | None, name: str, server: str, event: dict):
    """The application ``name`` made of ``template`` whose root is ``attached`` to the existing
    server ``server`` (a pool's: used, never made nor removed); as ``add_on_server``."""
    document = copy.deepcopy(template["document"])
    document["application"] = name
    component = document["components"][template["component"]]
    for key in ("provider", "provider_options"):
        component.pop(key, None)
    component.update(installer="attached", options={"server": server})
    return _add(store, document, template["root"], source, server, event)


def _add(store, document: dict, root: str, source: str | None, server: str, event: dict):
    name = document["application"]
    if store.application(name) is not None:
        return stored_application(store, name)
    app = clone_model(document, source)
    with store.transaction(name) as tx:
        tx.put_application(app.name, document, source, document_digest(document),
                           [(p, i.component, i.parent) for p, i in app.instances.items()])
        tx.write_data(root, runtime={"server": server})
        tx.append_events([(None, "application_added", dict(event, source=source, added=len(app.instances),
                                                           removed=0))])
    return app


def clone_model(document: dict, source: str | None):
    """The model of a clone's application (the template was validated when the reserve was set)."""
    from ..model.loader import stored_model  # pylint: disable=import-outside-toplevel
    return stored_model(document, document["application"], source)
