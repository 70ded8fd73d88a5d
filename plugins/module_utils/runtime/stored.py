# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An application as the store holds it: rebuilt from its stored document (no file read), and the
digest that recognises an unchanged document. Used by every layer that converges a stored
application (``api``, ``reserves``)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from ..errors import InputError
from ..store.store import Store

if TYPE_CHECKING:  # pragma: no cover
    from ..model.application import Application


def document_digest(document: dict) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def stored_application(store: Store, name: str) -> Application:
    """The application as last added, rebuilt from the store (no file needed)."""
    from ..model.loader import stored_model  # pylint: disable=import-outside-toplevel
    record = store.application(name)
    if record is None:
        raise InputError("no application %r in the store %s" % (name, store.identity), key="name",
                         hint="add it first with state=present and src=<file>")
    return stored_model(record.document, record.name, record.source)
