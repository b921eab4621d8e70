"""Property-based fuzzing of the whole stack config surface (issue 12).

For every key of the config model, on each stack file, one value is replaced by a generated one (control
characters anywhere, boundary and overflow numbers, wrong types, empty and very long strings, confusables,
quote mixes, or a plausible variation of the stack's own value) and handed over as the engine does (top-level
values as strings, objects as JSON). Every run must end in exactly one of:

- a rejection (`ConfigError`) whose problems all name real keys, among them the key that was changed, and
  never `(stack)`; a secret's value is never echoed;
- an acceptance, after which the real program declares its resources under the recording mocks without any
  exception, every mandatory policy of the pack passes on them, no container or command environment carries
  a control character, and a free-form value arrives verbatim.

Runs with a fixed seed and a bounded example count; `OWUI_FUZZ_PROFILE=nightly` runs the large profile (see
docs/testing.md, "Config fuzzing"). Examples hypothesis found are kept in test_config_fuzz_regressions.py.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import unicodedata
from typing import Any, Iterator

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.config import (
    OBJECT_KEYS,
    SCALAR_KEYS,
    SECRET_KEYS,
    ConfigError,
    Settings,
    load_settings,
)
from components.config_reference import config_fields
from components.stack_config import raw_values
from tests.conftest import RecordingMocks, run_program, stack_config, stack_secrets, unsecret
from tests.policy.analyzer import mandatory_violations

STACKS = ("dev", "staging", "prod")
NAMESPACE = "openwebui"

# --- profiles --------------------------------------------------------------------------------------------

# The CI profile is derandomized (a fixed seed) and small enough for a couple of minutes on 2 cores; the
# nightly one explores far more. No example database: a failure prints its reproduction, and the work tree
# stays clean.
_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
settings.register_profile("ci", derandomize=True, max_examples=1500, **_COMMON)
settings.register_profile("nightly", derandomize=False, max_examples=20_000, **_COMMON)
PROFILE = os.environ.get("OWUI_FUZZ_PROFILE", "ci")
if PROFILE not in ("ci", "nightly"):
    raise RuntimeError(f"OWUI_FUZZ_PROFILE={PROFILE!r}: use ci or nightly")
CONFIG_EXAMPLES = settings.get_profile(PROFILE).max_examples
# Running the program is ~50x slower than validating, but only the accepted sixth of the examples runs it.
PROGRAM_EXAMPLES = max(100, CONFIG_EXAMPLES // 3)


# --- the config surface ----------------------------------------------------------------------------------


# (dotted key, is an object) for every field, objects included (a whole object can be wrong too).
ALL_KEYS = {key: nested is not None for key, _, nested in config_fields(Settings)}
SURFACE = sorted([*ALL_KEYS, *SECRET_KEYS])
# An unknown key at each level: a typo must be named as typed.
TYPO_KEYS = ("imageTag", "database.pasword", "proxy.http_port", "resources.app.memory", "app.extraenv")

# A plausible valid value for keys no stack file sets and whose default is None.
SAMPLES: dict[str, Any] = {
    "database.host": "db.example.com",
    "database.port": 5432,
    "database.containerHost": "host.docker.internal",
    "database.adminUser": "owui_admin",
    "database.userHost": "172.30.30.0/255.255.255.0",
    "database.sslCaFile": "/etc/ssl/certs/ca-certificates.crt",
    "app.openaiBaseUrl": "https://api.example.com/v1",
    "app.ollamaBaseUrl": "http://ollama.internal:11434",
    "app.extraEnv": {"RAG_TOP_K": "5"},
    "redis.enabled": True,
    "network.name": "openwebui-net",
    "storage.volumeName": "openwebui-volume",
    "backup.copyTo": "/mnt/offsite",
    "backup.enabled": True,
    "adminPassword": "a-long-admin-password-1",
    "backupEncryptionKey": "a-long-backup-passphrase",
    "tlsCertificate": "-----BEGIN CERTIFICATE-----",
    "registry": {"server": "registry.example.com", "username": "acme-deploy"},
    "storage.s3": {"endpointUrl": "https://s3.example.com", "bucket": "openwebui-uploads",
                   "accessKeyId": "AKIAOWUITEST"},
}
# Keys that mean something only together with others: a key under one of these objects is judged on a stack that
# has the rest (uploads in S3 are for a swarm stack with storage.provider s3 and its secret key).
CONTEXT: dict[str, dict[str, Any]] = {
    "storage.s3": {"target": "swarm", "storage.provider": "s3", "s3SecretAccessKey": "s3-secret-key-for-fuzz-0123",
                   "backup.enabled": False},
}


@functools.lru_cache(maxsize=1)
def tls_pair() -> dict[str, str]:
    # Made once: hypothesis forbids function-scoped fixtures, and generating a key per example is slow.
    from components.providers.selfsigned import generate_certificate
    return generate_certificate("chat.example.com", 90)


def base_values(stack: str) -> dict[str, Any]:
    """The stack file plus the secrets it says to set: a config every stack accepts."""
    secrets, _ = stack_secrets(stack, tls_pair())
    # A registry token on every stack, so adding `registry` on dev is judged on its own keys.
    return {**stack_config(stack), "registryPassword": "token-123", **secrets}


def secret_keys(stack: str) -> tuple[str, ...]:
    return stack_secrets(stack, tls_pair())[1] + ("adminPassword", "backupEncryptionKey", "registryPassword",
                                                  "s3SecretAccessKey")


def get_path(values: dict[str, Any], key: str) -> Any:
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@functools.lru_cache(maxsize=None)
def effective_values(stack: str) -> dict[str, Any]:
    """The stack's whole validated config, defaults included, in stack-file spelling."""
    settings_obj, _ = load(stack, base_values(stack))
    return settings_obj.model_dump(by_alias=True, exclude={"stack"})


def current_value(stack: str, key: str) -> Any:
    """The value the stack has for ``key`` (its file, else the model's default, else a sample)."""
    for source in (base_values(stack), effective_values(stack)):
        found = get_path(source, key)
        if found is not None:
            return found
    return SAMPLES.get(key)


ABSENT = object()


def with_value(values: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of ``values`` with ``key`` (dotted) set to ``value``, or removed for ABSENT."""
    values = copy.deepcopy(values)
    *parents, leaf = key.split(".")
    node = values
    for depth, part in enumerate(parents):
        child = node.get(part)
        if not isinstance(child, dict):
            # A stack file that lacks the object gets a complete one, so only ``key`` is wrong.
            child = copy.deepcopy(SAMPLES.get(".".join(parents[:depth + 1])) or {})
            node[part] = child
        node = child
    if value is ABSENT:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return values


def engine_form(values: dict[str, Any]) -> dict[str, str]:
    """What the engine hands the program: every value a string, objects as JSON (allow_nan as YAML does)."""
    return {f"{NAMESPACE}:{key}": value if isinstance(value, str) else json.dumps(value)
            for key, value in values.items()}


# --- generated values ------------------------------------------------------------------------------------

CONTROL = ["\n", "\r", "\t", "\x00", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\u2029",
           "\u200b", "\u200e", "\ufeff", "\r\n"]
CONFUSABLES = {"a": "\u0430", "e": "\u0435", "o": "\u03bf", "i": "\u0456", "c": "\u0441", "p": "\u0440",
               "1": "\uff11", "0": "\u0660", ".": "\u3002", "/": "\u2215", ":": "\uff1a", "-": "\u2010"}
INJECTIONS = ["'", '"', ";", "`", "$(id)", "${X}", "\\", "%", "%%", "--", "' OR '1'='1", "`x`;--",
              "\"; DROP DATABASE x; --", "$", "#", "&", "?", "=", "@", " ", "*", "{", "}", "\u00a0"]
NUMBERS = [0, -1, 1, 2, 15, 16, 63, 64, 65, 255, 256, 1023, 1024, 1025, 65535, 65536, 2**31 - 1, 2**31,
           2**63, -(2**63), 10**30, 0.5, 1.5, -0.0, 1e308, float("inf"), float("-inf"), float("nan")]
NUMERIC_TEXT = ["1", "01", " 1", "1 ", "1\n", "1_0", "1e3", "0x10", "+1", "-1", "\uff11", "\u0663", "1.0",
                "", "NaN", "true"]


def mutations(valid: Any) -> st.SearchStrategy[Any]:
    """Variations of a valid value: the likeliest way a real mistake looks."""
    if isinstance(valid, bool) or valid is None:
        return st.nothing()
    if isinstance(valid, (int, float)):
        return st.sampled_from([valid - 1, valid + 1, -valid, valid * 1000, str(valid),
                                f"{valid}\n", f" {valid}", float(valid) + 0.5])
    if isinstance(valid, dict):
        return st.one_of(
            st.builds(lambda k, v: {**valid, k: v}, st.sampled_from([*valid, "X_Y", "bad key", "A\nB"]),
                      st.one_of(st.sampled_from(CONTROL + INJECTIONS), st.integers(), st.none())),
            st.just({k.lower(): v for k, v in valid.items()}),
        )
    if not isinstance(valid, str) or not valid:
        return st.nothing()
    text = valid

    def insert(piece: str, at: int) -> str:
        at = at % (len(text) + 1)
        return text[:at] + piece + text[at:]

    def confuse(at: int) -> str:
        spots = [i for i, ch in enumerate(text) if ch in CONFUSABLES]
        if not spots:
            return text + "\u0430"
        i = spots[at % len(spots)]
        return text[:i] + CONFUSABLES[text[i]] + text[i + 1:]

    return st.one_of(
        st.builds(lambda c: text + c, st.sampled_from(CONTROL)),
        st.builds(lambda c: c + text, st.sampled_from(CONTROL)),
        st.builds(insert, st.sampled_from(CONTROL + INJECTIONS), st.integers(0, 400)),
        st.builds(confuse, st.integers(0, 50)),
        st.sampled_from([text.upper(), text.lower(), text + " ", " " + text, text * 5, text * 40,
                         text.replace(".", ".."), text.replace("-", "_"), text + "x" * 60,
                         unicodedata.normalize("NFKD", text)]),
    )


def generic_values() -> st.SearchStrategy[Any]:
    """Values of every kind, for any key."""
    return st.one_of(
        st.sampled_from(["", " ", "   ", "\t", "\n", "x" * 64, "x" * 65, "x" * 256, "x" * 10_000, "null",
                         "true", "{}", "[]", "{", "None", "-", "_", ".", "/", "localhost"]),
        st.sampled_from(CONTROL + INJECTIONS + NUMERIC_TEXT),
        st.sampled_from(NUMBERS),
        st.booleans(),
        st.just(None),
        st.sampled_from([[], {}, ["x"], [1, 2], {"a": 1}, {"": ""}, [None]]),
        st.text(min_size=0, max_size=40),
        st.text(alphabet=st.sampled_from([*"aZ09._-/:@%'\";`$ \\", *(c for c in CONTROL if len(c) == 1)]), max_size=30),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
    )


@st.composite
def one_key_changed(draw: st.DrawFn) -> tuple[str, str, Any]:
    """(stack, key, new value or ABSENT)."""
    stack = draw(st.sampled_from(STACKS))
    key = draw(st.sampled_from([*SURFACE, *TYPO_KEYS]))
    valid = current_value(stack, key)
    value = draw(st.one_of(generic_values(), mutations(valid), st.just(ABSENT)))
    return stack, key, value


# --- checking one outcome --------------------------------------------------------------------------------

KNOWN_KEYS = {*ALL_KEYS, *SECRET_KEYS, *SCALAR_KEYS, *OBJECT_KEYS}


def load(stack: str, values: dict[str, Any]):
    return load_settings(raw_values(engine_form(values)), stack=stack,
                         is_secret=lambda key: key in secret_keys(stack))


def named(key: str, problem_keys: set[str]) -> bool:
    """The changed key is named: itself, a key inside it (a changed object), or, for an entry of a map
    such as app.extraEnv, the map's key. Never just the object around it."""
    return any(k == key or k.startswith(key + ".")
               or (key.startswith(k + ".") and ALL_KEYS.get(k) is False) for k in problem_keys)


def check_rejection(err: ConfigError, key: str, value: Any) -> None:
    keys = {k for k, _ in err.problems}
    assert "(stack)" not in keys, err
    unknown = {k for k in keys if k not in KNOWN_KEYS and not named(key, {k})}
    assert not unknown, f"problems on keys that do not exist: {unknown}\n{err}"
    assert named(key, keys), f"openwebui:{key} is not named:\n{err}"
    text = str(err)
    for line in text.splitlines()[1:]:
        assert line.startswith(f"  {NAMESPACE}:"), f"a message spans lines (unescaped value?): {text!r}"
    if key in SECRET_KEYS and isinstance(value, str) and len(value.strip()) >= 4:
        assert value not in text, "a secret's value is echoed in the message"


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for item in node.values():
            yield from _strings(item)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _strings(item)




# Multi-line values the program itself writes (the rendered nginx.conf, PEM text, JSON); everything else a
# container or command gets in its environment must be one line of printable text.
MULTILINE_ENV = {"NGINX_CONF", "TLS_CERTIFICATE", "TLS_PRIVATE_KEY", "TLS_CA_CERTIFICATE"}


def env_items(mocks: RecordingMocks) -> Iterator[tuple[str, str, str]]:
    """(resource, variable, value) for every container env item and command environment entry."""
    for resource in mocks.resources:
        envs = unsecret(resource.inputs.get("envs"))
        for item in envs or []:
            item = unsecret(item)
            if isinstance(item, str):
                name, _, value = item.partition("=")
                yield resource.name, name, value
        environment = unsecret(resource.inputs.get("environment"))
        if isinstance(environment, dict):
            for name, value in environment.items():
                value = unsecret(value)
                if isinstance(value, str):
                    yield resource.name, name, value


def has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def check_acceptance(stack: str, key: str, value: Any, values: dict[str, Any]) -> None:
    settings_obj, _ = load(stack, values)
    secret_keys_set = tuple(k for k in secret_keys(stack) if k in values)
    mocks = RecordingMocks()
    try:
        run_program(stack, values, secret_keys_set, mocks=mocks)
    except pulumi.RunError as err:  # pragma: no cover - a failure report, not a branch
        pytest.fail(f"accepted by the config model, refused by the program:\n{err}")
    found = mandatory_violations([(r.typ, r.name, r.inputs) for r in mocks.resources], stack)
    assert found == [], f"openwebui:{key}={value!r} accepted, but the pack refuses it: {found}"
    for resource, name, text in env_items(mocks):
        if name not in MULTILINE_ENV:
            assert not has_control(text), f"{resource}: {name}={text!r} carries a control character"
    if isinstance(value, str) and value and key not in SECRET_KEYS:
        carried = [s for r in mocks.resources for s in _strings(unsecret(r.inputs))]
        expected = value.lower() if key == "admin.email" else value.rstrip("/") if key == "publicUrl" else value
        if key in VERBATIM_KEYS(settings_obj):
            assert any(expected in s for s in carried), f"openwebui:{key}={value!r} is not carried verbatim"


def VERBATIM_KEYS(settings_obj: Settings) -> set[str]:  # noqa: N802 - reads as the constant it replaces
    """Free-form keys that reach a resource input as written (when the feature using them is on)."""
    keys = {"publicUrl", "image", "app.name", "admin.name", "admin.email", "app.jwtExpiresIn",
            "proxy.image", "proxy.bindIp", "proxy.clientMaxBodySize", "network.subnet",
            "migration.toolsImage", "migration.backupDir", "network.name", "storage.volumeName"}
    if settings_obj.app.openai_base_url:
        keys.add("app.openaiBaseUrl")
    if settings_obj.app.ollama_base_url:
        keys.add("app.ollamaBaseUrl")
    if settings_obj.redis_enabled:
        keys.add("redis.image")
    if settings_obj.database.type != "sqlite":
        keys |= {"database.name", "database.user", "database.host", "database.adminUser"}
    if settings_obj.database.type == "mysql":
        keys.add("database.userHost")
    return keys


def in_context(stack: str, key: str) -> dict[str, Any]:
    """The stack's base values, plus what a key under a CONTEXT object needs around it."""
    values = base_values(stack)
    for prefix, context in CONTEXT.items():
        if key == prefix or key.startswith(prefix + "."):
            for other, other_value in context.items():
                values = with_value(values, other, other_value)
    return values


def outcome(stack: str, key: str, value: Any, *, run: bool) -> str:
    """Check one changed key; returns "rejected" or "accepted" (assertions fail otherwise)."""
    values = with_value(in_context(stack, key), key, value)
    try:
        load(stack, values)
    except ConfigError as err:
        check_rejection(err, key, value)
        return "rejected"
    if run:
        check_acceptance(stack, key, value, values)
    return "accepted"


# --- the properties --------------------------------------------------------------------------------------


def test_surface_covers_every_key_of_the_model():
    # A new config field is fuzzed without touching this file; make sure the walk sees nested ones.
    assert {"publicUrl", "database.name", "resources.app.memoryMb", "app.extraEnv", "backup.copyTo"} <= set(SURFACE)
    assert all(current_value(s, "database.name") for s in STACKS)


@settings(settings.get_profile(PROFILE), max_examples=CONFIG_EXAMPLES)
@given(one_key_changed())
def test_one_bad_key_is_refused_by_name_or_accepted_cleanly(case):
    stack, key, value = case
    outcome(stack, key, value, run=False)


@settings(settings.get_profile(PROFILE), max_examples=PROGRAM_EXAMPLES)
@given(one_key_changed())
def test_accepted_values_deploy_cleanly_under_the_pack(case):
    stack, key, value = case
    outcome(stack, key, value, run=True)
