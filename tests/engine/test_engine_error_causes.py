"""A failed run names its cause first (deploy/engine_errors.py), on the real engine's events: the refused
resource under its own name, the engine's shutdown after it."""

from __future__ import annotations

import pulumi
import pytest
from pulumi import automation as auto

from deploy import engine_errors
from tests.engine.failing_providers import REFUSAL, Guard, Step
from tests.engine.lite import Engine


def _program() -> None:
    key = pulumi.Config().get("key") or "ok"
    chains = [Step(f"chain-{c}-0", 0) for c in range(4)]
    for depth in range(1, 4):
        if depth == 2:
            Guard("guard", key)
        chains = [Step(f"chain-{c}-{depth}", depth, pulumi.ResourceOptions(depends_on=[previous]))
                  for c, previous in enumerate(chains)]


def test_a_refusal_on_a_deployed_stack_comes_first(engine: Engine) -> None:
    stack = engine.stack("causes", _program)
    stack.stack.up()
    stack.stack.set_config("key", auto.ConfigValue("refuse"))
    events: list[auto.EngineEvent] = []
    with pytest.raises(auto.errors.CommandError) as failed:
        stack.stack.up(on_event=events.append)
    said = engine_errors.message(events, str(failed.value)).splitlines()
    assert said[0] == (f"pulumi-python:dynamic:Resource (guard): pulumi-python:dynamic:Resource resource 'guard': "
                       f"property key value {{refuse}} has a problem: {REFUSAL}"), said
    # What follows is the engine stopping, one line each.
    assert all(engine_errors.CONSEQUENCES[-1] in line.lower() for line in said[1:]), said
