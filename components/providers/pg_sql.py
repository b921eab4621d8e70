"""PostgreSQL statements the providers run, as pure functions (no connection, no server).

Identifiers go through ``psycopg2.sql.Identifier`` and values through ``sql.Literal`` or ``%s`` parameters, so a
name like ``x"; DROP DATABASE y; --`` becomes one quoted identifier and nothing else runs.

Passwords never reach the server in clear: the providers turn them into a SCRAM-SHA-256 verifier on the client
(libpq's PQencryptPasswordConn via ``psycopg2.extensions.encrypt_password``), and these builders only ever see
the verifier. So a server with ``log_statement = 'ddl'`` logs a hash, not the password.
"""

from __future__ import annotations

from psycopg2 import sql

# Written as the role's/database's comment; lets a later create recognise objects this stack made (e.g. a
# database retained by an earlier destroy) and adopt them without the operator's adopt flag.
MANAGED_MARKER = "managed by the Open WebUI Pulumi stack"


def create_role(role: str, password_verifier: str) -> sql.Composed:
    """A login role with no special powers: it will own exactly one database and nothing else."""
    return sql.SQL(
        "CREATE ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD {pw}"
    ).format(role=sql.Identifier(role), pw=sql.Literal(password_verifier))


def alter_role_password(role: str, password_verifier: str) -> sql.Composed:
    """Rotate the password (and make sure the role can log in); data is untouched."""
    return sql.SQL("ALTER ROLE {role} WITH LOGIN PASSWORD {pw}").format(
        role=sql.Identifier(role), pw=sql.Literal(password_verifier)
    )


def disable_login(role: str) -> sql.Composed:
    """Used when a role cannot be dropped because a retained database still belongs to it."""
    return sql.SQL("ALTER ROLE {role} WITH NOLOGIN PASSWORD NULL").format(role=sql.Identifier(role))


def comment_on_role(role: str, comment: str) -> sql.Composed:
    return sql.SQL("COMMENT ON ROLE {role} IS {c}").format(role=sql.Identifier(role), c=sql.Literal(comment))


def drop_role(role: str) -> sql.Composed:
    return sql.SQL("DROP ROLE {role}").format(role=sql.Identifier(role))


def grant_role_to_current_user(role: str) -> sql.Composed:
    """A non-superuser admin (managed PostgreSQL) must be a member of the owner role to CREATE DATABASE ... OWNER."""
    return sql.SQL("GRANT {role} TO CURRENT_USER").format(role=sql.Identifier(role))


def create_database(database: str, owner: str) -> sql.Composed:
    """UTF8 from template0 (template1 may carry another encoding or objects); locale stays the server's."""
    return sql.SQL("CREATE DATABASE {db} WITH OWNER {owner} ENCODING 'UTF8' TEMPLATE template0").format(
        db=sql.Identifier(database), owner=sql.Identifier(owner)
    )


def alter_database_owner(database: str, owner: str) -> sql.Composed:
    return sql.SQL("ALTER DATABASE {db} OWNER TO {owner}").format(
        db=sql.Identifier(database), owner=sql.Identifier(owner)
    )


def reassign_owned(old_role: str, new_role: str) -> sql.Composed:
    """Run inside the app database: hands the old role's tables to the new owner (role renamed/replaced)."""
    return sql.SQL("REASSIGN OWNED BY {old} TO {new}").format(old=sql.Identifier(old_role),
                                                              new=sql.Identifier(new_role))


def comment_on_database(database: str, comment: str) -> sql.Composed:
    return sql.SQL("COMMENT ON DATABASE {db} IS {c}").format(db=sql.Identifier(database), c=sql.Literal(comment))


def revoke_public_connect(database: str) -> sql.Composed:
    """Only the owner (and superusers) may then connect: other roles on a shared server cannot."""
    return sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC").format(db=sql.Identifier(database))


def grant_public_connect(database: str) -> sql.Composed:
    """PostgreSQL's default, restored when the operator turns the revoke off."""
    return sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {db} TO PUBLIC").format(db=sql.Identifier(database))


def grant_connect(database: str, role: str) -> sql.Composed:
    """Explicit even for the owner, so the grant survives an owner change and shows in \\l."""
    return sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}").format(
        db=sql.Identifier(database), role=sql.Identifier(role)
    )


def drop_database(database: str) -> sql.Composed:
    return sql.SQL("DROP DATABASE {db}").format(db=sql.Identifier(database))


# Read-only queries: values as parameters, never formatted in.

ROLE_INFO = (
    "SELECT rolname, rolcanlogin, rolsuper, shobj_description(oid, 'pg_authid') "
    "FROM pg_roles WHERE rolname = %s"
)

ADMIN_PRIVILEGES = "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"

DATABASE_INFO = (
    "SELECT d.datname, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), "
    "shobj_description(d.oid, 'pg_database'), "
    # PUBLIC may connect when the ACL is NULL (default) or has an entry for grantee 0 with CONNECT.
    "(d.datacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(d.datacl) a "
    "   WHERE a.grantee = 0 AND a.privilege_type = 'CONNECT')) "
    "FROM pg_database d WHERE d.datname = %s"
)

# Objects an application would have created (tables, views, sequences...) outside the system schemas.
USER_OBJECT_COUNT = (
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%' "
    "AND n.nspname NOT LIKE 'pg_temp%%'"
)

ROLE_OWNS_DATABASES = "SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = %s)"
