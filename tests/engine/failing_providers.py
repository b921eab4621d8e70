"""Dynamic providers for tests/engine/test_engine_error_causes.py, in a module of their own so that the dynamic
provider process can import them by name (a pickled class is found by its module)."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, Resource, ResourceProvider

REFUSAL = "openwebui:example.key: refused before anything was created"


class _Guard(ResourceProvider):
    """Refuses `key: refuse` at check, as components/providers/database_kind.py refuses a database switch."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure("key", REFUSAL)] if news.get("key") == "refuse" else []
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("guard", props)


class _Step(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"step-{props['n']}", props)


class Guard(Resource):
    def __init__(self, name: str, key: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(_Guard(), name, {"key": key}, opts)


class Step(Resource):
    def __init__(self, name: str, n: int, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(_Step(), name, {"n": n}, opts)
