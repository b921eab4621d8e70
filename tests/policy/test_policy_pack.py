"""The pack as a whole: metadata, config files, layout, import hygiene, and the analyzer server itself."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from policies import PACK_NAME, POLICIES, policy
from policy_helpers import (
    POLICY_DIR,
    ROOT,
    UNKNOWN_STR,
    engine_config,
    make_app,
    make_proxy,
    make_stack,
    pack_config,
    set_env,
)
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, Severity

from deploy import secret_sig as sig

ENVIRONMENTS = ("dev", "staging", "prod")
VERBS = {"disallow", "drop", "restrict", "limit", "require", "bind", "bound", "use", "declare", "disable",
         "mark", "publish", "enforce", "share"}


# --- metadata ----------------------------------------------------------------------------------------


def test_names_are_unique_kebab_case_with_a_verb():
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", name), name
        assert VERBS & set(name.split("-")), name


def test_every_policy_has_severity_steps_and_a_one_sentence_description():
    for pol in POLICIES:
        assert isinstance(pol.severity, Severity), pol.name
        assert pol.remediation_steps, pol.name
        assert pol.description.endswith("."), pol.name
        assert pol.description.count(". ") == 0, f"{pol.name}: one sentence only"


def test_docker_container_policies_cite_cis_ids():
    for pol in POLICIES:
        if pol.name.startswith("docker-container-"):
            assert re.match(r"CIS Docker [45]\.\d+", pol.description), pol.name


def test_enforcement_levels():
    levels = {p.name: p.enforcement_level for p in POLICIES}
    assert levels.pop("docker-container-limit-processes") is EnforcementLevel.ADVISORY
    assert levels.pop("openwebui-mark-secret-envs-as-secrets") is EnforcementLevel.REMEDIATE
    # Everything else inherits the pack's MANDATORY default from __main__.py.
    assert set(levels.values()) == {None}
    assert "EnforcementLevel.MANDATORY" in (POLICY_DIR / "__main__.py").read_text()


def test_issue_minimum_policy_set_is_present():
    names = {p.name for p in POLICIES}
    cis = {"disallow-root-user", "drop-all-capabilities", "disallow-privileged", "disallow-host-network",
           "disallow-host-pid", "disallow-host-ipc", "disallow-host-userns", "disallow-docker-socket",
           "disallow-sensitive-host-mounts", "limit-memory", "limit-cpu", "require-read-only-rootfs",
           "bind-ports-to-allowed-ips", "bound-restart-policy", "disallow-unconfined-profiles",
           "require-no-new-privileges", "require-healthcheck", "use-user-defined-network",
           "disallow-shared-mount-propagation", "disallow-cgroup-parent"}
    assert {f"docker-container-{n}" for n in cis} <= names
    assert {"docker-image-require-pinned-tag", "openwebui-disable-signup", "openwebui-enforce-https-end-to-end",
            "openwebui-publish-ports-only-on-proxy", "openwebui-share-secret-key-and-database",
            "openwebui-require-strong-secrets", "openwebui-mark-secret-envs-as-secrets"} <= names


# --- config files ------------------------------------------------------------------------------------


def _type_ok(value: Any, spec: dict[str, Any]) -> bool:
    kind = spec["type"]
    if kind == "array":
        return isinstance(value, list) and all(_type_ok(item, spec["items"]) for item in value)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str) and re.search(spec.get("pattern", ""), value) is not None
    raise AssertionError(f"schema type {kind} not handled")


def test_schema_defaults_have_their_declared_types():
    for pol in POLICIES:
        for key, spec in (pol.config_schema.properties if pol.config_schema else {}).items():
            assert _type_ok(spec["default"], spec), f"{pol.name}.{key}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_config_file_matches_the_schemas(environment):
    data = json.loads((POLICY_DIR / "config" / f"{environment}.json").read_text())
    for name, entry in data.items():
        pol = policy(name)  # KeyError: a typo in a policy name would silently configure nothing
        assert isinstance(entry, dict) and pol.config_schema is not None, name
        for key, value in entry.items():
            if key == "enforcementLevel":
                assert value in {level.value for level in EnforcementLevel}
                continue
            assert key in pol.config_schema.properties, f"{name}.{key}"
            assert _type_ok(value, pol.config_schema.properties[key]), f"{name}.{key}"


def test_every_configurable_policy_is_configured_in_every_file():
    configurable = {p.name: set(p.config_schema.properties) for p in POLICIES if p.config_schema}
    for environment in ENVIRONMENTS:
        data = json.loads((POLICY_DIR / "config" / f"{environment}.json").read_text())
        assert {name: set(entry) for name, entry in data.items()} == configurable, environment


def test_only_dev_floats_tags_and_prod_binds_the_stack_ip():
    floating = {env: pack_config(env, "docker-image-require-pinned-tag")["allowFloatingTags"] for env in ENVIRONMENTS}
    assert floating == {"dev": True, "staging": False, "prod": False}
    stack_file = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    bind_ip = stack_file["config"]["openwebui:proxy"]["bindIp"]
    assert pack_config("prod", "docker-container-bind-ports-to-allowed-ips")["allowedHostIps"] == [bind_ip]


# --- layout ------------------------------------------------------------------------------------------


def test_pulumi_policy_yaml_runs_python_from_the_project_venv():
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    venv = (POLICY_DIR / project["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == (ROOT / "venv").resolve()
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])


def test_pack_requirements_use_the_project_pins():
    def pins(path):
        return {line.split("==")[0].strip().lower(): line.split("==")[1].strip()
                for line in path.read_text().splitlines() if "==" in line and not line.startswith("#")}

    pack, project = pins(POLICY_DIR / "requirements.txt"), pins(ROOT / "requirements.txt")
    assert pack and all(project.get(name) == version for name, version in pack.items())


def test_policies_module_imports_without_starting_the_pack():
    """Importing policies must not construct PolicyPack (which serves gRPC and blocks) or print anything."""
    code = (
        "import pulumi_policy\n"
        "def refuse(*a, **k): raise SystemExit('PolicyPack constructed on import')\n"
        "pulumi_policy.PolicyPack.__init__ = refuse\n"
        "import policies\n"
        "assert len(policies.POLICIES) > 30\n"
    )
    # The pack's directory on the path as the engine has it (policy/__main__.py runs from there).
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(POLICY_DIR)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_main_only_assembles_the_pack():
    source = (POLICY_DIR / "__main__.py").read_text()
    assert "PolicyPack(" in source and "def " not in source and "validate" not in source


# --- the analyzer server, spoken to like the engine does ---------------------------------------------


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """policy/__main__.py started as the engine starts it; its first stdout line is the gRPC port."""
    # The engine starts plugins in the project directory, not the pack directory.
    process = subprocess.Popen([sys.executable, str(POLICY_DIR / "__main__.py")], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=120):
            raise AssertionError("the pack printed no port")
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def configure(stub: analyzer_pb2_grpc.AnalyzerStub, environment: str) -> None:
    """What the engine sends: every policy's level from the pack plus schema defaults overlaid with the file."""
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for pol in info.policies:
        config = request.policyConfig[pol.name]
        config.enforcementLevel = pol.enforcementLevel
        config.properties.CopyFrom(_struct(engine_config(pack_config(environment, pol.name)) or {}))
    stub.Configure(request)


def analyze(stub, props: dict[str, Any], name: str = "webui-app-0") -> list[analyzer_pb2.AnalyzeDiagnostic]:
    request = analyzer_pb2.AnalyzeRequest(type="docker:index/container:Container", properties=_struct(props),
                                          urn=f"urn:pulumi:prod::openwebui::docker:index/container:Container::{name}",
                                          name=name)
    return list(stub.Analyze(request).diagnostics)


def test_server_lists_every_policy_with_its_level(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME
    listed = {p.name: p for p in info.policies}
    assert set(listed) == {p.name for p in POLICIES}
    assert listed["docker-container-disallow-privileged"].enforcementLevel == analyzer_pb2.MANDATORY
    assert listed["docker-container-limit-processes"].enforcementLevel == analyzer_pb2.ADVISORY
    assert listed["openwebui-require-redis-for-scale-out"].policy_type == analyzer_pb2.POLICY_TYPE_STACK
    assert "allowFloatingTags" in listed["docker-image-require-pinned-tag"].configSchema.properties


def test_server_passes_the_good_app_and_fails_a_bad_one(analyzer):
    configure(analyzer, "prod")
    assert [d.policyName for d in analyze(analyzer, make_app("prod"))] == []
    bad = make_app("prod")
    bad.update(user="0:0", privileged=True)
    found = {d.policyName: d for d in analyze(analyzer, bad)}
    assert set(found) == {"docker-container-disallow-root-user", "docker-container-disallow-privileged"}
    assert all(d.enforcementLevel == analyzer_pb2.MANDATORY for d in found.values())


def test_server_judges_known_values_next_to_unknown_secrets(analyzer):
    """Through the real handler, an unknown secret item must neither skip the policy nor cause a violation."""
    configure(analyzer, "prod")
    props = set_env(make_app("prod"), "ENABLE_SIGNUP", "true")
    props["envs"] = [UNKNOWN_STR if isinstance(item, dict) else item for item in props["envs"]]
    diagnostics = analyze(analyzer, props)
    assert [d.policyName for d in diagnostics] == ["openwebui-disable-signup"]
    assert "can't run policy" not in diagnostics[0].message


def test_server_config_file_changes_the_outcome(analyzer):
    floating = make_proxy("dev")
    floating["labels"] = [item if item["label"] != "openwebui.image" else {**item, "value": "nginx:latest"}
                          for item in floating["labels"]]
    configure(analyzer, "dev")
    assert [d.policyName for d in analyze(analyzer, floating, "proxy-nginx")] == []
    configure(analyzer, "staging")
    names = [d.policyName for d in analyze(analyzer, floating, "proxy-nginx")]
    assert "docker-image-require-pinned-tag" in names


def test_server_analyzes_the_stack(analyzer):
    configure(analyzer, "prod")
    stack = make_stack("prod")
    stack[2][2]["ports"] = [{"internal": 8080, "external": 3000, "ip": "203.0.113.10"}]

    def resource(typ: str, name: str, props: dict[str, Any]) -> analyzer_pb2.AnalyzerResource:
        return analyzer_pb2.AnalyzerResource(type=typ, properties=_struct(props), name=name,
                                             urn=f"urn:pulumi:prod::openwebui::{typ}::{name}")

    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(
        resources=[resource(*item) for item in stack]))
    assert [(d.policyName, d.urn.rsplit("::", 1)[1]) for d in response.diagnostics] == [
        ("openwebui-publish-ports-only-on-proxy", "webui-app-0")]


def test_server_remediation_marks_plain_credentials_secret(analyzer):
    configure(analyzer, "prod")
    props = set_env(make_app("prod"), "WEBUI_SECRET_KEY", "k" * 10 + "Z" * 30 + "q" * 24)
    request = analyzer_pb2.AnalyzeRequest(type="docker:index/container:Container", properties=_struct(props),
                                          urn="urn:pulumi:prod::openwebui::docker:index/container:Container::a",
                                          name="a")
    remediations = list(analyzer.Remediate(request).remediations)
    assert [r.policyName for r in remediations] == ["openwebui-mark-secret-envs-as-secrets"]
    envs = remediations[0].properties["envs"]
    marked = [item for item in envs if isinstance(item, struct_pb2.Struct)
              and item[sig.KEY] == sig.SECRET]
    assert any(str(item["value"]).startswith("WEBUI_SECRET_KEY=") for item in marked)
    # Items that were secrets already stay secrets (same count as in the program); plain settings stay plain.
    assert len(marked) == sum(1 for item in make_app("prod")["envs"] if isinstance(item, dict))
    assert "ENABLE_SIGNUP=false" in list(envs)


def test_readme_lists_every_policy_with_its_level():
    readme = (POLICY_DIR / "README.md").read_text()
    for pol in POLICIES:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{pol.name}` |")), None)
        assert row is not None, pol.name
        level = pol.enforcement_level.value if pol.enforcement_level else "mandatory"
        assert f"| {level} |" in row and f"| {pol.severity.value} |" in row, pol.name
