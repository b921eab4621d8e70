"""The swarm service policies: the program's own services (prod on a swarm, under the shared mocks) pass every
mandatory policy, and each service rule refuses what it is about."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import service_policies as sp
from policy_helpers import pack_config, resource_args, violations

from tests.conftest import RecordingMocks, run_program, stack_config, stack_secrets
from tests.mocks import OBJECT_STORE_SECRET, object_store_config
from tests.policy.analyzer import mandatory_violations

SERVICE = sp.SERVICE
MODE_POLICY = "docker-service-restrict-secret-file-mode"
ROLLOUT_POLICY = "docker-service-require-start-first-updates"


def declared(environment: str, tls_pair: dict[str, str], **overrides: Any) -> RecordingMocks:
    """The program on a swarm; prod (2 replicas) with its uploads in an S3 store, as it must."""
    secrets, secret_keys = stack_secrets(environment, tls_pair)
    store, store_keys = object_store_config() if environment == "prod" else ({}, ())
    values = {**stack_config(environment), **secrets, **store, "target": "swarm", **overrides}
    values["backup"] = {**values.get("backup", {}), "enabled": False}
    return run_program(environment, values, secret_keys + store_keys)


def services(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    found = {}
    for resource in mocks.of_type(SERVICE):
        labels = {item["label"]: item["value"] for item in resource.inputs.get("labels", [])}
        found[labels["openwebui.role"]] = resource.inputs
    return found


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_programs_services_pass_every_mandatory_policy(environment: str, tls_pair: dict[str, str]) -> None:
    mocks = declared(environment, tls_pair)
    assert set(services(mocks)) == ({"app", "proxy", "redis"} if environment == "prod" else {"app", "proxy"})
    assert not mocks.of_type("docker:index/container:Container")
    found = mandatory_violations([(r.typ, r.name, r.inputs) for r in mocks.resources], environment)
    assert found == []


@pytest.fixture()
def app(tls_pair: dict[str, str]) -> dict[str, Any]:
    return services(declared("prod", tls_pair))["app"]


def _with(props: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    props = copy.deepcopy(props)
    *parents, last = path.split(".")
    target = props
    for key in parents:
        target = target.setdefault(key, {})
    if value is None:
        target.pop(last, None)
    else:
        target[last] = value
    return props


@pytest.mark.parametrize("validator,path,value,policy_config", [
    (sp.validate_service_non_root, "taskSpec.containerSpec.user", "0:0", None),
    (sp.validate_service_non_root, "taskSpec.containerSpec.user", None, None),
    (sp.validate_service_read_only, "taskSpec.containerSpec.readOnly", False, None),
    (sp.validate_service_capabilities, "taskSpec.containerSpec.capDrops", ["NET_RAW"], None),
    (sp.validate_service_capabilities, "taskSpec.containerSpec.capAdds", ["SYS_ADMIN"], None),
    (sp.validate_service_limits, "taskSpec.resources.limits.memoryBytes", None, None),
    (sp.validate_service_limits, "taskSpec.resources", None, None),
    (sp.validate_service_restart_policy, "taskSpec.restartPolicy.condition", "any",
     "docker-service-bound-restart-policy"),
    (sp.validate_service_restart_policy, "taskSpec.restartPolicy.maxAttempts", 0,
     "docker-service-bound-restart-policy"),
    (sp.validate_service_healthcheck, "taskSpec.containerSpec.healthcheck", None, None),
    (sp.validate_service_secret_files, "taskSpec.containerSpec.secrets",
     [{"secretId": "s", "fileName": "k", "fileUid": "1000", "fileMode": 0o444}], MODE_POLICY),
    (sp.validate_service_secret_files, "taskSpec.containerSpec.secrets",
     [{"secretId": "s", "fileName": "k", "fileUid": "0", "fileMode": 0o400}], MODE_POLICY),
    (sp.validate_service_rolling_update, "updateConfig.order", "stop-first", ROLLOUT_POLICY),
    (sp.validate_service_rolling_update, "updateConfig.failureAction", "pause",
     "docker-service-require-start-first-updates"),
    (sp.validate_service_rolling_update, "convergeConfig", None, "docker-service-require-start-first-updates"),
    (sp.validate_service_min_replicas, "mode.replicated.replicas", 1, "docker-service-require-min-replicas"),
])
def test_each_rule_refuses_its_case(app: dict[str, Any], validator: Any, path: str, value: Any,
                                    policy_config: str | None) -> None:
    config = pack_config("prod", policy_config) if policy_config else None
    assert violations(validator, app, resource_type=SERVICE, config=config) == []
    assert violations(validator, _with(app, path, value), resource_type=SERVICE, config=config)


@pytest.mark.parametrize("key,value", [
    ("WEBUI_SECRET_KEY", "x" * 40), ("DATABASE_URL", "postgresql://u@db/x"), ("ADMIN_PASSWORD", "y" * 20),
    ("SOME_URL", "redis://:hunter2hunter2@redis:6379/0"),
])
def test_no_secret_in_a_services_env(app: dict[str, Any], key: str, value: str) -> None:
    env = {**app["taskSpec"]["containerSpec"]["env"], key: value}
    assert violations(sp.validate_service_no_secret_in_env, app, resource_type=SERVICE) == []
    found = violations(sp.validate_service_no_secret_in_env,
                       _with(app, "taskSpec.containerSpec.env", env), resource_type=SERVICE)
    assert found and value not in " ".join(found)  # the message never repeats the value


def test_the_apps_secrets_are_file_paths(app: dict[str, Any]) -> None:
    env = app["taskSpec"]["containerSpec"]["env"]
    assert env["WEBUI_SECRET_KEY_FILE"] == "/run/secrets/webui_secret_key" and "WEBUI_SECRET_KEY" not in env
    assert set(env["OWUI_FILE_ENV"].split()) >= {"WEBUI_SECRET_KEY", "DATABASE_URL", "WEBUI_ADMIN_PASSWORD",
                                                  "REDIS_URL", "WEBSOCKET_REDIS_URL"}


def test_min_replicas_is_two_in_prod_only(app: dict[str, Any]) -> None:
    one = _with(app, "mode.replicated.replicas", 1)
    assert violations(sp.validate_service_min_replicas, one, resource_type=SERVICE,
                      config=pack_config("prod", "docker-service-require-min-replicas"))
    assert violations(sp.validate_service_min_replicas, one, resource_type=SERVICE,
                      config=pack_config("dev", "docker-service-require-min-replicas")) == []


def test_one_replica_in_prod_on_a_swarm_is_refused_by_config_first(tls_pair: dict[str, str]) -> None:
    import pulumi

    with pytest.raises(pulumi.RunError, match=r"openwebui:replicas: prod on a swarm runs at least 2 app replicas"):
        declared("prod", tls_pair, replicas=1, redis={"enabled": True})


@pytest.mark.parametrize("key,value,policy_name", [
    ("ENABLE_SIGNUP", "true", "openwebui-disable-signup"),
    ("WEBUI_SESSION_COOKIE_SECURE", "false", "openwebui-require-secure-cookies"),
    ("ENABLE_DB_MIGRATIONS", "true", "openwebui-disable-startup-migrations"),
])
def test_the_open_webui_rules_judge_the_app_service_too(app: dict[str, Any], key: str, value: str,
                                                        policy_name: str) -> None:
    from policies import policy

    bad = _with(app, "taskSpec.containerSpec.env", {**app["taskSpec"]["containerSpec"]["env"], key: value})
    found: list[str] = []
    args_good = resource_args(app, resource_type=SERVICE, config=pack_config("prod", policy_name))
    args_bad = resource_args(bad, resource_type=SERVICE, config=pack_config("prod", policy_name))
    policy(policy_name).validate(args_good, lambda message, urn=None: found.append(message))
    assert found == []
    policy(policy_name).validate(args_bad, lambda message, urn=None: found.append(message))
    assert found


def test_the_apps_uploads_go_to_the_object_store_with_the_key_in_a_secret_file(tls_pair: dict[str, str]) -> None:
    """Open WebUI 0.12.4 reads STORAGE_PROVIDER and S3_* in backend/open_webui/config.py (S3StorageProvider in
    storage/provider.py): the plain ones in the service's environment, the secret access key only as a file."""
    mocks = declared("prod", tls_pair)
    app = services(mocks)["app"]
    env = app["taskSpec"]["containerSpec"]["env"]
    assert {key: env[key] for key in env if key.startswith(("S3_", "STORAGE_"))} == {
        "STORAGE_PROVIDER": "s3", "S3_ENDPOINT_URL": "https://s3.example.com", "S3_BUCKET_NAME": "openwebui-uploads",
        "S3_REGION_NAME": "eu-central-1", "S3_ACCESS_KEY_ID": "AKIAOWUITEST", "S3_ADDRESSING_STYLE": "path",
        "S3_KEY_PREFIX": "prod", "S3_SECRET_ACCESS_KEY_FILE": "/run/secrets/s3_secret_access_key"}
    assert "S3_SECRET_ACCESS_KEY" in env["OWUI_FILE_ENV"].split()
    mounted = {item["fileName"] for item in app["taskSpec"]["containerSpec"]["secrets"]}
    assert "s3_secret_access_key" in mounted
    assert OBJECT_STORE_SECRET not in repr([r.inputs for r in mocks.of_type(SERVICE)])
    # The value is a Docker secret's data (base64), nowhere else in what the program declares.
    secrets = [r for r in mocks.of_type("docker:index/secret:Secret") if r.name.endswith("s3-secret-access-key")]
    assert len(secrets) == 1


SHARED_UPLOADS = "docker-service-require-shared-uploads"


@pytest.mark.parametrize("change,refused", [
    ({}, False),
    ({"STORAGE_PROVIDER": "local"}, True),
    ({"STORAGE_PROVIDER": None}, True),
])
def test_scaled_out_uploads_stay_off_the_node_in_prod(app: dict[str, Any], change: dict[str, Any],
                                                      refused: bool) -> None:
    env = {k: v for k, v in {**app["taskSpec"]["containerSpec"]["env"], **change}.items() if v is not None}
    bad = _with(app, "taskSpec.containerSpec.env", env)
    found = violations(sp.validate_service_shared_uploads, bad, resource_type=SERVICE,
                       config=pack_config("prod", SHARED_UPLOADS))
    assert bool(found) == refused, found
    # One replica, or dev: a node's volume is where the one task is.
    one = _with(bad, "mode.replicated.replicas", 1)
    assert violations(sp.validate_service_shared_uploads, one, resource_type=SERVICE,
                      config=pack_config("prod", SHARED_UPLOADS)) == []
    dev = _with(bad, "labels", [{"label": "openwebui.environment", "value": "dev"},
                                {"label": "openwebui.role", "value": "app"}])
    assert violations(sp.validate_service_shared_uploads, dev, resource_type=SERVICE,
                      config=pack_config("dev", SHARED_UPLOADS)) == []


def test_local_uploads_on_a_scaled_out_prod_swarm_are_refused_by_config_first(tls_pair: dict[str, str]) -> None:
    import pulumi

    secrets, secret_keys = stack_secrets("prod", tls_pair)
    values = {**stack_config("prod"), **secrets, "target": "swarm"}
    with pytest.raises(pulumi.RunError, match=r"openwebui:storage.provider: prod on a swarm with 2 replicas "
                                              r"keeps uploads off the node"):
        run_program("prod", values, secret_keys)


OVERLAY = "docker-network-require-encrypted-overlay"


@pytest.mark.parametrize("environment,options,refused", [
    ("prod", {"encrypted": "true"}, False),
    ("prod", None, True),
    ("prod", {"encrypted": "false"}, True),
    ("staging", {}, True),
    ("dev", None, False),
])
def test_an_overlay_between_nodes_is_encrypted_outside_dev(environment: str, options: dict[str, str] | None,
                                                           refused: bool) -> None:
    props: dict[str, Any] = {"name": "n", "driver": "overlay", **({"options": options} if options is not None else {})}
    found = violations(sp.validate_encrypted_overlay, props, resource_type=sp.NETWORK,
                       config=pack_config(environment, OVERLAY))
    assert bool(found) == refused, found
    bridge = {"name": "n", "driver": "bridge"}
    assert violations(sp.validate_encrypted_overlay, bridge, resource_type=sp.NETWORK,
                      config=pack_config("prod", OVERLAY)) == []


def test_the_programs_overlay_follows_swarm_encrypt_overlay(tls_pair: dict[str, str]) -> None:
    import pulumi

    network = declared("dev", tls_pair).of_type(sp.NETWORK)[0].inputs
    assert network["options"] == {"encrypted": "true"}
    off = declared("dev", tls_pair, swarm={"encryptOverlay": False}).of_type(sp.NETWORK)[0].inputs
    assert not off.get("options") and {"label": "openwebui.overlay-encrypted", "value": "false"} in off["labels"]
    with pytest.raises(pulumi.RunError, match=r"openwebui:swarm.encryptOverlay: prod encrypts the overlay network"):
        declared("prod", tls_pair, swarm={"encryptOverlay": False})


def test_nginx_may_have_its_own_placement(tls_pair: dict[str, str]) -> None:
    """Its ports are published on its node (publish mode host): swarm.proxyPlacementConstraints pins it to the
    nodes the public name points at; the app, Redis and the rest keep swarm.placementConstraints."""
    found = services(declared("dev", tls_pair, swarm={"placementConstraints": ["node.labels.owui == yes"],
                                                      "proxyPlacementConstraints": ["node.role == manager"]}))
    assert found["proxy"]["taskSpec"]["placement"]["constraints"] == ["node.role == manager"]
    assert found["app"]["taskSpec"]["placement"]["constraints"] == ["node.labels.owui == yes"]
    same = services(declared("dev", tls_pair, swarm={"placementConstraints": ["node.labels.owui == yes"]}))
    assert same["proxy"]["taskSpec"]["placement"]["constraints"] == ["node.labels.owui == yes"]
