"""The guard in front of a change of `database.type` (issue 16): declared first, and what the database password,
the database's provisioning, the migration and so the app wait for, so a refused change stops `up` and preview
before anything is created or removed (components/providers/database_kind.py says what is refused and why).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi

from components.config import DatabaseSettings
from components.hardening import TYPE_PREFIX, child_opts
from components.stack_file import path as stack_file_path


@dataclass(frozen=True, kw_only=True)
class DatabaseGuardArgs:
    stack: str
    settings: DatabaseSettings
    # The stack file the operator edits, as the refusal's command names it (default: found from the project).
    stack_file: Optional[str] = None


CHECKOUT = Path(__file__).resolve().parent.parent


def project_dir() -> Path:
    """The project's directory: the language host's root directory (the CLI), the one deploy/ names for the
    Automation API's inline program, else the working directory."""
    return Path(pulumi.runtime.get_root_directory() or os.environ.get("OWUI_PROJECT_DIR") or Path.cwd())


def stack_file(stack: str, project: Optional[Path] = None) -> str:
    """Pulumi.<stack>.yaml where the engine reads it: the project's stackConfigDir (Pulumi.yaml), relative to the
    checkout when it is in it (scripts/owui runs from there), else absolute."""
    path = stack_file_path(project or project_dir(), stack).resolve()
    return str(path.relative_to(CHECKOUT)) if path.is_relative_to(CHECKOUT) else str(path)


class DatabaseGuard(pulumi.ComponentResource):
    """Holds the deployed database.type; `resource` is what the database-facing resources depend on."""

    resource: pulumi.Resource

    def __init__(self, name: str, args: DatabaseGuardArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:DatabaseGuard", name, None, opts)
        from components.providers.database_kind import DatabaseKind

        db = args.settings
        file = args.stack_file or stack_file(args.stack)
        props: dict[str, object] = {
            "stack": args.stack, "type": db.type,
            "moveCommand": f"scripts/owui move-database {args.stack} --to {file}",
        }
        if db.type != "sqlite":
            props.update({"host": db.host, "port": db.effective_port, "adminUser": db.admin_user, "name": db.name,
                          "sslMode": db.ssl_mode, "sslCa": db.ssl_ca_file, "connectTimeout": db.connect_timeout})
        self.resource = DatabaseKind(f"{name}-kind", props, opts=child_opts(self))
        self.register_outputs({})
