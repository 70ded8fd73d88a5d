# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SQL of a PostgreSQL tenant (provisioning/postgresql_db.py): a role and a database per
tenant, on the tenants' server (not the store). Names are composed as identifiers, the password is
a SCRAM verifier composed as a literal: nothing a caller passes is spliced into SQL as text."""

from __future__ import annotations


def _sql():
    from psycopg import sql  # pylint: disable=import-outside-toplevel
    return sql


def mark(fleet: str) -> str:
    """The comment that says a role or database was made by the store of ``fleet``: two stores
    provisioning a tenant of the same id on one server must neither share nor drop each other's."""
    return "appgraph.lifecycle tenant of store %s" % fleet


def role_mark(conn, role: str):
    """``(exists, its comment or None)``."""
    row = conn.execute("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    return (row is not None, row[0] if row else None)


def database_mark(conn, dbname: str):
    """``(exists, its comment or None, its owner's name or None)``."""
    row = conn.execute("SELECT shobj_description(d.oid, 'pg_database'), r.rolname FROM pg_database d "
                       "LEFT JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = %s", (dbname,)).fetchone()
    return (row is not None, row[0] if row else None, row[1] if row else None)


def foreign(conn, dbname: str, role: str, fleet: str) -> str | None:
    """What on the server is in the way of this store's tenant, in words; None when nothing is: a
    role is this store's when it carries its mark; a database, when it carries it, or carries none
    and belongs to this store's role (a provision killed between CREATE DATABASE and COMMENT)."""
    role_there, role_comment = role_mark(conn, role)
    if role_there and role_comment != mark(fleet):
        return "the role %s exists and was not made by this store (%s)" % (role, role_comment or "no appgraph mark")
    db_there, db_comment, owner = database_mark(conn, dbname)
    if db_there and db_comment != mark(fleet) and not (db_comment is None and owner == role and role_there):
        return "the database %s exists and was not made by this store (%s)" % (dbname, db_comment or "no appgraph mark")
    return None


def set_role(conn, role: str, verifier: str, fleet: str) -> None:
    """Create the login role with this store's mark (one transaction: a kill never leaves it
    unmarked), or give the one there (this store's: see ``foreign``) the new password."""
    sql = _sql()
    with conn.transaction():
        verb = "ALTER" if role_mark(conn, role)[0] else "CREATE"
        conn.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))
        conn.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(sql.Identifier(role), sql.Literal(mark(fleet))))


def ensure_database(conn, dbname: str, owner: str, fleet: str) -> None:
    """The tenant's database, owned by its role, marked as this store's, that nobody else may
    connect to. (CREATE DATABASE cannot run in a transaction: the mark follows it.)"""
    sql = _sql()
    if not database_mark(conn, dbname)[0]:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(owner)))
    conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(dbname), sql.Literal(mark(fleet))))
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))


def drop_tenant(conn, dbname: str, role: str, fleet: str) -> str | None:
    """Drop the tenant's database and role if they are this store's; else leave them and say why."""
    in_the_way = foreign(conn, dbname, role, fleet)
    if in_the_way:
        return in_the_way
    sql = _sql()
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    return None
