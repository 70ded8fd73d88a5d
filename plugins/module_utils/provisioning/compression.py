# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A snapshot's compression: none (tar), gzip (the standard library) or zstd (only when the
optional package ``zstandard`` is importable). Written by name, read by the file's first bytes
(never by its name: a renamed file is still read right)."""

from __future__ import annotations

import gzip
import importlib

from ..errors import InputError, PermanentError

GZIP_MAGIC, ZSTD_MAGIC = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"
EXTENSIONS = {"none": ".tar", "gzip": ".tar.gz", "zstd": ".tar.zst"}
GZIP_LEVEL = 6          # gzip's and tar -z's own default, so that the figures compare like with like


def zstandard():
    """The ``zstandard`` module, or None when it is not installed."""
    try:
        return importlib.import_module("zstandard")
    except ImportError:
        return None


def compression_of_name(path: str, default: str) -> str:
    """The compression a destination's name asks for (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.zst``)."""
    if path.endswith((".tar.gz", ".tgz")):
        return "gzip"
    if path.endswith((".tar.zst", ".tar.zstd")):
        return "zstd"
    if path.endswith(".tar"):
        return "none"
    return default


def compressing_writer(raw, compression: str):
    """A file object that compresses into ``raw`` (closing it does not close ``raw``)."""
    if compression == "none":
        return _Unclosed(raw)
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
    if compression == "zstd":
        module = zstandard()
        if module is None:
            raise InputError("zstd needs the Python package 'zstandard'", key="compression",
                             hint="pip install zstandard, or use gzip")
        return module.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
    raise InputError("unknown compression %r" % compression, key="compression", hint="none, gzip or zstd")


def decompressing_reader(raw):
    """A file object reading the tar inside ``raw``, whatever its compression (by magic bytes)."""
    head = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head.startswith(ZSTD_MAGIC):
        module = zstandard()
        if module is None:
            raise PermanentError("the snapshot is zstd-compressed and the Python package 'zstandard' is not "
                                 "installed (pip install zstandard)")
        return module.ZstdDecompressor().stream_reader(raw, closefd=False)
    return raw


class _Unclosed:
    """``raw`` whose ``close`` only flushes (the caller closes the file itself)."""

    def __init__(self, raw):
        self._raw = raw

    def write(self, data):
        return self._raw.write(data)

    def tell(self):
        return self._raw.tell()

    def flush(self):
        self._raw.flush()

    def close(self):
        self._raw.flush()
