# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a file a user wrote as text, for every format (``*.app.yml``, Roboconf's files).

What cannot be text is refused here with the line it happens on: a file larger than the
``max_document_bytes`` cap (the line where the cap is passed; nothing beyond it is read), bytes
that are not UTF-8 (the line of the first bad byte) and NUL characters (a binary file).
"""

from __future__ import annotations

from .errors import InputError, Location
from .limits import Limits, cap_hint


def read_text(path: str, limits: Limits) -> str:
    """The text of ``path``; InputError (file, line, column) when it is not text, OSError (the
    caller says where the file was named) when it cannot be read."""
    with open(path, "rb") as handle:
        data = _read_at_most(handle, limits.max_document_bytes + 1)
    if len(data) > limits.max_document_bytes:
        raise InputError("the file is larger than %d bytes" % limits.max_document_bytes,
                         byte_location(path, data, limits.max_document_bytes),
                         hint="split it, " + cap_hint("max_document_bytes"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("the file is not UTF-8 text (%s: byte 0x%02x)" % (exc.reason, data[exc.start]),
                         byte_location(path, data, exc.start), hint="save the file as UTF-8") from None
    nul = text.find("\0")
    if nul >= 0:
        raise InputError("the file holds a NUL character: it is not a text file",
                         text_location(path, text, nul), hint="remove the NUL bytes, or give the right file")
    return text


def _read_at_most(handle, size: int) -> bytes:
    """Up to ``size`` bytes, read 64 KiB at a time: ``read(size)`` allocates all of ``size`` first
    (64 MiB for every 2 KB file)."""
    chunks, total = [], 0
    while total < size:
        chunk = handle.read(min(1 << 16, size - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def byte_location(path: str, data: bytes, offset: int) -> Location:
    """Line and column (in characters) of byte ``offset`` of the UTF-8 ``data``."""
    start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8", "replace")) + 1
    return Location(path, data.count(b"\n", 0, offset) + 1, column)


def text_location(path: str, text: str, index: int) -> Location:
    """Line and column of character ``index`` of ``text``."""
    start = text.rfind("\n", 0, index) + 1
    return Location(path, text.count("\n", 0, index) + 1, index - start + 1)
