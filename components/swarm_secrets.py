"""On a swarm: the stack's secret values as Docker secrets, mounted as files only the service's user can read.

A Docker secret is immutable (docs/provider-contract.md T1): a new value is a new secret. These are autonamed, so
the engine replaces them create-before-delete: the new secret exists, every service that references it is updated
to the new ID (a rolling update), and only then is the old one removed: rotation without a moment without a secret.
The value reaches the provider as a secret input and is never read back (T3).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from components.hardening import STACK_LABEL, TYPE_PREFIX, child_opts

SECRETS_DIR = "/run/secrets"
# Readable by the owner only (CIS 5.x: secrets not world-readable).
SECRET_FILE_MODE = 0o400


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


@dataclass(frozen=True, kw_only=True)
class SwarmSecretsArgs:
    stack: str
    # File name under /run/secrets -> its secret value.
    values: Mapping[str, pulumi.Input[str]]


class SwarmSecrets(pulumi.ComponentResource):
    secret_ids: pulumi.Output[dict[str, str]]
    secret_names: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, args: SwarmSecretsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:SwarmSecrets", name, None, opts)
        self._secrets: dict[str, docker.Secret] = {}
        for file_name, value in sorted(args.values.items()):
            self._secrets[file_name] = docker.Secret(
                f"{name}-{file_name.replace('_', '-')}",
                data=pulumi.Output.from_input(value).apply(_b64).apply(pulumi.Output.secret),
                labels=[docker.SecretLabelArgs(label=STACK_LABEL, value=args.stack)],
                opts=child_opts(self),
            )
        self.secret_ids = pulumi.Output.all(**{k: s.id for k, s in self._secrets.items()})
        self.secret_names = pulumi.Output.all(**{k: s.name for k, s in self._secrets.items()})
        self.register_outputs({"secret_ids": self.secret_ids, "secret_names": self.secret_names})

    def references(self, uid: str, gid: str,
                   only: Optional[set[str]] = None) -> list[docker.ServiceTaskSpecContainerSpecSecretArgs]:
        """Mounts of (some of) these secrets at /run/secrets/<file name>, owned by uid:gid, mode 0400."""
        return [docker.ServiceTaskSpecContainerSpecSecretArgs(
            secret_id=secret.id, secret_name=secret.name, file_name=file_name, file_uid=uid, file_gid=gid,
            file_mode=SECRET_FILE_MODE) for file_name, secret in sorted(self._secrets.items())
            if only is None or file_name in only]

    def resources(self) -> list[pulumi.Resource]:
        return list(self._secrets.values())
