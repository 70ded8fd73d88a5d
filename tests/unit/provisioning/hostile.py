# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile snapshots, built byte by byte: each a function of a folder that writes one archive and
returns its path and the words its refusal must say."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sqlite3
import tarfile

ZEROS = 24 * 1024 * 1024      # a part of zeros (gzip makes ~1000:1 of it)


def _info(name: str, kind=tarfile.REGTYPE, size: int = 0, link: str = "", mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname, info.mode, info.mtime = kind, size, link, mode, 1700000000
    return info


def storage_tar(entries) -> bytes:
    """A storage.tar of ``entries``: (TarInfo, bytes or None)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def good_tree() -> list:
    return [(_info("public", tarfile.DIRTYPE, mode=0o755), None), (_info("public/index.html"), b"hi\n")]


def sqlite_bytes(folder: str) -> bytes:
    path = os.path.join(folder, "tmp.sqlite")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with open(path, "rb") as handle:
        data = handle.read()
    os.remove(path)
    return data


def manifest(parts: dict, **changes) -> dict:
    doc = {"format_version": 1, "id": "0" * 32, "instance_id": "shop1", "owner": "acme", "guest_location": None,
           "provisioner": "dreamfactory", "offerings": {}, "created_at": "2026-01-01T00:00:00+00:00",
           "timestamp": 1767225600.0,
           "parts": {role: {"file": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                     for role, (name, data) in parts.items()}}
    doc.update(changes)
    return doc


def archive(path: str, members, compress: bool = True) -> str:
    """Write ``members`` ((TarInfo, bytes or None), in order) as a (gzipped) tar at ``path``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(raw.getvalue()) if compress else raw.getvalue())
    return path


def snapshot(path: str, folder: str, tree=None, doc_changes=None, before=(), after=(), parts=None) -> str:
    """A snapshot whose storage holds ``tree`` (default: a good one), with a manifest changed by
    ``doc_changes``, and extra members ``before`` the manifest or ``after`` the parts."""
    if parts is None:
        parts = {"storage": ("storage.tar", storage_tar(tree if tree is not None else good_tree())),
                 "database": ("database.sqlite", sqlite_bytes(folder))}
    body = json.dumps(manifest(parts, **(doc_changes or {}))).encode()
    members = list(before) + [(_info("manifest.json"), body)] + \
        [(_info(name), data) for _role, (name, data) in sorted(parts.items())] + list(after)
    return archive(path, members)


def bomb_snapshot(path: str, folder: str) -> str:
    """Honest hashes, sizes and names, but a database part of 24 MiB of zeros (about 24 KiB gzipped)."""
    parts = {"storage": ("storage.tar", storage_tar(good_tree())), "database": ("database.sqlite", bytes(ZEROS))}
    return snapshot(path, folder, parts=parts)


def hostile_cases(folder: str) -> dict:
    """name -> (snapshot path, words the refusal says)."""
    def at(name):
        return os.path.join(folder, name + ".tar.gz")

    sym, lnk, chr_, fifo, dir_ = tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE, tarfile.DIRTYPE
    trees = {
        "tar_slip": ([(_info("../evil"), b"x")], "climbs out"),
        "tar_slip_nested": ([(_info("public/../../evil"), b"x")], "climbs out"),
        "absolute_path": ([(_info("/tmp/evil"), b"x")], "absolute"),
        "symlink_absolute": ([(_info("public/passwd", sym, link="/etc/passwd"), None)], "absolute path"),
        "symlink_escape": ([(_info("public/up", sym, link="../../outside"), None)], "pointing outside"),
        "below_symlink": ([(_info("l", sym, link="public"), None), (_info("public", dir_), None),
                           (_info("l/x"), b"x")], "below a symbolic link"),
        "hardlink_absolute": ([(_info("public/h", lnk, link="/etc/passwd"), None)], "hard link"),
        "hardlink_outside": ([(_info("public/h", lnk, link="../x"), None)], "hard link"),
        "device": ([(_info("public/null", chr_), None)], "device"),
        "fifo": ([(_info("public/pipe", fifo), None)], "device, FIFO"),
        "duplicate_entry": ([(_info("a"), b"1"), (_info("a"), b"2")], "appears twice"),
        "too_many_files": ([(_info("f%d" % i), b"x") for i in range(30)], "max_files"),
    }
    cases = {name: (snapshot(at(name), folder, tree=tree), words) for name, (tree, words) in trees.items()}
    good = snapshot(at("good"), folder)
    with open(good, "rb") as handle:
        data = handle.read()
    with open(at("truncated"), "wb") as handle:
        handle.write(data[:len(data) // 2])
    cases["truncated"] = (at("truncated"), "truncated")
    with open(at("not_an_archive"), "wb") as handle:
        handle.write(b"PK\x03\x04 this is a zip, not a snapshot" * 20)
    cases["not_an_archive"] = (at("not_an_archive"), "not a snapshot")
    parts = {"storage": ("storage.tar", storage_tar(good_tree())), "database": ("database.sqlite", sqlite_bytes(folder))}
    wrong = manifest(parts)
    wrong["parts"]["storage"]["sha256"] = hashlib.sha256(b"something else").hexdigest()
    cases["wrong_hash"] = (archive(at("wrong_hash"), [(_info("manifest.json"), json.dumps(wrong).encode())] + [
        (_info(n), d) for _r, (n, d) in sorted(parts.items())]), "does not match its sha256")
    cases["unknown_version"] = (snapshot(at("unknown_version"), folder, doc_changes={"format_version": 2}),
                                "unknown snapshot format version 2")
    cases["manifest_not_first"] = (snapshot(at("manifest_not_first"), folder, before=[(_info("x.txt"), b"x")]),
                                   "first entry must be manifest.json")
    cases["extra_member"] = (snapshot(at("extra_member"), folder, after=[(_info("run.sh"), b"rm -rf /")]),
                             "unexpected entry 'run.sh'")
    cases["part_is_symlink"] = (archive(at("part_is_symlink"), [
        (_info("manifest.json"), json.dumps(manifest({"storage": ("storage.tar", b"")})).encode()),
        (_info("storage.tar", sym, link="/etc/shadow"), None)]), "unexpected entry 'storage.tar'")
    cases["part_name_escape"] = (archive(at("part_name_escape"), [
        (_info("manifest.json"), json.dumps(manifest({"storage": ("../../storage.tar", b"x")})).encode()),
        (_info("../../storage.tar"), b"x")]), "not {file, sha256, size} of a known file")
    cases["missing_part"] = (archive(at("missing_part"), [
        (_info("manifest.json"), json.dumps(manifest(parts)).encode()),
        (_info("storage.tar"), parts["storage"][1])]), "are not in the archive")
    cases["gzip_bomb"] = (bomb_snapshot(at("gzip_bomb"), folder), "zip bomb")
    cases["damaged_database"] = (snapshot(at("damaged_database"), folder, parts={
        "storage": ("storage.tar", storage_tar(good_tree())),
        "database": ("database.sqlite", b"SQLite format 3\x00" + b"\xff" * 4000)}), "database")
    return cases
