"""Stack policies over constructed stacks: the good ones pass, each class of cross-resource mistake fails."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import stack_policies as sp
from policies import POLICIES, policy
from policy_helpers import (
    CONTAINER,
    UNKNOWN_LIST,
    UNKNOWN_STR,
    fake_secret,
    make_stack,
    pack_config,
    secret,
    set_env,
    stack_violations,
    urn_of,
)
from pulumi_policy import StackValidationPolicy

STACK_POLICIES = [p for p in POLICIES if isinstance(p, StackValidationPolicy)]
Stack = list[tuple[str, str, dict[str, Any]]]


def run(policy_name: str, stack: Stack, environment: str = "prod",
        config: dict | None = None) -> list[tuple[str, str | None]]:
    merged = {**pack_config(environment, policy_name), **(config or {})}
    return stack_violations(policy(policy_name).validate, stack, merged)


def edit(stack: Stack, name: str, change) -> Stack:
    """A copy of ``stack`` with resource ``name``'s props replaced by ``change(props)``."""
    stack = copy.deepcopy(stack)
    return [(typ, n, change(props) if n == name else props) for typ, n, props in stack]


def without(stack: Stack, name: str) -> Stack:
    return [item for item in copy.deepcopy(stack) if item[1] != name]


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("pol", STACK_POLICIES, ids=lambda p: p.name)
def test_good_stacks_pass(pol, environment):
    assert run(pol.name, make_stack(environment), environment) == []


# --- only the proxy publishes ports ------------------------------------------------------------------


def test_app_publishing_a_port_is_named(prod_stack):
    def publish(props):
        props["ports"] = [{"internal": 8080, "external": 3000, "ip": "127.0.0.1"}]
        return props

    found = run("openwebui-publish-ports-only-on-proxy", edit(prod_stack, "webui-app-1", publish))
    assert [urn for _, urn in found] == [urn_of(CONTAINER, "webui-app-1")]


def test_publish_all_ports_on_redis(prod_stack):
    found = run("openwebui-publish-ports-only-on-proxy",
                edit(prod_stack, "redis-server", lambda p: {**p, "publishAllPorts": True}))
    assert len(found) == 1


def test_unknown_ports_not_judged(prod_stack):
    assert run("openwebui-publish-ports-only-on-proxy",
               edit(prod_stack, "webui-app-0", lambda p: {**p, "ports": UNKNOWN_LIST})) == []


# --- HTTPS end to end --------------------------------------------------------------------------------


def test_no_proxy_means_no_tls(prod_stack):
    found = run("openwebui-enforce-https-end-to-end", without(prod_stack, "proxy-nginx"))
    assert len(found) == 1 and "no proxy" in found[0][0]


def test_proxy_must_publish_its_tls_port(prod_stack):
    def http_only(props):
        props["ports"] = [port for port in props["ports"] if port["internal"] != 8443]
        return props

    found = run("openwebui-enforce-https-end-to-end", edit(prod_stack, "proxy-nginx", http_only))
    assert any("TLS port 8443" in message for message, _ in found)


def test_webui_url_port_must_match_published_tls_port(prod_stack):
    moved = edit(prod_stack, "webui-app-0", lambda p: set_env(p, "WEBUI_URL", "https://chat.example.com:8443"))
    found = run("openwebui-enforce-https-end-to-end", moved)
    assert any("port 8443" in message for message, _ in found)
    # Behind another load balancer the ports legitimately differ: config turns the check off,
    # but the two apps still disagree on WEBUI_URL.
    found = run("openwebui-enforce-https-end-to-end", moved, config={"requirePublicPortMatch": False})
    assert [message for message, _ in found if "disagree" in message]
    assert not [message for message, _ in found if "port 8443" in message]


def test_cors_origin_must_equal_public_origin(prod_stack):
    other = edit(prod_stack, "webui-app-1", lambda p: set_env(p, "CORS_ALLOW_ORIGIN", "https://evil.example.net"))
    found = run("openwebui-enforce-https-end-to-end", other)
    assert [urn for _, urn in found] == [urn_of(CONTAINER, "webui-app-1")]
    same = edit(prod_stack, "webui-app-1", lambda p: set_env(p, "CORS_ALLOW_ORIGIN", "https://CHAT.example.com:443/"))
    assert run("openwebui-enforce-https-end-to-end", same) == []


def test_https_check_uses_configured_tls_port(prod_stack):
    assert run("openwebui-enforce-https-end-to-end", prod_stack, config={"proxyHttpsPort": 9443})


def test_https_unknown_proxy_ports_not_judged(prod_stack):
    stack = edit(prod_stack, "proxy-nginx", lambda p: {**p, "ports": UNKNOWN_LIST})
    assert run("openwebui-enforce-https-end-to-end", stack) == []


# --- one secret key, one database --------------------------------------------------------------------


def replace_secret(props: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    props = set_env(props, key, None)
    props["envs"].append(secret(f"{key}={value}"))
    return props


@pytest.mark.parametrize("key", ["WEBUI_SECRET_KEY", "DATABASE_URL"])
def test_apps_must_share_key_and_database(prod_stack, key):
    value = fake_secret("other", 64) if key == "WEBUI_SECRET_KEY" else "mysql+pymysql://u:x@other/db"
    found = run("openwebui-share-secret-key-and-database",
                edit(prod_stack, "webui-app-1", lambda p: replace_secret(p, key, value)))
    assert len(found) == 1 and key in found[0][0]
    assert value not in found[0][0]


def test_app_missing_secret_key_is_named(prod_stack):
    found = run("openwebui-share-secret-key-and-database",
                edit(prod_stack, "webui-app-0", lambda p: set_env(p, "WEBUI_SECRET_KEY", None)))
    assert [urn for _, urn in found] == [urn_of(CONTAINER, "webui-app-0")]


def test_unknown_secrets_not_judged(prod_stack):
    def hide(props):
        props["envs"] = [UNKNOWN_STR if isinstance(item, dict) else item for item in props["envs"]]
        return props

    assert run("openwebui-share-secret-key-and-database", edit(prod_stack, "webui-app-1", hide)) == []


# --- Redis for more than one process -----------------------------------------------------------------


def test_two_apps_without_redis(prod_stack):
    stack = without(prod_stack, "redis-server")
    assert any("no Redis container" in message for message, _ in run("openwebui-require-redis-for-scale-out", stack))
    assert run("openwebui-require-redis-for-scale-out", stack, config={"allowExternalRedis": True}) == []


def test_two_apps_need_websocket_manager_and_redis_url(prod_stack):
    stack = edit(prod_stack, "webui-app-1", lambda p: set_env(p, "WEBSOCKET_MANAGER", None))
    assert [urn for _, urn in run("openwebui-require-redis-for-scale-out", stack)] == [urn_of(CONTAINER, "webui-app-1")]
    stack = edit(prod_stack, "webui-app-0", lambda p: set_env(p, "REDIS_URL", None))
    assert [urn for _, urn in run("openwebui-require-redis-for-scale-out", stack)] == [urn_of(CONTAINER, "webui-app-0")]


def test_workers_above_one_need_redis():
    stack = make_stack("staging")  # one app, no Redis
    assert run("openwebui-require-redis-for-scale-out", stack, "staging") == []
    busy = edit(stack, "webui-app-0", lambda p: set_env(p, "UVICORN_WORKERS", "4"))
    found = run("openwebui-require-redis-for-scale-out", busy, "staging")
    assert found and all("UVICORN_WORKERS" in message for message, _ in found)


def test_stack_containers_skip_other_types(prod_stack):
    assert len(sp.stack_containers(__import__("policy_helpers").stack_args(prod_stack).resources)) == 4
