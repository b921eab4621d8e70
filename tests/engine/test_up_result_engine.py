"""`up` through deploy.Stack reports what the engine reported (deploy/up_result.py), on the real engine: the same
outputs a read of the stack gives, secrets included, without reading the stack back after the update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi import automation as auto

from deploy.stack import Engine, project_dir
from deploy.up_result import SecretOutput

pytestmark = pytest.mark.engine


def _program() -> None:
    version = pulumi.Config().get_int("version") or 1
    pulumi.export("url", "https://owui.example:8443")
    pulumi.export("version", version)
    pulumi.export("containers", ["app-0", "app-1"])
    pulumi.export("adminPassword", pulumi.Output.secret(f"pw-{version}"))
    pulumi.export("nested", {"token": pulumi.Output.secret("deep"), "plain": "p"})


def test_up_reports_the_engines_outputs_and_reads_secrets_only_when_asked(
        deploy_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = deploy_engine.stack("reported", work_dir=project_dir(tmp_path / "project"), program=_program,
                         on_output=lambda _: None, with_policy=False)
    reads: list[str] = []
    real_outputs, real_history = auto.LocalWorkspace.stack_outputs, auto.Stack.history

    def counted_outputs(workspace: auto.LocalWorkspace, name: str) -> Any:
        reads.append("stack output")
        return real_outputs(workspace, name)

    def counted_history(self: auto.Stack, *args: Any, **kwargs: Any) -> Any:
        reads.append("stack history")
        return real_history(self, *args, **kwargs)

    monkeypatch.setattr(auto.LocalWorkspace, "stack_outputs", counted_outputs)
    monkeypatch.setattr(auto.Stack, "history", counted_history)

    first = stack.up()
    assert reads == []  # the update's result came from its events alone
    assert dict(first.changes) == {"create": 1}
    assert first.outputs["url"].value == "https://owui.example:8443"
    assert first.outputs["version"].value == 1 and first.outputs["containers"].value == ["app-0", "app-1"]
    assert isinstance(first.outputs["adminPassword"], SecretOutput)
    assert reads == []
    assert first.outputs["adminPassword"].value == "pw-1"
    assert first.outputs["nested"].secret and first.outputs["nested"].value == {"token": "deep", "plain": "p"}
    assert reads == ["stack output"]  # one read for every secret asked for

    # The same values as a read of the stack afterwards (the SDK's own outputs()).
    read_back = stack.stack.outputs()
    assert {key: value.value for key, value in read_back.items()} == {
        key: value.value for key, value in first.outputs.items()}

    stack.stack.set_config("version", auto.ConfigValue("2"))
    second = stack.up()  # the stack resource is a "same" step whose outputs changed
    assert dict(second.changes) == {"same": 1}
    assert second.outputs["version"].value == 2 and second.outputs["adminPassword"].value == "pw-2"
    # Outside up(), the Stack reads as the SDK's does.
    assert stack.stack.info() is not None and stack.stack.info().result == "succeeded"
