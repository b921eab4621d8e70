"""What every container the program declares means under the real docker provider (docs/provider-contract.md):
the options and input forms that make a real `pulumi up` do what we intend, for each stack file."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker
import pytest

from components.docker_forms import canonical, cpus_form
from components.hardening import REPLACE_ON_CHANGES, STOP_GRACE_SECONDS
from tests.conftest import label, run_program, stack_config, stack_secrets

STACKS = ("dev", "staging", "prod")


@pytest.fixture()
def declared_options(monkeypatch: pytest.MonkeyPatch) -> dict[str, pulumi.ResourceOptions]:
    """Resource name -> the options each docker.Container was declared with (the mocks do not see options)."""
    seen: dict[str, pulumi.ResourceOptions] = {}
    original = docker.Container.__init__

    def recording(self: docker.Container, resource_name: str, *args: Any, **kwargs: Any) -> None:
        seen[resource_name] = kwargs.get("opts") or pulumi.ResourceOptions()
        original(self, resource_name, *args, **kwargs)

    monkeypatch.setattr(docker.Container, "__init__", recording)
    return seen


def _program(stack: str, tls_pair: dict[str, str]):
    values = stack_config(stack)
    secrets, secret_keys = stack_secrets(stack, tls_pair)
    return run_program(stack, {**values, **secrets}, secret_keys)


@pytest.mark.parametrize("stack", STACKS)
def test_container_options_under_the_real_provider(stack: str, tls_pair, declared_options) -> None:
    mocks = _program(stack, tls_pair)
    containers = mocks.containers()
    assert containers and set(declared_options) == {c.name for c in containers}
    for container in containers:
        opts = declared_options[container.name]
        # Update never reaches the running container for these (C6, C13) and an init error must not be accepted
        # silently (P3, P4): the program replaces on them.
        assert set(REPLACE_ON_CHANGES) <= set(opts.replace_on_changes or []), container.name
        assert opts.delete_before_replace is not None, f"{container.name}: says nothing, the provider decides"
        role = label(container, "openwebui.role")
        if role == "app":
            # Autonamed, no published port, no fixed address: the new replica is healthy before the old goes.
            assert opts.delete_before_replace is False
            assert "name" not in container.inputs
            assert not container.inputs.get("ports")
            assert all(not n.get("ipv4Address") for n in container.inputs.get("networksAdvanced", []))
        else:
            assert opts.delete_before_replace is True, container.name


@pytest.mark.parametrize("stack", STACKS)
def test_container_inputs_in_the_forms_the_provider_reads_back(stack: str, tls_pair) -> None:
    for container in _program(stack, tls_pair).containers():
        inputs = container.inputs
        health = inputs["healthcheck"]
        for key in ("interval", "timeout", "startPeriod"):
            assert health[key] == canonical(health[key]), (container.name, key, health[key])  # C13
        assert inputs["cpus"] == cpus_form(inputs["cpus"]), container.name  # C11
        # memory_swap is Optional, not Computed: unset it reads back as the daemon's 2x and never settles (C10).
        assert inputs.get("memory") and inputs.get("memorySwap"), container.name
        # The provider stops with destroyGraceSeconds, 0 (a kill) when unset (C32).
        assert inputs["destroyGraceSeconds"] == STOP_GRACE_SECONDS, container.name
        assert inputs.get("wait") is True and inputs.get("mustRun") is True


@pytest.mark.parametrize("stack", STACKS)
def test_no_generated_secret_would_be_a_plain_text_id(stack: str, tls_pair) -> None:
    mocks = _program(stack, tls_pair)
    assert mocks.of_type("random:index/randomBytes:RandomBytes") == []  # R11
    for password in mocks.of_type("random:index/randomPassword:RandomPassword"):
        assert "keepers" not in password.inputs  # keepers are plain state values
