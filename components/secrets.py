"""Generated secrets: made once by pulumi-random, kept in state (encrypted), stable across ups.

Rotating any of them is an explicit action (README, "Secrets: stable by default, rotated on purpose"):
`pulumi up --replace` on the one resource, because WEBUI_SECRET_KEY signs every session and the Fernet key encrypts
stored OAuth tokens.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_random as random

from components.hardening import TYPE_PREFIX, child_opts


@dataclass(frozen=True, kw_only=True)
class SecretsArgs:
    # An operator-chosen admin password (secret config); generated when absent.
    admin_password: Optional[pulumi.Input[str]] = None
    with_database_password: bool = False
    with_redis_password: bool = False
    # What the database password waits for (the database guard: a refused change of database.type creates nothing).
    database_after: tuple[pulumi.Resource, ...] = ()


def fernet_key_from_password(password: str) -> str:
    """A Fernet key (32 bytes, URL-safe base64) derived from a generated password.

    Not pulumi-random's RandomBytes: its resource id is the base64 value itself, stored in plain text in the
    state (pulumi-random provider/resources.go computeRandomBytesID; docs/provider-contract.md R11). A
    RandomPassword's id is "none" and its result is secret (R8); 64 characters from 62 carry ~381 bits, which
    SHA-256 folds into the key's 256.
    """
    return base64.urlsafe_b64encode(hashlib.sha256(password.encode("utf-8")).digest()).decode("ascii")


class Secrets(pulumi.ComponentResource):
    webui_secret_key: pulumi.Output[str]
    oauth_session_key: pulumi.Output[str]
    admin_password: pulumi.Output[str]
    database_password: Optional[pulumi.Output[str]]
    redis_password: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: SecretsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:Secrets", name, None, opts)

        self.webui_secret_key = self._password(f"{name}-webui-secret-key", 64, special=False)
        self.oauth_session_key = pulumi.Output.secret(
            self._password(f"{name}-oauth-session-key", 64, special=False).apply(fernet_key_from_password))
        if args.admin_password is not None:
            self.admin_password = pulumi.Output.secret(args.admin_password)
        else:
            self.admin_password = self._password(f"{name}-admin-password", 24, special=False)
        # Database passwords include URL-hostile characters on purpose: DATABASE_URL encodes them.
        self.database_password = (
            self._password(f"{name}-database-password", 32, special=True,
                           override_special="@:/%#?&!-_=+", after=args.database_after)
            if args.with_database_password else None)
        self.redis_password = (self._password(f"{name}-redis-password", 40, special=False)
                               if args.with_redis_password else None)

        self.register_outputs({
            "webui_secret_key": self.webui_secret_key,
            "oauth_session_key": self.oauth_session_key,
            "admin_password": self.admin_password,
            "database_password": self.database_password,
            "redis_password": self.redis_password,
        })

    def _password(self, resource_name: str, length: int, *, special: bool,
                  override_special: Optional[str] = None,
                  after: tuple[pulumi.Resource, ...] = ()) -> pulumi.Output[str]:
        password = random.RandomPassword(
            resource_name, length=length, special=special, override_special=override_special,
            min_lower=2, min_upper=2, min_numeric=2, min_special=2 if special else 0,
            opts=child_opts(self, depends_on=list(after)))
        return pulumi.Output.secret(password.result)
