# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The digest of an application's source as bytes: an ``*.app.yml`` file, or every file of a
Roboconf directory (names and contents, recipes included).

Equal digests mean the same bytes, so an application whose source did not change since it was
added is recognised without parsing, validating or building it. Different digests say nothing
(a comment may have changed): the application is then read and its document compared.
"""

from __future__ import annotations

import hashlib
import os

_BLOCK = 1 << 20


def source_digest(src: str) -> str | None:
    """``sha256:<hex>`` of ``src``'s bytes; None when it cannot be read (the loader says why)."""
    digest = hashlib.sha256()
    try:
        if os.path.isdir(src):
            for relative, path in _files(src):
                digest.update(b"\0%s\0" % relative.encode("utf-8", "surrogateescape"))
                _feed(digest, path)
        else:
            _feed(digest, src)
    except OSError:
        return None
    return "sha256:" + digest.hexdigest()


def _files(folder: str):
    out = []
    for current, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(current, name)
            out.append((os.path.relpath(path, folder), path))
    return out


def _feed(digest, path: str) -> None:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
