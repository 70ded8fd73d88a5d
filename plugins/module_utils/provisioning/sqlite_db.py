# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in database sub-provisioner ``sqlite`` (the embedded default): a SQLite file per tenant.

The files live in ``directory`` (default ``~/.local/state/appgraph/databases/<store fleet>``), apart from the
server, so that ``keep_database`` keeps one when the server goes. Export and import use SQLite's
online backup API (a consistent copy while the tenant writes, page by page: flat memory).
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse

from .base import SubProvisioner
from .credentials import write_credentials
from .extract import SnapshotRefused

DEFAULT_DIRECTORY = os.path.join("~", ".local", "state", "appgraph", "databases")
PAGES = 1024        # pages copied per backup step


class SQLiteDatabase(SubProvisioner):
    role = "database"
    name = "sqlite"
    OPTIONS = {"directory": "where the tenants' database files are (default ~/.local/state/appgraph/databases/<store fleet>)"}
    dump_file = "database.sqlite"

    def intent(self, request, parts: dict) -> dict:
        directory = self.options.get("directory")
        if not directory:
            # A folder per store: two stores provisioning a tenant of the same id would otherwise
            # share its file, and the one deprovisioning it would delete the other's data.
            directory = os.path.join(DEFAULT_DIRECTORY, self.context.fleet or "")
        directory = os.path.abspath(os.path.expanduser(directory))
        return {"driver": "sqlite", "path": os.path.join(directory, request.instance_id + ".sqlite")}

    def provision(self, request, parts: dict) -> dict:
        part = dict(parts["database"])
        os.makedirs(os.path.dirname(part["path"]), mode=0o700, exist_ok=True)
        if not os.path.exists(part["path"]):
            os.close(os.open(part["path"], os.O_WRONLY | os.O_CREAT, 0o600))
        with _connect(part["path"]) as conn:
            conn.execute("PRAGMA user_version")     # a valid (empty) database from now on
        conn.close()
        part["credentials"] = write_credentials(parts, {"driver": "sqlite", "path": part["path"]})
        return part

    def deprovision(self, request, part: dict, parts: dict, keep_data: bool = False) -> str:
        if keep_data:
            return "kept"
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.lexists(part["path"] + suffix):
                os.remove(part["path"] + suffix)
        return "removed"

    def export(self, request, part: dict, parts: dict, path: str) -> None:
        source, target = _connect(part["path"]), _connect(path)
        try:
            source.backup(target, pages=PAGES)
        finally:
            target.close()
            source.close()

    def verify(self, path: str) -> None:
        try:
            conn = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True)
            try:
                verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise SnapshotRefused("the snapshot's database is not a SQLite database: %s" % exc) from None
        if verdict != "ok":
            raise SnapshotRefused("the snapshot's database is damaged: %s" % verdict)

    def restore(self, request, part: dict, parts: dict, path: str) -> None:
        """The staged file (verified) becomes the tenant's database: moved into place when it can
        be (the new database is empty and no one has it open), else copied page by page."""
        try:
            os.chmod(path, 0o600)
            os.replace(path, part["path"])
            return
        except OSError:
            pass
        source, target = _connect(path), _connect(part["path"])
        try:
            source.backup(target, pages=PAGES)
        finally:
            target.close()
            source.close()


def _connect(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)
