# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing a snapshot: one archive (tar; gzip or zstd around it) holding ``manifest.json`` first,
then one file per part (``storage.tar``, ``database.sqlite`` or ``database.pgdump``).

The manifest says the format version, the snapshot's id, the instance id, owner, guest location,
provisioner, offerings, when it was made, and the sha256 and size of every part, so that an import
checks every byte before it touches anything. Parts are staged as files first (the manifest needs
their hashes, and it comes first), then copied into the archive in 1 MiB pieces: memory stays flat
whatever their size. A part its sub-provisioner streams (the tree's tar) is hashed as it is staged,
so its bytes are written once and read once; a part written by a tool (a database dump) is read
back to hash it. The archive is written under a temporary name and renamed when complete: a crash
never leaves a file that looks like a snapshot.

Tars are written by ``tarfile`` straight into the file object (mode ``w``, 1 MiB copies), not
through its stream mode: that one appends every 16 KiB piece to a buffer of ``bufsize`` and slices
it, copying each byte many times (the export ran at a tenth of ``tar``'s speed).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import tarfile

from .compression import compressing_writer

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PART_FILES = ("storage.tar", "database.sqlite", "database.pgdump")
CHUNK = 1024 * 1024


def stage_part(sub, request, part: dict, parts: dict, path: str) -> tuple | None:
    """Write ``sub``'s part to the staged file ``path``; its ``(sha256, size)`` when hashed on the
    way (a streamed part), None when it must be read back to be hashed."""
    if not sub.streams_export:
        sub.export(request, part, parts, path)
        return None
    with open(path, "wb") as handle:
        hashing = HashingWriter(handle)
        sub.export_to(request, part, parts, hashing)
    return hashing.digest.hexdigest(), hashing.size


def file_digest(path: str) -> tuple:
    """``(sha256 hex, size)`` of a file, read in pieces."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return digest.hexdigest(), size
            digest.update(chunk)
            size += len(chunk)


def make_manifest(snapshot_id: str, request: dict, at: float, staged: dict, digests: dict | None = None) -> dict:
    """``staged``: role -> (file name in the archive, staged path); ``digests``: role -> (sha256,
    size) of the parts hashed as they were staged (the others are read to hash them)."""
    parts = {}
    for role, (name, path) in sorted(staged.items()):
        sha256, size = (digests or {}).get(role) or file_digest(path)
        parts[role] = {"file": name, "sha256": sha256, "size": size}
    stamp = datetime.datetime.fromtimestamp(at, datetime.timezone.utc).isoformat()
    return {"format_version": FORMAT_VERSION, "id": snapshot_id, "instance_id": request["instance_id"],
            "owner": request["owner"], "guest_location": request.get("guest_location"),
            "provisioner": request["provisioner"], "offerings": request.get("offerings") or {},
            "created_at": stamp, "timestamp": at, "parts": parts}


def partial_name(path: str, nonce: str) -> str:
    """The name the archive ``path`` is written under until it is complete."""
    return "%s.partial-%s" % (path, nonce)


def write_archive(path: str, manifest: dict, staged: dict, compression: str, partial: str | None = None) -> tuple:
    """Write the archive to ``path`` (atomically, through the file ``partial``: by default a new
    name); ``(sha256, size)`` of the file written."""
    tmp = partial or partial_name(path, os.urandom(4).hex())
    try:
        with open(tmp, "wb") as handle:
            raw = HashingWriter(handle)
            stream = compressing_writer(raw, compression)
            with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT, copybufsize=CHUNK) as tar:
                body = json.dumps(manifest, indent=2, sort_keys=True).encode()
                tar.addfile(_entry(MANIFEST, len(body), manifest["timestamp"]), io.BytesIO(body))
                for role in sorted(staged):
                    name, staged_path = staged[role]
                    with open(staged_path, "rb") as part:
                        tar.addfile(_entry(name, manifest["parts"][role]["size"], manifest["timestamp"]), part)
            stream.close()
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)        # a snapshot holds the tenant's private files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return raw.digest.hexdigest(), raw.size


class HashingWriter:
    """A file being written, hashed on the way (what is written is never read back to hash it)."""

    def __init__(self, handle):
        self._handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self._handle.write(data)

    def tell(self) -> int:
        return self.size            # where tarfile starts counting (its own offsets follow)

    def flush(self) -> None:
        self._handle.flush()


def _entry(name: str, size: int, at: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.type = size, 0o600, int(at), tarfile.REGTYPE
    return info
