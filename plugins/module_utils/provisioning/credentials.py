# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A tenant's database credentials: written only to the tenant's private storage, mode 0600 from
the first byte (never in the store, an event or a log)."""

from __future__ import annotations

import json
import os

CREDENTIALS_FILE = ".database.json"


def credentials_path(parts: dict) -> str | None:
    """Where the tenant's credentials go: ``<storage>/private/.database.json`` (None: no storage)."""
    storage = parts.get("storage") or {}
    return os.path.join(storage["path"], "private", CREDENTIALS_FILE) if storage.get("path") else None


def write_credentials(parts: dict, credentials: dict) -> str | None:
    path = credentials_path(parts)
    if path is None:
        return None
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(credentials, handle, sort_keys=True)
    os.replace(tmp, path)
    return path


def read_credentials(parts: dict) -> dict | None:
    path = credentials_path(parts)
    if path is None or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
