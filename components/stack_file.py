"""Where a stack's config file is, and the project's config namespace: the one rule the program (the database
guard names the file in its refusal) and deploy/ (reads and writes plain values) share. Only yaml is imported:
deploy/ reads it before each engine run."""

from __future__ import annotations

from pathlib import Path

import yaml

NAMESPACE = "openwebui"  # the project's name (Pulumi.yaml): its config keys are openwebui:<key>


def path(project: Path, stack: str) -> Path:
    """Pulumi.<stack>.yaml where the CLI reads it: `stackConfigDir` of the project's Pulumi.yaml, else the
    project directory (also when Pulumi.yaml cannot be read)."""
    config_dir = "."
    try:
        settings = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
        config_dir = str(settings.get("stackConfigDir") or ".")
    except (OSError, yaml.YAMLError):
        pass
    return project / config_dir / f"Pulumi.{stack}.yaml"
