# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database connections behind the store: SQLite (embedded default) and PostgreSQL (shared).

Both speak the same parameterised SQL (``?`` placeholders, rewritten for psycopg); they differ in
how a writer takes its lock: SQLite's ``BEGIN IMMEDIATE`` takes the one database write lock,
PostgreSQL takes an advisory lock of the application (which exists before its row does) and locks
its row (``SELECT ... FOR UPDATE``), so that writers to different applications do not wait for
each other.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import sqlite3
from urllib.parse import quote, unquote, urlsplit, urlunsplit
import traceback

from ..errors import StoreError
from ..files import state_path


def advisory_key(kind: str, name: str) -> int:
    """The PostgreSQL advisory lock key (a signed 64-bit integer) of one thing of ours: an
    application, a reserve, a permanent name, a provider account."""
    return int.from_bytes(hashlib.sha256(("appgraph-%s\0%s" % (kind, name)).encode()).digest()[:8], "big",
                          signed=True)


def load_psycopg():
    """``(psycopg module or None, import traceback or None)``, imported on first use only: psycopg
    costs 0.1-0.3 s to import, which every module run on a SQLite store would otherwise pay."""
    try:
        import psycopg  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None, traceback.format_exc()
    return psycopg, None


def json_column(text) -> dict:
    """A JSON text column as read back: ``{}`` for NULL or empty (both dialects store JSON as text)."""
    return json.loads(text) if text else {}


DEFAULT_STORE = state_path("appgraph.db")


PASSWORD_VARIABLE = "APPGRAPH_STORE_PASSWORD"   # a PostgreSQL store's password, kept out of the DSN


def resolve_dsn(dsn: str | None) -> str:
    """The store to use: the argument, else $APPGRAPH_STORE, else the per-user SQLite file."""
    dsn = dsn or os.environ.get("APPGRAPH_STORE") or DEFAULT_STORE
    if is_postgresql(dsn):
        return dsn
    return os.path.abspath(os.path.expanduser(dsn))


def is_postgresql(dsn: str) -> bool:
    return dsn.startswith(("postgresql://", "postgres://"))


def redact(dsn: str) -> str:
    """The DSN without its password, for messages and cache keys."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", dsn)


def with_password(dsn: str, password: str | None) -> str:
    """``dsn`` with ``password`` (from the environment) in its user part, for libpq; messages show
    the DSN through ``redact``. A DSN without a user gets the login name, as libpq would."""
    if not password or not is_postgresql(dsn):
        return dsn
    parts = urlsplit(dsn)
    user = unquote(parts.username) if parts.username else getpass.getuser()
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, "%s:%s@%s" % (quote(user, safe=""), quote(password, safe=""), host),
                       parts.path, parts.query, parts.fragment))


def password_in_dsn(dsn: str) -> bool:
    """True when a postgresql:// DSN carries a password (in the user part or as a parameter)."""
    if not is_postgresql(dsn):
        return False
    parts = urlsplit(dsn)
    query = [item.partition("=")[0].strip().lower() for item in parts.query.split("&") if item]
    return parts.password is not None or "password" in query


def dsn_password(dsn: str | None) -> str | None:
    """The password a postgresql:// DSN carries in its user part (what a module masks), or None."""
    if not dsn or not is_postgresql(dsn):
        return None
    password = urlsplit(dsn).password
    return unquote(password) if password else None


class SQLiteBackend:
    dialect = "sqlite"

    def __init__(self, path: str, busy_timeout: float = 60.0):
        self.path = path
        _create_private_file(path)
        try:
            self.conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")   # WAL + NORMAL: durable at checkpoints, never corrupt
            self.conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise StoreError("cannot open the store %s: %s" % (path, exc)) from None

    def table_exists(self, name: str) -> bool:
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    def begin_write(self, application: str | None) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def begin_read(self) -> None:
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def execute(self, sql: str, params=()):
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows) -> None:
        self.conn.executemany(sql, rows)

    def query(self, sql: str, params=()) -> list:
        return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()


def _create_private_file(path: str) -> None:
    """The store holds provider details: create it (and its folder) readable by its owner only."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    if not os.path.exists(path):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise StoreError("cannot create the store %s: %s" % (path, exc.strerror)) from None


class PostgreSQLBackend:
    dialect = "postgresql"

    def __init__(self, dsn: str):
        psycopg, _error = load_psycopg()
        if psycopg is None:
            raise StoreError("a postgresql:// store needs the Python package 'psycopg' (pip install 'psycopg[binary]')")
        try:
            self.conn = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError("cannot connect to the store %s: %s" % (redact(dsn), str(exc).strip())) from None

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def table_exists(self, name: str) -> bool:
        return self.query("SELECT to_regclass(?)", (name,))[0][0] is not None

    def begin_write(self, application: str | None) -> None:
        if application is None:
            self.conn.execute("BEGIN; SELECT pg_advisory_xact_lock(4242)")   # store-wide writes (schema)
            return
        # The row lock alone is not enough: an application that does not exist yet has no row to
        # lock, and two runs adding it at once both inserted it (a duplicate key). The advisory
        # lock is taken whether the row exists or not; the key is an integer of ours, no user text.
        self.conn.execute("BEGIN; SELECT pg_advisory_xact_lock(%d)" % advisory_key("application", application))
        self.conn.execute("SELECT version FROM applications WHERE name = %s FOR UPDATE", (application,))

    def begin_read(self) -> None:
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def execute(self, sql: str, params=()):
        return self.conn.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(self._sql(sql), list(rows))

    def query(self, sql: str, params=()) -> list:
        return self.conn.execute(self._sql(sql), params).fetchall()

    def close(self) -> None:
        self.conn.close()


def connect(dsn: str):
    return PostgreSQLBackend(dsn) if is_postgresql(dsn) else SQLiteBackend(dsn)
