"""Where one test's or benchmark's deployment lives on this machine: its stack name, host ports and subnet. The
names of its network, data volume and (on PostgreSQL) database and role follow from the stack's name, so two
slots never share one, and cleanup by name cannot reach another slot's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.engine.servers import pg_from_env
from tests.mocks import stack_config


@dataclass(frozen=True)
class Slot:
    stack: str
    https_port: int
    http_port: int
    subnet: str

    @property
    def network(self) -> str:
        return f"openwebui-{self.stack}"

    @property
    def volume(self) -> str:
        return f"{self.network}-data"

    @property
    def database(self) -> str:
        """The database and its owner role on the PostgreSQL test server (scripts/db-servers)."""
        return "openwebui_" + self.stack.replace("-", "_")

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"

    def values(self, stack_file: str, backup_dir: Path | str) -> dict[str, Any]:
        """stacks/Pulumi.<stack_file>.yaml on this slot's ports, subnet, names and backup directory; a
        PostgreSQL stack file's database on the test server, with its admin password."""
        values = stack_config(stack_file)
        values.update({
            "environment": stack_file,
            "publicUrl": self.url,
            "proxy": {**values["proxy"], "httpsPort": self.https_port, "httpPort": self.http_port},
            "network": {"subnet": self.subnet, "name": self.network},
            "storage": {"volumeName": self.volume},
            "migration": {"backupDir": str(backup_dir)},
        })
        if values["database"]["type"] == "postgresql":
            values["database"] = {**values["database"], "name": self.database, "user": self.database}
            values["databaseAdminPassword"] = pg_from_env().admin_password
        return values
