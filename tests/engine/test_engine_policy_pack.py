"""The policy pack under the real engine: started as an executable analyzer (policy/run-pack) by `pulumi preview`.

The pack's policies look at docker containers and images. Where the docker, random and command plugins cannot be
had, those resources reach the engine through the contract doubles (plugins/, docs/provider-contract.md), whose
Check fills pulumi-docker's schema defaults as the real one does. Real: the CLI and engine, the plan, the pack
process, its config handling (`--policy-pack-config`, reconciled against the policies' schemas by the engine), how
violations are enforced and reported, and the program (ours, unchanged).
"""

from __future__ import annotations

import runpy

import pulumi_docker as docker
import pytest
import yaml
from pulumi import automation as auto

from components.providers.selfsigned import SelfSignedCertificate
from tests.conftest import stack_secrets
from tests.engine.lite import ROOT, Engine, LiteStack, loaded_packs, policy_violations

pytestmark = pytest.mark.engine

RUN_PACK = ROOT / "policy" / "run-pack"
PACK_NAME = "openwebui-security"
IMAGE_ID = "sha256:" + "ab" * 32  # what RemoteImage.imageId hands a container: content-addressed


def pack_config(stack: str) -> str:
    return str(ROOT / "policy" / "config" / f"{stack}.json")


def preview(stack: LiteStack, config: str) -> tuple[auto.PreviewResult | None, str, list[auto.EngineEvent]]:
    """Preview with the pack; returns (result or None when the preview failed, everything printed, events)."""
    events: list[auto.EngineEvent] = []
    try:
        result = stack.stack.preview(policy_packs=[str(RUN_PACK)], policy_pack_configs=[config],
                                     on_event=events.append, on_output=stack.collect)
    except auto.errors.CommandError as exc:
        return None, stack.take_output() + str(exc), events
    return result, stack.take_output(), events


def by_policy(events: list[auto.EngineEvent]) -> dict[str, set[str]]:
    """policy name -> enforcement levels it was reported with."""
    found: dict[str, set[str]] = {}
    for violation in policy_violations(events):
        found.setdefault(violation.policy_name, set()).add(violation.enforcement_level)
    return found


def test_run_pack_is_loaded_by_the_engine_with_its_version(engine: Engine) -> None:
    def program() -> None:
        SelfSignedCertificate("tls", hostname="chat.example.com", validity_days=30)

    stack = engine.stack("pack-loads", program)
    result, said, events = preview(stack, pack_config("dev"))
    assert result is not None, said
    version = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())["version"]
    assert loaded_packs(events) == {f"{PACK_NAME}|local|{RUN_PACK}": version}
    assert f"{PACK_NAME}@v{version}" in said
    assert policy_violations(events) == []  # no policy looks at dynamic resources


def test_pack_config_decides_whether_a_floating_tag_passes(engine_with_doubles: Engine) -> None:
    def program() -> None:
        docker.RemoteImage("web-image", name="nginx:latest", keep_locally=True)

    stack = engine_with_doubles.stack("floating-tag", program)
    # dev.json allows floating tags, prod.json does not.
    result, said, events = preview(stack, pack_config("dev"))
    assert result is not None, said
    assert "docker-image-require-pinned-tag" not in by_policy(events)

    result, said, events = preview(stack, pack_config("prod"))
    assert result is None
    assert by_policy(events).get("docker-image-require-pinned-tag") == {"mandatory"}
    assert "docker-image-require-pinned-tag" in said and "nginx:latest" in said


def test_resource_and_stack_policies_fail_a_bad_container(engine_with_doubles: Engine) -> None:
    def program() -> None:
        docker.Container(
            "app", image=IMAGE_ID, privileged=True,
            labels=[docker.ContainerLabelArgs(label="openwebui.role", value="app"),
                    docker.ContainerLabelArgs(label="openwebui.environment", value="dev")],
            ports=[docker.ContainerPortArgs(internal=8080, external=18080, ip="127.0.0.1")],
        )

    stack = engine_with_doubles.stack("bad-container", program)
    result, said, events = preview(stack, pack_config("dev"))
    assert result is None
    found = by_policy(events)
    assert found.get("docker-container-disallow-privileged") == {"mandatory"}  # a resource policy
    assert found.get("openwebui-publish-ports-only-on-proxy") == {"mandatory"}  # a stack policy
    assert "docker-container-disallow-privileged" in said


def real_program() -> None:
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_the_program_previews_clean_for_each_stack_file(engine_with_doubles: Engine, environment: str,
                                                         tls_pair: dict[str, str]) -> None:
    work_dir = engine_with_doubles.work_root / environment
    work_dir.mkdir(parents=True, exist_ok=True)
    # The stack's own settings file, as `stackConfigDir: stacks` would give it to `pulumi up`.
    # Without an `encryptionsalt` a `scripts/up` on this machine may have added: it belongs to that passphrase.
    settings = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{environment}.yaml").read_text())
    settings.pop("encryptionsalt", None)
    (work_dir / f"Pulumi.{environment}.yaml").write_text(yaml.safe_dump(settings))
    stack = engine_with_doubles.stack(environment, real_program)
    values, secret_keys = stack_secrets(environment, tls_pair)
    for key, value in values.items():
        if key in secret_keys:
            stack.set_secret(f"openwebui:{key}", value)
        else:
            stack.stack.set_config(f"openwebui:{key}", auto.ConfigValue(value))

    result, said, events = preview(stack, pack_config(environment))
    assert result is not None, said[-3000:]
    found = by_policy(events)
    assert not [name for name, levels in found.items() if "mandatory" in levels], found
    # The pack did see the program's containers: the nproc substitute is advisory and reports each of them.
    analyzed = {v.resource_urn.rsplit("::", 1)[-1] for v in policy_violations(events)
                if v.policy_name == "docker-container-limit-processes"}
    assert "proxy-nginx" in analyzed and "webui-app-0" in analyzed, analyzed
