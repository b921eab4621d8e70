"""The README's stack config reference, generated from the config model (a test keeps them equal)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.config import SECRET_KEYS, Settings, _default_resources

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"
SECRET_NOTES = {
    "adminPassword": "the first admin's password (>= 16 chars); generated when unset",
    "databaseAdminPassword": "password of `database.adminUser` (postgresql, mysql)",
    "tlsPrivateKey": "PEM key of `tlsCertificate` (`tls.mode: provided`)",
    "registryPassword": "token for `registry` (e.g. a GHCR PAT with read:packages)",
    "backupEncryptionKey": "passphrase that encrypts backups (optional)",
    "dockerSshKey": "OpenSSH private key (no passphrase) that logs in to `docker.host` when it is ssh://; deploy/ "
                    "and `scripts/owui` hold it in an ssh-agent for the run only",
    "s3SecretAccessKey": "secret access key of `storage.s3.accessKeyId` (`storage.provider: s3`); on a swarm a "
                         "Docker secret file, never in a service's environment",
}


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        return "(object)" if isinstance(value, BaseModel) else json.dumps(value)
    if field.default is PydanticUndefined:
        return "**required**"
    if isinstance(field.default, BaseModel):
        return "(object)"
    return "—" if field.default is None else f"`{json.dumps(field.default)}`"


STACKS = ("dev", "staging", "prod")


def _stack_keys() -> dict[str, set[str]]:
    """Which dotted keys each stack file sets."""
    found: dict[str, set[str]] = {}
    for stack in STACKS:
        path = Path(__file__).resolve().parent.parent / "stacks" / f"Pulumi.{stack}.yaml"
        config = yaml.safe_load(path.read_text())["config"]
        keys: set[str] = set()
        for full_key, value in config.items():
            key = full_key.split(":", 1)[1]
            keys.add(key)
            if isinstance(value, dict):
                keys.update(f"{key}.{inner}" for inner in value)
                for inner, nested in value.items():
                    if isinstance(nested, dict):
                        keys.update(f"{key}.{inner}.{leaf}" for leaf in nested)
        found[stack] = keys
    return found


def config_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo, type[BaseModel] | None]]:
    """(dotted config key, field, nested model or None) for every field of the config model, depth first: the one
    walk of the config surface (the reference below and the config fuzz suite use it)."""
    for name, field in model.model_fields.items():
        if name == "stack":
            continue
        key = prefix + (field.alias or name)
        annotation = field.annotation
        nested = next((a for a in getattr(annotation, "__args__", (annotation,))
                       if isinstance(a, type) and issubclass(a, BaseModel)), None)
        yield key, field, nested
        if nested is not None:
            yield from config_fields(nested, key + ".")


def _rows(model: type[BaseModel], prefix: str, stacks: dict[str, set[str]]) -> list[str]:
    rows = []
    for key, field, nested in config_fields(model, prefix):
        if nested is not None:
            continue
        name = key.rsplit(".", 1)[-1]
        kind = str(field.annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
        default = _default(field)
        if key == "environment":
            default = "the stack name (dev, staging, prod)"
        elif key.startswith("resources."):
            role = key.split(".")[1]
            attribute = next(n for n, f in type(_default_resources()[role]).model_fields.items()
                             if (f.alias or n) == name)
            default = f"`{getattr(_default_resources()[role], attribute)}`"
        setters = ", ".join(s for s in STACKS if key in stacks[s]) or "—"
        rows.append(f"| `{key}` | {kind.replace('|', '/')} | {default} | {setters} |")
    return rows


def render() -> str:
    lines = [BEGIN, "| key (`openwebui:`…) | type | default | set in |", "|---|---|---|---|",
             *_rows(Settings, "", _stack_keys()), "", "Secrets (always `pulumi config set --secret KEY`):", ""]
    lines += [f"- `{key}`: {SECRET_NOTES[key]}" for key in SECRET_KEYS]
    lines.append(END)
    return "\n".join(lines)


README = Path(__file__).resolve().parent.parent / "README.md"


def readme_section(text: str) -> str:
    return text[text.index(BEGIN):text.index(END) + len(END)]


def sync_readme() -> None:
    text = README.read_text()
    README.write_text(text.replace(readme_section(text), render()))


if __name__ == "__main__":
    sync_readme()
