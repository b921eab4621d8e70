"""The real engine driving the doubles: what the engine decides around a provider (E*, P* and secret rows)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_command as command
import pulumi_docker as docker
import pulumi_random as random
import pytest
from pulumi import automation as auto

from deploy import secret_sig as sig
from deploy.plugins import pinned_versions
from deploy.stack import DeployError, Engine, Stack, project_dir

pytestmark = [pytest.mark.engine, pytest.mark.docker]


@pytest.fixture()
def engine(deploy_engine: Engine) -> Engine:
    return deploy_engine


def stack_of(engine: Engine, tmp_path: Path, name: str, program: Callable[[], None]) -> Stack:
    return engine.stack(name, work_dir=project_dir(tmp_path / f"project-{name}"), program=program,
                        on_output=lambda _: None, with_policy=False)


def step_order(events: list[auto.EngineEvent]) -> list[tuple[str, str]]:
    """(op, resource name) of each finished step, in the engine's order."""
    return [(e.res_outputs_event.metadata.op, e.res_outputs_event.metadata.urn.split("::")[-1])
            for e in events if e.res_outputs_event is not None]


def containers_named(prefix: str) -> list[str]:
    return subprocess.run(["docker", "ps", "-aq", "--filter", f"name={prefix}"], capture_output=True, text=True,
                          check=True).stdout.split()


def test_plugins_are_the_doubles_here_and_a_real_one_would_win(engine: Engine) -> None:
    by_package = {c.package: c for c in engine.choices}
    assert set(by_package) == {"docker", "random", "command"}
    for choice in by_package.values():
        assert choice.real or choice.where.endswith(f"pulumi-resource-{choice.package}")


@pytest.mark.parametrize("create_before_delete", [True, False])
def test_e1_program_option_decides_the_replacement_order(engine: Engine, tmp_path: Path, tiny_image: str,
                                                         create_before_delete: bool) -> None:
    image = {"tag": "1"}

    def program() -> None:
        docker.Container("app", image=tiny_image, command=["sleep", "3600"], labels=[
            docker.ContainerLabelArgs(label="v", value=image["tag"])],
            opts=pulumi.ResourceOptions(delete_before_replace=False) if create_before_delete else None)

    stack = stack_of(engine, tmp_path, f"order-{create_before_delete}", program)
    try:
        stack.up()
        image["tag"] = "2"  # labels are ForceNew (C14)
        stack.up()
        steps = [s for s in step_order(stack.events) if s[1] == "app"]
        ops = [op for op, _ in steps]
        # The provider asks delete-before-replace (E3); an explicit False is honoured (E1).
        expected = ["create-replacement", "delete-replaced"] if create_before_delete else \
            ["delete-replaced", "create-replacement"]
        assert [op for op in ops if op in expected] == expected, ops
    finally:
        stack.destroy()


def test_p3_a_container_recorded_with_init_errors_is_replaced_with_the_initerror_key(
        engine: Engine, tmp_path: Path, tiny_image: str) -> None:
    marker = tmp_path / "healthy"
    tmp_path.chmod(0o755)

    def program() -> None:
        docker.Container("app", image=tiny_image, command=["sleep", "3600"],
                         volumes=[docker.ContainerVolumeArgs(host_path=str(tmp_path), container_path="/m")],
                         healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "test", "-f", "/m/healthy"],
                                                                     interval="1s", retries=1),
                         wait=True, wait_timeout=3, memory=64, memory_swap=64,
                         opts=pulumi.ResourceOptions(replace_on_changes=["#initerror"]))

    stack = stack_of(engine, tmp_path, "initerror", program)
    try:
        with pytest.raises(DeployError, match="healthy"):
            stack.up()
        recorded = [r for r in stack.resources() if r["type"] == "docker:index/container:Container"]
        assert len(recorded) == 1 and recorded[0].get("initErrors")  # P2: kept, with its init errors
        first_id = recorded[0]["id"]
        marker.touch()  # the cause is fixed
        stack.up()
        after = [r for r in stack.resources() if r["type"] == "docker:index/container:Container"]
        assert after[0]["id"] != first_id and not after[0].get("initErrors")  # replaced, not silently accepted
        assert subprocess.run(["docker", "inspect", first_id], capture_output=True).returncode != 0
    finally:
        stack.destroy()


def test_secrets_never_in_plain_text_in_the_stored_state(engine: Engine, tmp_path: Path, tiny_image: str) -> None:
    def program() -> None:
        password = random.RandomPassword("pw", length=32, special=False)
        docker.Container("app", image=tiny_image, command=["sleep", "3600"], memory=64, memory_swap=64,
                         envs=["PLAIN=1", password.result.apply(lambda v: f"SECRET={v}")])
        command.local.Command("cmd", create="true", environment={"PLAIN": "1", "SECRET": password.result})
        pulumi.export("password", password.result)

    stack = stack_of(engine, tmp_path, "secrets", program)
    try:
        stack.up()
        value = stack.outputs()["password"]
        assert len(value) == 32
        stored = json.dumps(stack.export())  # `pulumi stack export`: what the backend keeps
        assert value not in stored
        container = [r for r in stack.resources() if r["type"] == "docker:index/container:Container"][0]
        assert sig.KEY in json.dumps(container["outputs"]["envs"])  # S1, S3: secret
        cmd = [r for r in stack.resources() if r["type"] == "command:local:Command"][0]
        assert sig.KEY in json.dumps(cmd["outputs"]["environment"])  # K11, S4
    finally:
        stack.destroy()


def test_a_stack_on_default_providers_moves_to_declared_ones_without_touching_a_resource(
        engine: Engine, tmp_path: Path) -> None:
    """Stacks deployed before __main__.py declared its command and random providers: the first `up` after it
    creates the declared providers and drops the default ones; the engine diffs the new provider's config against
    the old (pulumi pkg/resource/deploy/step_generator.go, providerChanged), no replacement, so every resource is
    the same: no secret made again, no step run again."""
    marker = tmp_path / "runs.txt"

    def program(declared: bool) -> Callable[[], None]:
        def run() -> None:
            opts = pulumi.ResourceOptions(providers=[command.Provider("command"), random.Provider("random")]) \
                if declared else None
            password = random.RandomPassword("secret", length=24, special=False, opts=opts)
            step = command.local.Command("step", create=f"echo ran >> {marker}", opts=opts)
            pulumi.export("password", password.result)
            pulumi.export("step", step.id)
        return run

    before = stack_of(engine, tmp_path, "moves", program(False))
    before.up()
    password = before.outputs()["password"]
    after = stack_of(engine, tmp_path, "moves", program(True))
    after.up()
    done = step_order(after.events)
    assert ("same", "secret") in done and ("same", "step") in done, done
    assert {name for op, name in done if op != "same"} == {
        "command", "random", *(f"default_{pinned_versions()[package].replace('.', '_')}"
                               for package in ("command", "random"))}, done
    assert after.outputs()["password"] == password
    assert marker.read_text().splitlines() == ["ran"]
    after.preview(expect_no_changes=True)
