"""The Open WebUI policy pack's policies: importable without starting the pack.

``__main__.py`` hands :data:`POLICIES` to ``PolicyPack``; tests import the validators from here (or their
modules) and call them with hand-built ``ResourceValidationArgs`` / ``StackValidationArgs``.
"""

from __future__ import annotations

from typing import Final

from container_policies import CONTAINER_POLICIES
from openwebui_policies import OPENWEBUI_POLICIES
from pulumi_policy import Policy
from service_policies import SERVICE_POLICIES
from stack_policies import STACK_POLICIES

PACK_NAME: Final = "openwebui-security"

POLICIES: Final[list[Policy]] = [*CONTAINER_POLICIES, *SERVICE_POLICIES, *OPENWEBUI_POLICIES, *STACK_POLICIES]


def policy(name: str) -> Policy:
    """The policy called ``name`` (KeyError when there is none)."""
    for candidate in POLICIES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
