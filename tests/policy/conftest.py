"""Fixtures for the policy pack tests: the good containers and stack, mirroring what the program declares."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import make_app, make_proxy, make_redis, make_stack


@pytest.fixture
def good_app() -> dict[str, Any]:
    return make_app("prod")


@pytest.fixture
def good_proxy() -> dict[str, Any]:
    return make_proxy("prod")


@pytest.fixture
def good_redis() -> dict[str, Any]:
    return make_redis("prod")


@pytest.fixture
def prod_stack() -> list[tuple[str, str, dict[str, Any]]]:
    return make_stack("prod")
