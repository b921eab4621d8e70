"""Open WebUI rules over each container's environment and labels, plus the secrets rules.

Open WebUI reads a boolean as true only when the text is "true" (case-insensitive); these rules demand the
explicit safe value, because an absent key means upstream's default, which is the unsafe one for every key
checked here (signup on, migrations at startup, insecure lax cookies, CORS `*`, pip installs on).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from policy_kit import int_setting, schema, setting
from policy_props import (
    CONTAINER,
    ENVIRONMENT_LABEL,
    IMAGE_LABEL,
    ROLE_LABEL,
    UNKNOWN,
    ContainerView,
    Env,
    container_view,
    is_secret_env_key,
    is_unknown,
    raw_props,
    service_container_view,
    unwrap_proxy,
)
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    Severity,
)

ROLES: Final = ("app", "proxy", "redis", "backup")
ENVIRONMENTS: Final = ("dev", "staging", "prod")


def app_container(args: ResourceValidationArgs) -> ContainerView | None:
    """The container, or a swarm service's container spec, when it is labelled as an Open WebUI app (role=app),
    else None."""
    container = (container_view(args.resource_type, args.props)
                 or service_container_view(args.resource_type, args.props))
    if container is None or container.role is UNKNOWN or container.role != "app":
        return None
    return container


def is_true(value: str) -> bool:
    return value.strip().lower() == "true"


def is_false(value: str) -> bool:
    return value.strip().lower() == "false"


def require_env(
    env: Env,
    key: str,
    ok: Callable[[str], bool],
    expected: str,
    report_violation: ReportViolation,
    *,
    required: bool = True,
) -> None:
    """Report ``key`` when it is missing (if required) or when any of its known values fails ``ok``."""
    values = env.values(key)
    if values is UNKNOWN:
        return
    if not values:
        if required:
            report_violation(f"{key} is not set; set {key}={expected}.", None)
        return
    for value in sorted(set(values)):
        if not ok(value):
            shown = "<hidden>" if is_secret_env_key(key) else repr(value)
            report_violation(f"{key}={shown}; set {key}={expected}.", None)


# --- labels the other rules rely on ------------------------------------------------------------------


def validate_container_labels(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None or container.labels is UNKNOWN:
        return
    expected = {ROLE_LABEL: ROLES, ENVIRONMENT_LABEL: ENVIRONMENTS}
    for label, allowed in expected.items():
        value = container.labels.get(label)
        if value is UNKNOWN:
            continue
        if value is None or value.strip() not in allowed:
            report_violation(f"label {label} is {value!r}; set it to one of {list(allowed)}.", None)
    image = container.labels.get(IMAGE_LABEL)
    if image is not UNKNOWN and (image is None or not image.strip()):
        report_violation(f"label {IMAGE_LABEL} is missing; set it to the image reference from stack config.", None)


# --- signup and authentication -----------------------------------------------------------------------

SIGNUP_SCHEMA: Final = schema(
    allowOauthSignup={"type": "boolean", "default": False,
                      "description": "Allow ENABLE_OAUTH_SIGNUP=true (OAuth logins create accounts)."},
    allowLdap={"type": "boolean", "default": False,
               "description": "Allow ENABLE_LDAP=true (LDAP logins create accounts)."},
    allowTrustedHeaderAuth={"type": "boolean", "default": False,
                            "description": "Allow WEBUI_AUTH_TRUSTED_EMAIL_HEADER (header logins create accounts)."},
    requireHeadlessAdmin={"type": "boolean", "default": True,
                          "description": "Require WEBUI_ADMIN_EMAIL/PASSWORD so the first signup cannot take admin."},
)


def validate_signup_disabled(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = app_container(args)
    if container is None:
        return
    env = container.env
    require_env(env, "ENABLE_SIGNUP", is_false, "false", report_violation)
    require_env(env, "WEBUI_AUTH", lambda v: not is_false(v), "true (or leave it unset)", report_violation,
                required=False)
    if not setting(args, SIGNUP_SCHEMA, "allowOauthSignup"):
        require_env(env, "ENABLE_OAUTH_SIGNUP", lambda v: not is_true(v), "false", report_violation, required=False)
    if not setting(args, SIGNUP_SCHEMA, "allowLdap"):
        require_env(env, "ENABLE_LDAP", lambda v: not is_true(v), "false", report_violation, required=False)
    if not setting(args, SIGNUP_SCHEMA, "allowTrustedHeaderAuth"):
        require_env(env, "WEBUI_AUTH_TRUSTED_EMAIL_HEADER", lambda v: not v.strip(), "nothing (remove it)",
                    report_violation, required=False)
    if setting(args, SIGNUP_SCHEMA, "requireHeadlessAdmin"):
        # Open WebUI makes the first signup admin even with ENABLE_SIGNUP=false; the headless admin closes that.
        require_env(env, "WEBUI_ADMIN_EMAIL", lambda v: bool(v.strip()), "<admin email>", report_violation)
        require_env(env, "WEBUI_ADMIN_PASSWORD", lambda v: bool(v), "<a secret>", report_violation)


def validate_migrations_disabled(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = app_container(args)
    if container is not None:
        require_env(container.env, "ENABLE_DB_MIGRATIONS", is_false, "false (the migration step runs them once)",
                    report_violation)


def validate_pip_installs_disabled(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = app_container(args)
    if container is not None:
        require_env(container.env, "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS", is_false, "false",
                    report_violation)


# --- cookies, CORS, proxies, URL ---------------------------------------------------------------------

COOKIE_SCHEMA: Final = schema(
    allowedSameSite={"type": "array", "items": {"type": "string"}, "default": ["strict"],
                     "description": "Accepted SameSite values for the session and auth cookies."},
)


def validate_secure_cookies(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = app_container(args)
    if container is None:
        return
    allowed = [value.lower() for value in setting(args, COOKIE_SCHEMA, "allowedSameSite")]
    for cookie in ("SESSION", "AUTH"):
        require_env(container.env, f"WEBUI_{cookie}_COOKIE_SECURE", is_true, "true", report_violation)
        require_env(container.env, f"WEBUI_{cookie}_COOKIE_SAME_SITE", lambda v: v.strip().lower() in allowed,
                    " or ".join(allowed), report_violation)


def https_origin(text: str) -> str | None:
    """``https://host[:port]`` normalised (lower-case host, default port dropped), or None if not one."""
    text = text.strip()
    if not text or any(ch.isspace() for ch in text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"https://{host}" if port in (None, 443) else f"https://{host}:{port}"


def cors_origins(value: str) -> list[str]:
    # Open WebUI splits CORS_ALLOW_ORIGIN on ";".
    return [item.strip() for item in value.split(";") if item.strip()]


def _cors_ok(value: str) -> bool:
    origins = cors_origins(value)
    return bool(origins) and all(
        origin != "*" and https_origin(origin) is not None and urlsplit(origin).path in ("", "/")
        for origin in origins
    )


def validate_cors_origin(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = app_container(args)
    if container is not None:
        require_env(container.env, "CORS_ALLOW_ORIGIN", _cors_ok, "<the public https origin, e.g. https://chat.example.com>",
                    report_violation)


def _forwarded_ok(value: str) -> bool:
    entries = [item.strip() for item in value.split(",") if item.strip()]
    if not entries:
        return False
    for entry in entries:
        if entry == "*":
            return False
        try:
            if ipaddress.ip_network(entry, strict=False).prefixlen == 0:
                return False
        except ValueError:
            continue  # uvicorn also accepts literal hosts such as unix sockets
    return True


def validate_forwarded_ips(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = app_container(args)
    if container is not None:
        require_env(container.env, "FORWARDED_ALLOW_IPS", _forwarded_ok, "<the proxy's address or subnet>",
                    report_violation)


def validate_https_url(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = app_container(args)
    if container is not None:
        require_env(container.env, "WEBUI_URL", lambda v: https_origin(v) is not None,
                    "https://<public host>[:port] (HTTPS only, in every environment)", report_violation)


# --- JWT lifetime ------------------------------------------------------------------------------------

JWT_SCHEMA: Final = schema(
    maxExpiresIn={"type": "string", "default": "7d", "pattern": r"^(\d+(\.\d+)?(ms|s|m|h|d|w))+$",
                  "description": "Longest accepted JWT_EXPIRES_IN (Open WebUI duration syntax, e.g. 12h, 7d)."},
    enforceInEnvironments={"type": "array", "items": {"type": "string"}, "default": ["prod"],
                           "description": "Environments (label openwebui.environment) where the bound applies."},
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> float | None:
    """Seconds of an Open WebUI duration ("1h30m", "7d"); None for "-1", "0" (never expires) or garbage."""
    text = text.strip()
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or total <= 0:
        return None
    return total


def validate_jwt_lifetime(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = app_container(args)
    if container is None:
        return
    environment = container.environment
    enforced = setting(args, JWT_SCHEMA, "enforceInEnvironments")
    # A container without the environment label gets the strict rule.
    if environment is UNKNOWN or (environment is not None and environment not in enforced):
        return
    limit_text = setting(args, JWT_SCHEMA, "maxExpiresIn")
    limit = duration_seconds(limit_text)
    if limit is None:
        raise ValueError(f"policy config maxExpiresIn {limit_text!r} is not a duration")

    def bounded(value: str) -> bool:
        seconds = duration_seconds(value)
        return seconds is not None and seconds <= limit

    require_env(container.env, "JWT_EXPIRES_IN", bounded, f"a duration of at most {limit_text} (not -1 or 0)",
                report_violation)


# --- privilege and image/database fit ----------------------------------------------------------------

ROLE_SCHEMA: Final = schema(
    allowedRoles={"type": "array", "items": {"type": "string"}, "default": ["pending", "user"],
                  "description": "DEFAULT_USER_ROLE values accepted (Open WebUI's roles: pending, user, admin)."},
)


def validate_default_user_role(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = app_container(args)
    if container is None:
        return
    allowed = [str(role) for role in setting(args, ROLE_SCHEMA, "allowedRoles")]
    # Absent is upstream's default, `pending`: new accounts wait for an admin's approval.
    require_env(container.env, "DEFAULT_USER_ROLE", lambda value: value in allowed,
                f"one of {', '.join(allowed)} (new accounts get this role without an admin)", report_violation,
                required=False)


MIGRATION_COMMAND: Final = "command:local:Command"


def is_upstream_image(reference: str) -> bool:
    """ghcr.io/open-webui/open-webui (or a local build of it), not the users' open-webui-next."""
    name = reference.partition("@")[0]
    return name.rsplit("/", 1)[-1].partition(":")[0] == "open-webui"


def validate_mysql_needs_next_image(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Upstream Open WebUI 0.12.4 has no MySQL path: its async engine fails on mysql+pymysql:// URLs."""
    image, database = None, None
    if args.resource_type == MIGRATION_COMMAND:
        environment = raw_props(args.props).get("environment")
        if isinstance(environment, Mapping):
            image, database = environment.get("OWUI_APP_IMAGE"), environment.get("OWUI_DATABASE_TYPE")
    else:
        container = app_container(args)
        if container is None or container.labels is UNKNOWN:
            return
        image = container.labels.get(IMAGE_LABEL)
        urls = container.env.values("DATABASE_URL")
        if urls is not UNKNOWN and urls:
            database = "mysql" if any(str(url).startswith("mysql") for url in urls) else "other"
    if isinstance(image, str) and database == "mysql" and is_upstream_image(image):
        report_violation(f"image {image!r} is upstream Open WebUI, which cannot use MySQL (no MySQL path in "
                         "0.12.4); use the open-webui-next image or PostgreSQL.", None)


# --- secrets -----------------------------------------------------------------------------------------

SECRETS_SCHEMA: Final = schema(
    minSecretLength={"type": "integer", "default": 32,
                     "description": "Shortest accepted random key (WEBUI_SECRET_KEY, REDIS_PASSWORD, ...)."},
    minPasswordLength={"type": "integer", "default": 16,
                       "description": "Shortest accepted password (admin, database, Redis URL)."},
)

# Example values from upstream's and the users' deployment guides, plus the usual placeholders (compared
# case-insensitively).
WEAK_SECRETS: Final = frozenset(
    {"t0p-s3cr3t", "changeme", "change-me", "change_me", "secret", "password", "admin", "openwebui",
     "open-webui", "your-secret-key", "your_secret_key", "your-secret-key-here", "your-password",
     "password123", "12345678", "123456789", "example", "test", "default"}
)
_KEY_SECRETS: Final = ("WEBUI_SECRET_KEY", "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY", "REDIS_PASSWORD")
_PASSWORD_SECRETS: Final = ("WEBUI_ADMIN_PASSWORD",)
_URL_SECRETS: Final = ("DATABASE_URL", "REDIS_URL", "WEBSOCKET_REDIS_URL")


def weak_secret_problem(value: str, min_length: int) -> str | None:
    """Why a secret value is guessable (never echoing it), or None."""
    if value.strip().lower() in WEAK_SECRETS or any(word in value.lower() for word in ("changeme", "t0p-s3cr3t")):
        return "is a well-known default or placeholder"
    if len(set(value)) <= 2:
        return "repeats one or two characters"
    if len(value) < min_length:
        return f"is shorter than {min_length} characters"
    return None


def url_password_problem(url: str, min_length: int) -> str | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None  # not ours to parse; the program's config model validates URLs
    if parts.scheme.lower().startswith("sqlite"):
        return None
    if parts.password is None or parts.password == "":
        return "has no password"
    return weak_secret_problem(unquote(parts.password), min_length)


def validate_strong_secrets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    min_secret = int_setting(args, SECRETS_SCHEMA, "minSecretLength")
    min_password = int_setting(args, SECRETS_SCHEMA, "minPasswordLength")
    checks: list[tuple[tuple[str, ...], Callable[[str], str | None], str]] = [
        (_KEY_SECRETS, lambda v: weak_secret_problem(v, min_secret), "a random value from the secrets component"),
        (_PASSWORD_SECRETS, lambda v: weak_secret_problem(v, min_password), "a generated password"),
        (_URL_SECRETS, lambda v: url_password_problem(v, min_password), "a URL with a generated password"),
    ]
    for keys, problem_of, fix in checks:
        for key in keys:
            values = container.env.values(key)
            if values is UNKNOWN:
                continue
            for value in set(values):
                problem = problem_of(value)
                if problem:
                    report_violation(f"{key} {problem}; use {fix}, passed as a Pulumi secret.", None)


def remediate_mark_secret_envs(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
    """Wrap plain credential env items in ``Secret`` so they reach state encrypted.

    Only the engine's Remediate call carries secret markers; a validation cannot tell a secret from a plain
    string, so this is the one place where "secrets must be Pulumi secrets" can act. It returns None (no
    change) when every credential item is already a secret, is unknown, or the whole list is secret.
    """
    if args.resource_type != CONTAINER:
        return None
    props = raw_props(args.props)
    envs = props.get("envs")
    if envs is None or isinstance(envs, Secret) or is_unknown(envs):
        return None
    items = list(unwrap_proxy(envs))
    changed = False
    for index, item in enumerate(items):
        if isinstance(item, str) and not is_unknown(item) and is_secret_env_key(item.partition("=")[0].strip()):
            items[index] = Secret(item)
            changed = True
    if not changed:
        return None
    return {**props, "envs": items}


# --- the policy objects ------------------------------------------------------------------------------


def _app_policy(name: str, description: str, validate: Callable[..., None], severity: Severity, steps: str,
                config_schema: Any = None) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, severity=severity, remediation_steps=steps,
        config_schema=config_schema, tags=["open-webui"],
    )


OPENWEBUI_POLICIES: Final[list[ResourceValidationPolicy]] = [
    _app_policy(
        "openwebui-declare-container-labels",
        "Every container carries the labels openwebui.role (app|proxy|redis|backup), openwebui.environment "
        "(dev|staging|prod) and openwebui.image that the other policies rely on; set them in the component.",
        validate_container_labels, Severity.MEDIUM,
        "Add `labels=[{label: \"openwebui.role\", value: ...}, ...]` to the container.",
    ),
    _app_policy(
        "openwebui-disable-signup",
        "Open WebUI app containers set ENABLE_SIGNUP=false, keep WEBUI_AUTH on, create the admin headlessly and "
        "leave OAuth/LDAP/trusted-header account creation off unless the policy config allows it; fix the env.",
        validate_signup_disabled, Severity.CRITICAL,
        "Set ENABLE_SIGNUP=false and WEBUI_ADMIN_EMAIL/WEBUI_ADMIN_PASSWORD; remove ENABLE_OAUTH_SIGNUP=true, "
        "ENABLE_LDAP=true, WEBUI_AUTH=false and WEBUI_AUTH_TRUSTED_EMAIL_HEADER unless allowed in config.",
        SIGNUP_SCHEMA,
    ),
    _app_policy(
        "openwebui-disable-startup-migrations",
        "Open WebUI app containers set ENABLE_DB_MIGRATIONS=false so replicas never race on schema changes; "
        "the migration step runs them once.",
        validate_migrations_disabled, Severity.HIGH, "Set ENABLE_DB_MIGRATIONS=false on every app container.",
    ),
    _app_policy(
        "openwebui-require-secure-cookies",
        "Open WebUI session and auth cookies are Secure with SameSite=strict; set WEBUI_SESSION_COOKIE_SECURE, "
        "WEBUI_AUTH_COOKIE_SECURE=true and both *_SAME_SITE=strict.",
        validate_secure_cookies, Severity.HIGH,
        "Set WEBUI_SESSION_COOKIE_SECURE=true, WEBUI_AUTH_COOKIE_SECURE=true, WEBUI_SESSION_COOKIE_SAME_SITE=strict "
        "and WEBUI_AUTH_COOKIE_SAME_SITE=strict.",
        COOKIE_SCHEMA,
    ),
    _app_policy(
        "openwebui-restrict-cors-origin",
        "Open WebUI allows credentialed cross-origin requests only from its https origin; set "
        "CORS_ALLOW_ORIGIN to the public origin, never `*`.",
        validate_cors_origin, Severity.HIGH, "Set CORS_ALLOW_ORIGIN=https://<public host>[:port].",
    ),
    _app_policy(
        "openwebui-restrict-forwarded-ips",
        "Open WebUI trusts X-Forwarded-* headers only from the proxy; set FORWARDED_ALLOW_IPS to the proxy's "
        "address or subnet, never `*`.",
        validate_forwarded_ips, Severity.HIGH, "Set FORWARDED_ALLOW_IPS to the proxy network's address or subnet.",
    ),
    _app_policy(
        "openwebui-disable-pip-frontmatter-installs",
        "Open WebUI never pip-installs requirements named in tool front matter at runtime; set "
        "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS=false.",
        validate_pip_installs_disabled, Severity.HIGH,
        "Set ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS=false and bake tool dependencies into the image.",
    ),
    _app_policy(
        "openwebui-bound-jwt-lifetime",
        "Open WebUI tokens expire within the configured maximum (7d by default) in the enforced environments; "
        "set JWT_EXPIRES_IN to a bounded duration, not -1 or 0.",
        validate_jwt_lifetime, Severity.MEDIUM, "Set JWT_EXPIRES_IN to e.g. 12h or 7d.", JWT_SCHEMA,
    ),
    _app_policy(
        "openwebui-restrict-default-user-role",
        "Open WebUI's DEFAULT_USER_ROLE, the role of every account not made by an admin, is one the policy "
        "config allows (never admin; only pending in prod); set DEFAULT_USER_ROLE=pending.",
        validate_default_user_role, Severity.HIGH,
        "Set DEFAULT_USER_ROLE=pending (openwebui:app.defaultUserRole) and approve new users in the admin panel.",
        ROLE_SCHEMA,
    ),
    _app_policy(
        "openwebui-require-next-image-for-mysql",
        "Only the open-webui-next image may use MySQL: upstream Open WebUI 0.12.4 has no MySQL path, whatever "
        "the stack's imageVariant says; use open-webui-next or PostgreSQL.",
        validate_mysql_needs_next_image, Severity.HIGH,
        "Set openwebui:image to the open-webui-next image, or openwebui:database.type to postgresql.",
    ),
    _app_policy(
        "openwebui-require-https-url",
        "Open WebUI's WEBUI_URL is an https origin in every environment (the deployment is HTTPS-only); set "
        "WEBUI_URL=https://<host>[:port].",
        validate_https_url, Severity.HIGH, "Set WEBUI_URL to the https URL the proxy serves.",
    ),
    _app_policy(
        "openwebui-require-strong-secrets",
        "Credentials in container env (secret key, Fernet key, admin/database/Redis passwords) are long random "
        "values, not defaults such as `t0p-s3cr3t`; take them from the secrets component.",
        validate_strong_secrets, Severity.CRITICAL,
        "Generate the value with pulumi-random in the secrets component and pass it as a Pulumi secret.",
        SECRETS_SCHEMA,
    ),
    ResourceValidationPolicy(
        name="openwebui-mark-secret-envs-as-secrets",
        description="Credential env items (WEBUI_SECRET_KEY, DATABASE_URL, *_PASSWORD, ...) are Pulumi secrets: "
        "this remediation wraps plain ones so state stores them encrypted, and the lasting fix is "
        "`pulumi.Output.secret` in the program.",
        # The SDK's annotation asks for an awaitable, but its Remediate handler also takes a plain mapping.
        remediate=remediate_mark_secret_envs,  # type: ignore[arg-type]
        enforcement_level=EnforcementLevel.REMEDIATE,
        severity=Severity.HIGH,
        remediation_steps="Pass credential env items as `pulumi.Output.secret(...)` or from `config.require_secret`.",
        tags=["open-webui", "secrets"],
    ),
]
