# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in storage sub-provisioner ``tree``: a tenant's folder tree on its server.

The tree is ``<home>/tenants/<instance id>/`` with DFE's four areas: ``private`` and
``owner-private`` (0700: the tenant's secrets, its database credentials), ``packages`` and
``public``. ``<home>`` is the folder the server's provider reports as the server's own (a local
server's sandbox: the tree goes when the server goes), or the option ``root`` (a folder of this
machine, for providers whose servers have none here).

A snapshot holds the tree as one tar stream (``storage.tar``: files, folders and links as they
are, modes kept), written and read in 1 MiB pieces whatever the tree's size; the export streams it
(``export_to``), so it is hashed as it is written.
"""

from __future__ import annotations

import os
import shutil
import tarfile

from ..errors import PermanentError
from .base import SubProvisioner

AREAS = {"private": 0o700, "owner-private": 0o700, "packages": 0o755, "public": 0o755}
CHUNK = 1024 * 1024


class TenantTree(SubProvisioner):
    role = "storage"
    name = "tree"
    OPTIONS = {"root": "a folder of this machine for the trees (default: the server's own folder)"}
    dump_file = "storage.tar"

    def intent(self, request, parts: dict) -> dict:
        root = self.options.get("root")
        if root:
            home = os.path.abspath(os.path.expanduser(root))
        else:
            home = (parts.get("instance") or {}).get("home")
            if not home:
                raise PermanentError("the instance has no folder for the storage: give the storage a 'root'")
        return {"path": os.path.join(home, "tenants", request.instance_id)}

    def provision(self, request, parts: dict) -> dict:
        part = dict(parts["storage"])
        for area, mode in AREAS.items():
            os.makedirs(os.path.join(part["path"], area), mode=mode, exist_ok=True)
            os.chmod(os.path.join(part["path"], area), mode)
        return part

    def deprovision(self, request, part: dict, parts: dict, keep_data: bool = False) -> str:
        if part.get("path") and os.path.lexists(part["path"]):
            shutil.rmtree(part["path"])
        return "removed"

    def export(self, request, part: dict, parts: dict, path: str) -> None:
        with open(path, "wb") as handle:
            self.export_to(request, part, parts, handle)

    def export_to(self, request, part: dict, parts: dict, handle) -> None:
        """The tree as an uncompressed tar (the snapshot's compression covers it), in name order
        (tarfile's mode ``w`` straight into ``handle``: see snapshot.py for why not ``w|``)."""
        top = part["path"]
        with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT, copybufsize=CHUNK) as tar:
            for folder, dirs, files in os.walk(top):
                dirs.sort()
                for entry in [folder] + [os.path.join(folder, f) for f in sorted(files)] + \
                        [os.path.join(folder, d) for d in dirs if os.path.islink(os.path.join(folder, d))]:
                    relative = os.path.relpath(entry, top)
                    if relative != ".":
                        tar.add(entry, arcname=relative, recursive=False)

    def restore(self, request, part: dict, parts: dict, path: str) -> None:
        """``path`` is the staged tree (extracted safely, verified): it replaces the empty one."""
        target = part["path"]
        shutil.rmtree(target)
        try:
            os.rename(path, target)
        except OSError:             # another file system: copy, keeping links and modes
            shutil.copytree(path, target, symlinks=True)
        for area, mode in AREAS.items():
            os.makedirs(os.path.join(target, area), mode=mode, exist_ok=True)

    def private_file(self, part: dict, name: str) -> str:
        return os.path.join(part["path"], "private", name)
