"""Open WebUI's environment, derived from the validated settings (what a production deployment sets, plus
hardening)."""

from __future__ import annotations

from typing import Optional

import pulumi

from components.app_process import STATIC_DIR
from components.config import Settings
from components.webui import DATA_DIR


def app_settings(settings: Settings) -> dict[str, str]:
    """Plain (non-secret) variables; the policy pack reads these at preview."""
    app = settings.app
    db = settings.database
    env = {
        "WEBUI_NAME": app.name,
        "WEBUI_URL": settings.public_url,
        # Sign-up stays off; the first admin comes from WEBUI_ADMIN_* before requests are served,
        # and the migration step pins ui.enable_signup=false in the database (owui_ops.config_guard).
        "ENABLE_SIGNUP": "false",
        "ENABLE_LOGIN_FORM": "true",
        "DEFAULT_USER_ROLE": app.default_user_role,
        "JWT_EXPIRES_IN": app.jwt_expires_in,
        "WEBUI_ADMIN_EMAIL": settings.admin.email,
        "WEBUI_ADMIN_NAME": settings.admin.name,
        "ENABLE_PERSISTENT_CONFIG": str(app.enable_persistent_config).lower(),
        # Migrations ran once in the migration step; never again in each process.
        "ENABLE_DB_MIGRATIONS": "false",
        "DATA_DIR": DATA_DIR,
        # Writable places on the /tmp tmpfs for what the app writes outside DATA_DIR at start: HOME
        # (upstream's image has HOME=/root, owned by root) and its static files (else written into
        # the package directory; components/app_process.py).
        "HOME": "/tmp",
        "STATIC_DIR": STATIC_DIR,
        "UVICORN_WORKERS": str(settings.uvicorn_workers),
        "GLOBAL_LOG_LEVEL": app.log_level,
        "VECTOR_DB": app.vector_db,
        "OFFLINE_MODE": str(app.offline_mode).lower(),
        "USE_SLIM_DOCKER": "true",
        # HTTPS-only: browsers send cookies only over TLS, and only to this site.
        "WEBUI_SESSION_COOKIE_SECURE": "true",
        "WEBUI_AUTH_COOKIE_SECURE": "true",
        "WEBUI_SESSION_COOKIE_SAME_SITE": "strict",
        "WEBUI_AUTH_COOKIE_SAME_SITE": "strict",
        "CORS_ALLOW_ORIGIN": settings.public_url,
        # Trust X-Forwarded-* only from nginx's fixed address.
        "FORWARDED_ALLOW_IPS": settings.network.proxy_ip,
        "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS": "false",
        "ENABLE_WEBSOCKET_SUPPORT": "true",
        "ENABLE_OLLAMA_API": "true" if app.ollama_base_url else "false",
        "ENABLE_OPENAI_API": "true" if app.openai_base_url else "false",
    }
    if app.openai_base_url:
        env["OPENAI_API_BASE_URL"] = app.openai_base_url
    if app.ollama_base_url:
        env["OLLAMA_BASE_URL"] = app.ollama_base_url
    if db.type != "sqlite":
        env.update({
            "DATABASE_POOL_SIZE": str(db.pool_size),
            "DATABASE_POOL_MAX_OVERFLOW": str(db.max_overflow),
            "DATABASE_POOL_RECYCLE": str(db.pool_recycle),
            "DATABASE_POOL_TIMEOUT": str(db.pool_timeout),
        })
    if settings.redis_enabled:
        env["WEBSOCKET_MANAGER"] = "redis"
    env.update(storage_settings(settings))
    env.update(app.extra_env)
    return env


def storage_settings(settings: Settings) -> dict[str, str]:
    """Where uploads go, as Open WebUI 0.12.4 reads it (backend/open_webui/config.py STORAGE_PROVIDER, S3_*;
    storage/provider.py: S3StorageProvider writes each upload to the data directory, then to the bucket under
    S3_KEY_PREFIX, and a replica that lacks the local copy downloads it from the bucket). The secret access key is
    not here: app_secret_settings."""
    s3 = settings.storage.s3
    if settings.storage.provider != "s3" or s3 is None:
        return {}  # upstream's default, local (unset: a deployed container's environment stays as it was)
    env = {"STORAGE_PROVIDER": "s3", "S3_ENDPOINT_URL": s3.endpoint_url, "S3_BUCKET_NAME": s3.bucket,
           "S3_REGION_NAME": s3.region, "S3_ACCESS_KEY_ID": s3.access_key_id,
           "S3_ADDRESSING_STYLE": s3.addressing_style}
    if s3.key_prefix:
        env["S3_KEY_PREFIX"] = s3.key_prefix
    return env


def app_secret_settings(*, webui_secret_key: pulumi.Input[str], oauth_session_key: pulumi.Input[str],
                        database_url: pulumi.Input[str], admin_password: pulumi.Input[str],
                        redis_url: Optional[pulumi.Input[str]],
                        s3_secret_access_key: Optional[pulumi.Input[str]] = None) -> dict[str, pulumi.Input[str]]:
    env: dict[str, pulumi.Input[str]] = {
        "WEBUI_SECRET_KEY": webui_secret_key,
        "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY": oauth_session_key,
        "DATABASE_URL": database_url,
        "WEBUI_ADMIN_PASSWORD": admin_password,
    }
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
        env["WEBSOCKET_REDIS_URL"] = redis_url
    if s3_secret_access_key is not None:
        env["S3_SECRET_ACCESS_KEY"] = s3_secret_access_key
    return env


def enforced_config(settings: Settings) -> dict[str, object]:
    """Settings Open WebUI keeps in its database that the stack owns (see owui_ops.config_guard)."""
    return {"ui.enable_signup": False, "webui.url": settings.public_url}
