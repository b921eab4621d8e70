"""Contract double for pulumi-random (terraform-provider-random): RandomPassword and RandomBytes.

Rows R1-R13 of docs/provider-contract.md. Every input of both resources requires replacement (the upstream
schemas mark each attribute RequiresReplace), so Diff never updates in place and Read hands the state back.
Values come from the operating system's CSPRNG (``secrets``), as upstream's ``crypto/rand``.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import bcrypt

from plugins.protocol import CheckFailed, Diff, Props, ResourceType, has_unknown, property_diff

# internal/random/string.go: the character classes and the default special set.
NUMERIC = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"

BCRYPT_COST = 10  # golang.org/x/crypto bcrypt/bcrypt.go DefaultCost

PASSWORD_DEFAULTS: Props = {
    "special": True, "upper": True, "lower": True, "numeric": True,
    "minLower": 0, "minUpper": 0, "minNumeric": 0, "minSpecial": 0,
}
PASSWORD_INPUTS = ("length", "special", "upper", "lower", "numeric", "minLower", "minUpper", "minNumeric",
                   "minSpecial", "overrideSpecial", "keepers")


def generate_string(inputs: Props) -> str:
    """Upstream's CreateString: the minimum of each class first, the rest from every enabled class, then
    shuffled."""
    special = inputs.get("overrideSpecial") or DEFAULT_SPECIAL
    classes = [(UPPER, "upper", "minUpper"), (LOWER, "lower", "minLower"), (NUMERIC, "numeric", "minNumeric"),
               (special, "special", "minSpecial")]
    alphabet = "".join(chars for chars, enabled, _ in classes if inputs.get(enabled, True))
    chosen = [secrets.choice(chars) for chars, _, minimum in classes for _ in range(int(inputs.get(minimum, 0)))]
    chosen += [secrets.choice(alphabet) for _ in range(int(inputs["length"]) - len(chosen))]
    shuffled: list[str] = []
    while chosen:
        shuffled.append(chosen.pop(secrets.randbelow(len(chosen))))
    return "".join(shuffled)


class RandomPassword(ResourceType):
    token = "random:index/randomPassword:RandomPassword"

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        # R12: the checked inputs are the program's own; the schema defaults appear in the outputs (R2-R4).
        checked = {**PASSWORD_DEFAULTS, **news}
        if has_unknown(checked):
            return news
        length = checked.get("length")
        if not isinstance(length, (int, float)) or int(length) < 1:
            raise CheckFailed([("length", "length must be at least 1")])
        minimum = sum(int(checked[k]) for k in ("minLower", "minUpper", "minNumeric", "minSpecial"))
        if int(length) < minimum:
            # resource_password.go: length validator AtLeastSumOf(min_upper, min_lower, min_numeric, min_special)
            raise CheckFailed([("length", f"length must be at least the sum of the minimums ({minimum})")])
        return news

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        planned = {**PASSWORD_DEFAULTS, **news}
        if olds.get("overrideSpecial") == "" and "overrideSpecial" not in news:
            planned["overrideSpecial"] = ""  # R5: "" -> null is not a change
        return property_diff(olds, planned, PASSWORD_INPUTS, force_new=lambda _: True)

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        planned = {**PASSWORD_DEFAULTS, **inputs}
        result = generate_string(planned)
        # R8: upstream's generateHash is Go's bcrypt.GenerateFromPassword(..., bcrypt.DefaultCost) over the first
        # 72 bytes; golang.org/x/crypto bcrypt/bcrypt.go: DefaultCost = 10, version prefix "$2a$". (Python's
        # gensalt() defaults to cost 12, four times the work: each password held the engine's step up ~0.4 s.)
        hashed = bcrypt.hashpw(result.encode()[:72], bcrypt.gensalt(rounds=BCRYPT_COST, prefix=b"2a")).decode()
        return "none", {**planned, "result": result, "bcryptHash": hashed}


class RandomBytes(ResourceType):
    token = "random:index/randomBytes:RandomBytes"

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        length = news.get("length")
        if not has_unknown(length) and (not isinstance(length, (int, float)) or int(length) < 1):
            raise CheckFailed([("length", "length must be at least 1")])
        return news

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        return property_diff(olds, news, ("length", "keepers"), force_new=lambda _: True)

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        raw = secrets.token_bytes(int(inputs["length"]))
        encoded = base64.b64encode(raw).decode()
        outputs: dict[str, Any] = {**inputs, "base64": encoded, "hex": raw.hex()}
        # R11: upstream's id is the base64 value itself, in plain text (which is why the program uses none).
        return encoded, outputs


TYPES = (RandomPassword(), RandomBytes())
