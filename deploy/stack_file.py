"""A stack's plain config values in its stack file, read and written without the CLI.

For what deploy/ needs before an engine run (the policy config to apply, the Docker host): `pulumi config get`
would cost a CLI start for each value. Secure values are neither read nor written here; they stay with the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.stack_file import NAMESPACE, path

__all__ = ["NAMESPACE", "path", "plain_value", "write_plain_values"]


def plain_value(work_dir: Path, stack: str, key: str) -> Any:
    """`openwebui:<key>` as the stack file has it, or None (no file, no such key, or a secure value)."""
    file = path(work_dir, stack)
    if not file.exists():
        return None
    config: dict[str, Any] = (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("config") or {}
    value = config.get(f"{NAMESPACE}:{key}")
    return None if isinstance(value, dict) and "secure" in value else value


def write_plain_values(work_dir: Path, stack: str, values: dict[str, Any]) -> Path:
    """Plain config values into the stack file, keeping what the CLI wrote there (encryptionsalt, secure values)."""
    file = path(work_dir, stack)
    data = (yaml.safe_load(file.read_text(encoding="utf-8")) if file.exists() else {}) or {}
    config = {k: v for k, v in (data.get("config") or {}).items() if isinstance(v, dict) and "secure" in v}
    config.update({f"{NAMESPACE}:{key}": value for key, value in values.items()})
    data["config"] = config
    file.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    return file
