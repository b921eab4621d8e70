"""Provisioning on a database server: the app's database and user (PostgreSQL or MySQL/MariaDB).

The server admin's password never becomes a resource input: the dynamic providers read it from the
secret stack config `openwebui:databaseAdminPassword` when the engine configures them.
"""

from __future__ import annotations

import pulumi

from components.config import DatabaseSettings
from components.hardening import child_opts


def provision(parent: pulumi.Resource, name: str, db: DatabaseSettings,
              app_password: pulumi.Input[str], after: tuple[pulumi.Resource, ...] = ()) -> list[pulumi.Resource]:
    if db.type == "postgresql":
        return _postgresql(parent, name, db, app_password, list(after))
    if db.type == "mysql":
        return _mysql(parent, name, db, app_password, list(after))
    raise ValueError(f"no server provisioning for {db.type}")


def _postgresql(parent: pulumi.Resource, name: str, db: DatabaseSettings,
                app_password: pulumi.Input[str], after: list[pulumi.Resource]) -> list[pulumi.Resource]:
    from components.providers.postgresql import (
        PostgresDatabase,
        PostgresDatabaseArgs,
        PostgresRole,
        PostgresRoleArgs,
        PostgresServer,
    )

    server = PostgresServer(host=db.host or "", port=db.effective_port or 5432,
                            admin_user=db.admin_user or "postgres", ssl_mode=db.ssl_mode,
                            ssl_root_cert=db.ssl_ca_file, connect_timeout=db.connect_timeout)
    role = PostgresRole(f"{name}-role", PostgresRoleArgs(
        server=server, name=db.user, password=app_password, database=db.name,
        adopt_existing=db.adopt_existing), opts=child_opts(parent, depends_on=after))
    database = PostgresDatabase(f"{name}-database", PostgresDatabaseArgs(
        server=server, name=db.name, owner=role.name,
        revoke_public_connect=db.revoke_public_connect, allow_drop=db.allow_drop,
        adopt_existing=db.adopt_existing),
        opts=child_opts(parent, retain_on_delete=not db.allow_drop))
    return [role, database]


def _mysql(parent: pulumi.Resource, name: str, db: DatabaseSettings,
           app_password: pulumi.Input[str], after: list[pulumi.Resource]) -> list[pulumi.Resource]:
    from components.providers.mysql import (
        MysqlDatabase,
        MysqlDatabaseArgs,
        MysqlServer,
        MysqlUser,
        MysqlUserArgs,
    )

    server = MysqlServer(host=db.host or "", port=db.effective_port or 3306,
                         admin_user=db.admin_user or "root", ssl_mode=db.ssl_mode,
                         ssl_ca=db.ssl_ca_file, connect_timeout=db.connect_timeout)
    database = MysqlDatabase(f"{name}-database", MysqlDatabaseArgs(
        server=server, name=db.name, allow_drop=db.allow_drop, adopt_existing=db.adopt_existing),
        opts=child_opts(parent, depends_on=after, retain_on_delete=not db.allow_drop))
    user = MysqlUser(f"{name}-user", MysqlUserArgs(
        server=server, name=db.user, account_host=db.user_host or "", password=app_password,
        database=database.name, require_ssl=db.ssl_mode in ("require", "verify-ca", "verify-full"),
        allow_any_host=db.user_host == "%", adopt_existing=db.adopt_existing),
        opts=child_opts(parent))
    return [database, user]
