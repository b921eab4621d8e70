"""The database Open WebUI uses: its DATABASE_URL and, on a server, the database and app user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from components.config import DatabaseSettings
from components.db_url import build_database_url
from components.hardening import TYPE_PREFIX

SQLITE_PATH = "/app/backend/data/webui.db"


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    settings: DatabaseSettings
    # The app user's password (pulumi-random secret); None for SQLite.
    app_password: Optional[pulumi.Input[str]] = None
    # What provisioning and the migration wait for (the database guard, components/database_guard.py).
    after: tuple[pulumi.Resource, ...] = ()


class Database(pulumi.ComponentResource):
    url: pulumi.Output[str]
    # What the migration must wait for (the provisioned database and user).
    resources: list[pulumi.Resource]

    def __init__(self, name: str, args: DatabaseArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:Database", name, None, opts)
        db = args.settings
        self.resources = list(args.after)
        if db.type == "sqlite":
            self.url = pulumi.Output.secret(build_database_url("sqlite", sqlite_path=SQLITE_PATH))
        else:
            from components.database_server import provision
            if args.app_password is None:
                raise ValueError(f"{db.type}: the database needs an app password (SecretsArgs.with_database_password)")
            self.resources = [*args.after, *provision(self, name, db, args.app_password, after=args.after)]
            self.url = pulumi.Output.secret(pulumi.Output.from_input(args.app_password).apply(
                lambda password: build_database_url(
                    db.type, host=db.effective_container_host, port=db.effective_port,
                    name=db.name, user=db.user, password=password, ssl_mode=db.ssl_mode,
                    ssl_ca_path=db.ssl_ca_file, connect_timeout=db.connect_timeout)))
        self.register_outputs({"url": self.url})
