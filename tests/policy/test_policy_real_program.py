"""The pack against what the real program declares for each stack file (run under the shared mocks).

The recorded inputs are what the engine receives before the docker provider's Check; the policies see
them after Check, which adds schema defaults, so those defaults are added here too (networkMode "bridge"
is the one that matters: it stays set next to networksAdvanced).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from policy_helpers import CONTAINER, make_proxy, make_stack, set_env

from tests.conftest import RecordingMocks, run_program, stack_config, stack_secrets
from tests.policy.analyzer import mandatory_violations as check


def declared(environment: str, tls_pair: dict[str, str], **overrides: Any) -> RecordingMocks:
    secrets, secret_keys = stack_secrets(environment, tls_pair)
    return run_program(environment, {**stack_config(environment), **secrets, **overrides}, secret_keys)


def mandatory_violations(mocks: RecordingMocks, environment: str) -> list[tuple[str, str, str]]:
    return check([(r.typ, r.name, r.inputs) for r in mocks.resources], environment)


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_each_stack_file_passes_every_mandatory_policy(environment, tls_pair):
    mocks = declared(environment, tls_pair)
    assert mocks.containers("app") and mocks.containers("proxy")
    assert mandatory_violations(mocks, environment) == []


def test_prod_declares_redis_and_two_apps(tls_pair):
    mocks = declared("prod", tls_pair)
    assert len(mocks.containers("app")) == 2 and len(mocks.containers("redis")) == 1


@pytest.mark.parametrize("extra_env,policy_name", [
    ({"ENABLE_OAUTH_SIGNUP": "true"}, "openwebui-disable-signup"),
    ({"WEBUI_AUTH": "false"}, "openwebui-disable-signup"),
    ({"ENABLE_LDAP": "true"}, "openwebui-disable-signup"),
])
def test_user_overrides_through_extra_env_are_refused(tls_pair, extra_env, policy_name):
    app = dict(stack_config("dev")["app"])
    app["extraEnv"] = extra_env
    found = mandatory_violations(declared("dev", tls_pair, app=app), "dev")
    assert {p for p, _, _ in found} == {policy_name}


def test_unbounded_jwt_in_prod_is_refused_by_config_then_by_the_pack(tls_pair):
    app = dict(stack_config("prod")["app"])
    app["jwtExpiresIn"] = "4w"
    # The config model says it first, against the key, before anything is declared ...
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError, match=r"openwebui:app\.jwtExpiresIn: '4w' is refused in prod"):
        run_program("prod", {**stack_config("prod"), **stack_secrets("prod", tls_pair)[0], "app": app},
                    stack_secrets("prod", tls_pair)[1], mocks=mocks)
    assert mocks.resources == []
    # ... and the pack still refuses it on a container declared by other means.
    resources = [(typ, name, set_env(props, "JWT_EXPIRES_IN", "4w") if typ == CONTAINER and "app" in name else props)
                 for typ, name, props in make_stack("prod")]
    found = check(resources, "prod")
    assert {p for p, _, _ in found} == {"openwebui-bound-jwt-lifetime"}
    assert len(found) == 2  # both replicas


def test_prod_bind_ip_must_be_listed_in_the_policy_config(tls_pair):
    proxy = dict(stack_config("prod")["proxy"])
    proxy["bindIp"] = "0.0.0.0"
    with pytest.raises(pulumi.RunError, match=r"openwebui:proxy\.bindIp: 0\.0\.0\.0 publishes on every host"):
        declared("prod", tls_pair, proxy=proxy)
    props = make_proxy("prod")
    props["ports"] = [{**port, "ip": "0.0.0.0"} for port in props["ports"]]
    resources = [(typ, name, props if name == "proxy-nginx" else p) for typ, name, p in make_stack("prod")]
    assert {p for p, _, _ in check(resources, "prod")} == {"docker-container-bind-ports-to-allowed-ips"}
