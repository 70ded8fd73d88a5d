# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in database sub-provisioner ``postgresql``: a database and a role per tenant.

The server is reached with ``dsn`` (a role that may create roles and databases); its password is
best kept out of the file: ``password_env`` names the variable that holds it (else libpq's own
``PGPASSWORD``, or a ``.pgpass``). The tenant's role gets a generated password, sent to the server
as a SCRAM-SHA-256 verifier made here (so the server's statement log never sees it either), written
only to the tenant's private storage (mode 0600) and handed to the caller once, to be masked.

Export is ``pg_dump`` in its custom format, import ``pg_restore`` into the new tenant's database as
its role (``--no-owner --role``): both stream through files, whatever the database's size.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import subprocess

from ..errors import InputError, PermanentError
from ..store import tenant_postgresql as tenant_sql
from .base import SubProvisioner
from .credentials import write_credentials
from .extract import SnapshotRefused

BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
SCRAM_ITERATIONS = 4096
TOOL_TIMEOUT = 3600.0


def _psycopg():
    try:
        import psycopg  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise PermanentError("the postgresql database sub-provisioner needs the Python package 'psycopg' "
                             "(pip install 'psycopg[binary]')") from None
    return psycopg


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """PostgreSQL's stored form of ``password`` (RFC 5802/7677), what ``\\password`` sends."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(data):
        return base64.b64encode(data).decode("ascii")
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, b64(salt), b64(stored_key), b64(server_key))


def tenant_name(prefix: str, instance_id: str) -> str:
    """A PostgreSQL identifier for the tenant: lower case, at most 63 bytes, and a hash of the
    instance id so that ``Shop.1`` and ``shop_1`` never share one."""
    clean = re.sub(r"[^a-z0-9_]", "_", instance_id.lower())[:40]
    return "%s%s_%s" % (prefix, clean, hashlib.sha256(instance_id.encode()).hexdigest()[:8])


class PostgreSQLDatabase(SubProvisioner):
    role = "database"
    name = "postgresql"
    OPTIONS = {"dsn": "postgresql://user@host:port/database of a role that creates roles and databases",
               "password_env": "the environment variable holding that role's password",
               "prefix": "of the tenants' database and role names (default tenant_)",
               "bin_dir": "where pg_dump and pg_restore are (default: PATH, then /usr/lib/postgresql/*/bin)"}
    dump_file = "database.pgdump"

    @classmethod
    def option_errors(cls, options: dict) -> list:
        errors = super().option_errors(options)
        dsn = options.get("dsn")
        if not isinstance(dsn, str) or not dsn.startswith(("postgresql://", "postgres://")):
            errors.append(("dsn", "the postgresql database needs 'dsn', a postgresql:// URL", "add it"))
        prefix = options.get("prefix", "tenant_")
        if not isinstance(prefix, str) or not re.fullmatch(r"[a-z_][a-z0-9_]{0,11}", prefix):
            errors.append(("prefix", "invalid prefix %r" % (prefix,), "1-12 lower-case letters, digits or '_'"))
        return errors

    # -- connections ----------------------------------------------------------------------------------

    def _admin(self, dbname: str | None = None) -> dict:
        """The admin connection's parameters (password from ``password_env`` if set)."""
        psycopg = _psycopg()
        params = psycopg.conninfo.conninfo_to_dict(self.options["dsn"])
        variable = self.options.get("password_env")
        if variable:
            if not os.environ.get(variable):
                raise InputError("the environment variable %s (password_env) is not set" % variable,
                                 key="provides.database.options.password_env")
            params["password"] = os.environ[variable]
        if dbname:
            params["dbname"] = dbname
        return params

    def _connect(self):
        psycopg = _psycopg()
        try:
            return psycopg.connect(autocommit=True, **self._admin())
        except psycopg.Error as exc:
            raise PermanentError("cannot connect to the tenants' PostgreSQL server: %s" % str(exc).strip()) from None

    def intent(self, request, parts: dict) -> dict:
        name = tenant_name(self.options.get("prefix", "tenant_"), request.instance_id)
        params = self._admin()
        return {"driver": "postgresql", "dbname": name, "role": name, "host": params.get("host"),
                "port": int(params.get("port") or 5432)}

    # -- the part ---------------------------------------------------------------------------------------

    def provision(self, request, parts: dict) -> dict:
        part = dict(parts["database"])
        password = secrets.token_urlsafe(24)
        fleet = self._fleet()
        with self._connect() as conn:
            in_the_way = tenant_sql.foreign(conn, part["dbname"], part["role"], fleet)
            if in_the_way:
                raise PermanentError("cannot provision the database of %s: %s; give this provisioner's database "
                                     "another 'prefix' (or remove what is there, if nobody uses it)"
                                     % (request.instance_id, in_the_way))
            tenant_sql.set_role(conn, part["role"], scram_verifier(password), fleet)
            tenant_sql.ensure_database(conn, part["dbname"], part["role"], fleet)
        self.context.secrets["database_password"] = password
        part["credentials"] = write_credentials(parts, {"driver": "postgresql", "host": part["host"],
                                                        "port": part["port"], "dbname": part["dbname"],
                                                        "user": part["role"], "password": password})
        return part

    def deprovision(self, request, part: dict, parts: dict, keep_data: bool = False) -> str:
        if keep_data:
            return "kept"
        with self._connect() as conn:
            # What is another store's is not this one's to drop (a provision refused because of it
            # is rolled back through here): this store's part of the tenant is gone either way.
            tenant_sql.drop_tenant(conn, part["dbname"], part["role"], self._fleet())
        return "removed"

    def _fleet(self) -> str:
        return self.context.fleet or "without a fleet"

    def export(self, request, part: dict, parts: dict, path: str) -> None:
        self._run("pg_dump", ["--format=custom", "--file=" + path, "--dbname=" + self._url(part["dbname"])])

    def verify(self, path: str) -> None:
        self._run("pg_restore", ["--list", path], what="the snapshot's database dump is not readable",
                  error=SnapshotRefused)

    def restore(self, request, part: dict, parts: dict, path: str) -> None:
        self._run("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error", "--role=" + part["role"],
                                 "--dbname=" + self._url(part["dbname"]), path])

    # -- the client tools --------------------------------------------------------------------------------

    def _url(self, dbname: str) -> str:
        """A connection string without the password (that goes through PGPASSWORD, never argv)."""
        params = {k: v for k, v in self._admin(dbname).items() if k != "password"}
        return _psycopg().conninfo.make_conninfo(**params)

    def _tool(self, name: str) -> str:
        dirs = [self.options["bin_dir"]] if self.options.get("bin_dir") else []
        for directory in dirs + list(BIN_DIRS):
            candidate = os.path.join(directory, name)
            if os.access(candidate, os.X_OK):
                return candidate
        found = shutil.which(name)
        if found is None:
            raise PermanentError("%s is not installed (Debian: apt-get install postgresql-client)" % name)
        return found

    def _run(self, tool: str, args: list, what: str | None = None, error=PermanentError) -> None:
        env = dict(os.environ)
        password = self._admin().get("password")
        if password:
            env["PGPASSWORD"] = password
        try:
            done = subprocess.run([self._tool(tool)] + args, env=env, capture_output=True, timeout=TOOL_TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise PermanentError("%s took more than %d s" % (tool, TOOL_TIMEOUT)) from None
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip()[-600:]
            raise error("%s: %s failed (exit %d): %s" % (what or "the database", tool, done.returncode, tail))
