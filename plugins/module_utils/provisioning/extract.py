# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a snapshot someone else may have made: verify every byte into a staging folder, and
extract the storage tree safely, before anything of the tenant is touched.

The archive is read as a stream (``r|``): ``manifest.json`` must come first (its format version is
checked before anything else is read), then only the parts it names, each once, each of the size it
says, each hashed on the way and compared with its sha256. The storage tree (``storage.tar``, itself a
tar) is extracted entry by entry by this code, not by ``tarfile``: only folders, regular files and
links; no absolute names, no ``..``, no entry below a link, no link pointing outside, no hard link to
anything but a file extracted before, no devices, FIFOs or sockets. Caps on the bytes unpacked, the
entries, and the ratio of unpacked to compressed bytes (a zip bomb) stop a hostile archive early.
Every refusal is a ``SnapshotRefused`` naming the snapshot and the entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import tarfile
import zlib
from dataclasses import dataclass

from ..errors import PermanentError
from .compression import decompressing_reader, zstandard
from .snapshot import CHUNK, FORMAT_VERSION, MANIFEST, PART_FILES

TREE_PART = "storage.tar"

MAX_MANIFEST = 1024 * 1024
MANIFEST_KEYS = ("format_version", "id", "instance_id", "owner", "provisioner", "parts")


class SnapshotRefused(PermanentError):
    """The snapshot is not one this code will import (the message says why)."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1 << 40              # 1 TiB unpacked
    max_files: int = 1_000_000
    max_ratio: float = 200.0
    ratio_after: int = 64 * 1024 * 1024   # bytes unpacked before the ratio counts

    @classmethod
    def of(cls, settings: dict | None) -> "Limits":
        return cls(**{k: v for k, v in (settings or {}).items() if v is not None})


class _Counting:
    """The compressed file, counting the bytes read from it."""

    def __init__(self, handle):
        self._handle, self.count = handle, 0

    def read(self, size=-1):
        data = self._handle.read(size)
        self.count += len(data)
        return data

    def readinto(self, buffer):
        n = self._handle.readinto(buffer)
        self.count += n or 0
        return n

    def peek(self, size=1):
        return self._handle.peek(size)


class _Guarded:
    """The unpacked stream, refusing to give more than the caps allow."""

    def __init__(self, stream, compressed: _Counting, limits: Limits, where: str):
        self._stream, self._compressed, self._limits, self._where = stream, compressed, limits, where
        self.count = 0

    def read(self, size=-1):
        data = self._stream.read(size)
        self.count += len(data)
        if self.count > self._limits.max_bytes:
            raise SnapshotRefused("%s: unpacks to more than %d bytes (the max_bytes cap)" % (
                self._where, self._limits.max_bytes))
        if self.count > self._limits.ratio_after and \
                self.count > self._limits.max_ratio * max(self._compressed.count, 1):
            raise SnapshotRefused("%s: unpacks to more than %g times its compressed size (a zip bomb?): refused"
                                  % (self._where, self._limits.max_ratio))
        return data


def _corrupt_errors() -> tuple:
    errors = (tarfile.TarError, EOFError, zlib.error, OSError, ValueError, UnicodeDecodeError)
    module = zstandard()
    return errors + ((module.ZstdError,) if module is not None else ())


def stage_snapshot(path: str, staging: str, limits: Limits, allowed_files=PART_FILES, trees=(TREE_PART,)) -> tuple:
    """Read the snapshot ``path`` into the folder ``staging``: ``(manifest, {role: staged path})``,
    every part verified. A part named in ``trees`` is a tar extracted (safely) into the folder
    ``staging/tree`` as it is read, hashed on the way: it is never written whole. SnapshotRefused
    says why a snapshot is refused."""
    try:
        handle = open(path, "rb")  # pylint: disable=consider-using-with
    except OSError as exc:
        raise SnapshotRefused("cannot read the snapshot %s: %s" % (path, exc.strerror)) from None
    try:
        counting = _Counting(handle)
        stream = _Guarded(decompressing_reader(counting), counting, limits, path)
        with tarfile.open(fileobj=stream, mode="r|", bufsize=CHUNK) as tar:
            return _read_members(tar, path, staging, allowed_files, trees, limits)
    except SnapshotRefused:
        raise
    except _corrupt_errors() as exc:
        raise SnapshotRefused("%s is truncated or is not a snapshot: %s: %s" % (
            path, type(exc).__name__, exc or "unexpected end")) from None
    finally:
        handle.close()


def snapshot_id_of(path: str) -> str | None:
    """The id in the manifest of the archive ``path`` (its first entry, read alone), or None when
    ``path`` is not a readable snapshot."""
    try:
        with open(path, "rb") as handle, tarfile.open(fileobj=decompressing_reader(handle), mode="r|",
                                                      bufsize=CHUNK) as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isreg() or first.size > MAX_MANIFEST:
                return None
            manifest = json.loads(tar.extractfile(first).read())
    except _corrupt_errors() + (PermanentError,):
        return None
    return manifest.get("id") if isinstance(manifest, dict) else None


def _read_members(tar, path: str, staging: str, allowed_files, trees, limits: Limits) -> tuple:
    members = iter(tar)
    first = next(members, None)
    if first is None or first.name != MANIFEST or not first.isreg():
        raise SnapshotRefused("%s: the first entry must be %s (found %s)" % (
            path, MANIFEST, first.name if first is not None else "nothing"))
    manifest = _manifest(tar, first, path, allowed_files)
    expected = {part["file"]: (role, part) for role, part in manifest["parts"].items()}
    staged: dict = {}
    for member in members:
        if member.name not in expected or not member.isreg():
            raise SnapshotRefused("%s: unexpected entry %r (the manifest names %s)" % (
                path, member.name, ", ".join(sorted(expected)) or "no parts"))
        role, part = expected[member.name]
        if role in staged:
            raise SnapshotRefused("%s: entry %r appears twice" % (path, member.name))
        if member.size != part["size"]:
            raise SnapshotRefused("%s: %s is %d bytes, the manifest says %d" % (
                path, member.name, member.size, part["size"]))
        if member.name in trees:
            staged[role] = _stage_tree(tar, member, os.path.join(staging, "tree"), part, path, limits)
        else:
            staged[role] = _stage(tar, member, os.path.join(staging, member.name), part, path)
    missing = sorted(set(manifest["parts"]) - set(staged))
    if missing:
        raise SnapshotRefused("%s: the manifest's parts %s are not in the archive" % (path, ", ".join(missing)))
    return manifest, staged


def _manifest(tar, member, path: str, allowed_files) -> dict:
    if member.size > MAX_MANIFEST:
        raise SnapshotRefused("%s: %s is larger than %d bytes" % (path, MANIFEST, MAX_MANIFEST))
    try:
        manifest = json.loads(tar.extractfile(member).read())
    except ValueError as exc:
        raise SnapshotRefused("%s: %s is not JSON: %s" % (path, MANIFEST, exc)) from None
    if not isinstance(manifest, dict):
        raise SnapshotRefused("%s: %s is not a JSON object" % (path, MANIFEST))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise SnapshotRefused("%s: unknown snapshot format version %r (this collection reads version %d)"
                              % (path, manifest.get("format_version"), FORMAT_VERSION))
    missing = [key for key in MANIFEST_KEYS if key not in manifest]
    if missing:
        raise SnapshotRefused("%s: %s lacks %s" % (path, MANIFEST, ", ".join(missing)))
    parts = manifest["parts"]
    if not isinstance(parts, dict):
        raise SnapshotRefused("%s: the manifest's parts are not a mapping" % path)
    seen = set()
    for role, part in parts.items():
        ok = isinstance(part, dict) and part.get("file") in allowed_files and isinstance(part.get("size"), int) \
            and part["size"] >= 0 and isinstance(part.get("sha256"), str) and len(part["sha256"]) == 64
        if not ok or part["file"] in seen:
            raise SnapshotRefused("%s: the manifest's part %r is not {file, sha256, size} of a known file (%s)"
                                  % (path, role, ", ".join(allowed_files)))
        seen.add(part["file"])
    return manifest


def _stage(tar, member, target: str, part: dict, path: str) -> str:
    digest = hashlib.sha256()
    source = tar.extractfile(member)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != part["sha256"]:
        raise SnapshotRefused("%s: %s does not match its sha256 in the manifest (damaged or altered)"
                              % (path, member.name))
    return target


class _HashingReader:
    """A part being read, hashed on the way (the tree's tar is parsed from it)."""

    def __init__(self, source):
        self._source, self.digest = source, hashlib.sha256()

    def read(self, size=-1):
        data = self._source.read(size)
        self.digest.update(data)
        return data


def _stage_tree(tar, member, target: str, part: dict, path: str, limits: Limits) -> str:
    reader = _HashingReader(tar.extractfile(member))
    extract_tree(reader, target, limits, path)
    while reader.read(CHUNK):       # the tar's end padding counts in the hash too
        pass
    if reader.digest.hexdigest() != part["sha256"]:
        raise SnapshotRefused("%s: %s does not match its sha256 in the manifest (damaged or altered)"
                              % (path, member.name))
    return target


# -- the storage tree ---------------------------------------------------------------------------------------


def extract_tree(source, target: str, limits: Limits, where: str) -> int:
    """Extract the tar read from the file object ``source`` into the new folder ``target``; the
    number of entries. SnapshotRefused on any entry that is not safe."""
    os.mkdir(target, 0o700)
    state = _TreeState(target, where)
    try:
        with tarfile.open(fileobj=source, mode="r|", bufsize=CHUNK) as tar:
            for member in tar:
                state.count += 1
                if state.count > limits.max_files:
                    raise SnapshotRefused("%s: more than %d entries (the max_files cap)" % (where, limits.max_files))
                state.bytes += member.size if member.isreg() else 0
                if state.bytes > limits.max_bytes:
                    raise SnapshotRefused("%s: more than %d bytes (the max_bytes cap)" % (where, limits.max_bytes))
                state.extract(tar, member)
    except SnapshotRefused:
        raise
    except (tarfile.TarError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise SnapshotRefused("%s: the storage archive is damaged: %s: %s" % (where, type(exc).__name__, exc)) \
            from None
    state.finish()
    return state.count


class _TreeState:
    """What extraction has made so far (to refuse what would escape through it)."""

    def __init__(self, target: str, where: str):
        self.target, self.where = target, where
        self.count = self.bytes = 0
        self.links: set = set()          # names extracted as symbolic links
        self.files: set = set()          # names extracted as regular files (hard-link targets)
        self.dirs: list = []             # (path, mode, mtime), applied at the end

    def refuse(self, member, why: str):
        raise SnapshotRefused("%s: storage entry %r: %s" % (self.where, member.name, why))

    def safe_name(self, member, name: str) -> str:
        if not name or "\0" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            self.refuse(member, "an absolute or empty name")
        clean = posixpath.normpath(name)
        if clean == ".." or clean.startswith("../") or "/../" in "/%s/" % name:
            self.refuse(member, "the name climbs out of the tree ('..')")
        parts = clean.split("/")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in self.links:
                self.refuse(member, "it lies below a symbolic link")
        return clean

    def extract(self, tar, member) -> None:
        name = self.safe_name(member, member.name)
        if name == ".":
            return
        path = os.path.join(self.target, name)
        if member.isdir():
            os.makedirs(path, 0o700, exist_ok=True)
            self.dirs.append((path, member.mode & 0o777, member.mtime))
        elif member.isreg():
            self._file(tar, member, path, name)
        elif member.issym():
            self._symlink(member, path, name)
        elif member.islnk():
            self._hardlink(member, path, name)
        else:
            self.refuse(member, "a device, FIFO or other special file")

    def _parent(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)

    def _file(self, tar, member, path: str, name: str) -> None:
        self._parent(path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            self.refuse(member, "it appears twice")
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(tar.extractfile(member), out, CHUNK)
        os.chmod(path, member.mode & 0o777)
        os.utime(path, (member.mtime, member.mtime))
        self.files.add(name)

    def _symlink(self, member, path: str, name: str) -> None:
        target = member.linkname
        if not target or target.startswith("/") or "\0" in target:
            self.refuse(member, "a symbolic link to an absolute path")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if resolved == ".." or resolved.startswith("../"):
            self.refuse(member, "a symbolic link pointing outside the tree (%s)" % target)
        self._parent(path)
        try:
            os.symlink(target, path)
        except FileExistsError:
            self.refuse(member, "it appears twice")
        os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
        self.links.add(name)

    def _hardlink(self, member, path: str, name: str) -> None:
        linked = posixpath.normpath(member.linkname or "")
        if linked not in self.files:
            self.refuse(member, "a hard link to %r, which is not a file extracted before it" % member.linkname)
        self._parent(path)
        try:
            os.link(os.path.join(self.target, linked), path)
        except FileExistsError:
            self.refuse(member, "it appears twice")
        self.files.add(name)

    def finish(self) -> None:
        for path, mode, mtime in reversed(self.dirs):       # deepest first: a 0500 folder is filled already
            os.chmod(path, mode)
            os.utime(path, (mtime, mtime))
