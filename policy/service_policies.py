"""CIS Docker section 5 rules that map to a swarm service spec, over ``docker.Service`` inputs (pulumi-docker 5.1.0
names: ``taskSpec.containerSpec.{user, readOnly, capDrops, capAdds, env, secrets, healthcheck}``,
``taskSpec.{resources, restartPolicy}``, ``updateConfig``, ``mode``), plus the swarm target's own rules: no secret
in a service's environment, start-first rolling updates that roll back for the app, enough app replicas.

Like the container rules, every validator ignores other resource types and stays silent about values unknown at
preview. What a service spec of pulumi-docker 5.1.0 cannot say (no-new-privileges, a pids limit: CIS 5.26, 5.29)
cannot be checked here either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from container_policies import root_user_problem
from policy_kit import cis, int_setting, schema, setting
from policy_props import ENVIRONMENT_LABEL, ROLE_LABEL, UNKNOWN, plain
from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

SERVICE: Final = "docker:index/service:Service"
# Environment variable names that carry a credential; the `<NAME>_FILE` path to a secret file is what belongs there.
SECRET_ENV_NAME: Final = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY|ENCRYPTION_KEY|CREDENTIAL)"
                                    r"|^(DATABASE_URL|REDIS_URL|WEBSOCKET_REDIS_URL)$")
# A URL with a password in it (scheme://user:password@host).
URL_WITH_PASSWORD: Final = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", re.IGNORECASE)


def service_spec(args: ResourceValidationArgs) -> dict[str, Any] | None:
    """The service's plain inputs, or None for any other resource type."""
    if args.resource_type != SERVICE:
        return None
    found = plain(args.props)
    return found if isinstance(found, dict) else None


def _container(spec: Mapping[str, Any]) -> dict[str, Any]:
    task = spec.get("taskSpec")
    container = task.get("containerSpec") if isinstance(task, dict) else None
    return container if isinstance(container, dict) else {}


def service_role(spec: Mapping[str, Any]) -> str | None:
    for labels in (spec.get("labels"), _container(spec).get("labels")):
        for item in labels if isinstance(labels, list) else []:
            if isinstance(item, dict) and item.get("label") == ROLE_LABEL and isinstance(item.get("value"), str):
                return str(item["value"])
    return None


# --- CIS 4.1, 5.3, 5.10/5.11, 5.12, 5.14, 5.26 ------------------------------------------------------------------


def validate_service_non_root(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = service_spec(args)
    if spec is None or _container(spec).get("user") is UNKNOWN:
        return
    problem = root_user_problem(_container(spec).get("user"))
    if problem:
        report_violation(problem, None)


def validate_service_read_only(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = service_spec(args)
    if spec is None or _container(spec).get("readOnly") is UNKNOWN:
        return
    if _container(spec).get("readOnly") is not True:
        report_violation("taskSpec.containerSpec.readOnly must be true (a read-only root filesystem).", None)


def validate_service_capabilities(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = service_spec(args)
    if spec is None:
        return
    drops, adds = _container(spec).get("capDrops"), _container(spec).get("capAdds")
    if drops is not UNKNOWN and not (isinstance(drops, list) and "ALL" in drops):
        report_violation("taskSpec.containerSpec.capDrops must contain ALL.", None)
    if isinstance(adds, list) and [a for a in adds if a is not UNKNOWN]:
        report_violation(f"taskSpec.containerSpec.capAdds adds {adds}; a service of this stack needs none.", None)


def validate_service_limits(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = service_spec(args)
    if spec is None:
        return
    task = spec.get("taskSpec") if isinstance(spec.get("taskSpec"), dict) else {}
    resources = task.get("resources") if isinstance(task, dict) else None
    limits = resources.get("limits") if isinstance(resources, dict) else None
    if resources is UNKNOWN or limits is UNKNOWN:
        return
    limits = limits if isinstance(limits, dict) else {}
    for key, what in (("memoryBytes", "memory (CIS 5.11)"), ("nanoCpus", "CPU (CIS 5.12)")):
        value = limits.get(key)
        if value is not UNKNOWN and not (isinstance(value, (int, float)) and value > 0):
            report_violation(f"taskSpec.resources.limits.{key} must be set: a {what} limit per task.", None)


RESTART_SCHEMA: Final = schema(
    allowedConditions={"type": "array", "items": {"type": "string"}, "default": ["on-failure"],
                       "description": "Restart conditions a service may use (`any` also restarts a clean exit)."},
    maxAttempts={"type": "integer", "default": 5, "description": "Most restarts per window (CIS 5.15)."},
)


def validate_service_restart_policy(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = service_spec(args)
    if spec is None:
        return
    task = spec.get("taskSpec") if isinstance(spec.get("taskSpec"), dict) else {}
    policy = task.get("restartPolicy") if isinstance(task, dict) else None
    if policy is UNKNOWN:
        return
    policy = policy if isinstance(policy, dict) else {}
    allowed = setting(args, RESTART_SCHEMA, "allowedConditions")
    limit = int_setting(args, RESTART_SCHEMA, "maxAttempts")
    condition, attempts = policy.get("condition"), policy.get("maxAttempts")
    if condition is not UNKNOWN and condition not in allowed:
        report_violation(f"taskSpec.restartPolicy.condition {condition!r} is not one of {allowed}.", None)
    if attempts is not UNKNOWN and not (isinstance(attempts, (int, float)) and 0 < attempts <= limit):
        report_violation(f"taskSpec.restartPolicy.maxAttempts must be between 1 and {limit} (got {attempts!r}).",
                         None)


def validate_service_healthcheck(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = service_spec(args)
    if spec is None:
        return
    health = _container(spec).get("healthcheck")
    if health is UNKNOWN:
        return
    tests = health.get("tests") if isinstance(health, dict) else None
    if tests is UNKNOWN:
        return
    if not (isinstance(tests, list) and tests and tests[0] in ("CMD", "CMD-SHELL")):
        report_violation("taskSpec.containerSpec.healthcheck.tests must be a CMD or CMD-SHELL check (CIS 5.27); "
                         "an update is gated on it.", None)


# --- secrets ----------------------------------------------------------------------------------------------------


def validate_service_no_secret_in_env(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A secret in a service's environment is in `docker service inspect` and `docker inspect` of every task:
    credentials travel as Docker secret files (`<NAME>_FILE`)."""
    spec = service_spec(args)
    if spec is None:
        return
    env = _container(spec).get("env")
    if not isinstance(env, dict):
        return
    for key, value in sorted(env.items()):
        if key.endswith("_FILE") or value is UNKNOWN:
            continue
        if SECRET_ENV_NAME.search(key):
            report_violation(f"env {key} holds a credential: mount it as a Docker secret and set {key}_FILE.", None)
        elif isinstance(value, str) and URL_WITH_PASSWORD.search(value):
            report_violation(f"env {key} is a URL with a password in it: use a Docker secret file.", None)


SECRET_FILE_MODE_SCHEMA: Final = schema(
    maxFileMode={"type": "integer", "default": 0o440,
                 "description": "Widest mode a mounted secret file may have (never readable by others)."},
)


def validate_service_secret_files(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = service_spec(args)
    if spec is None:
        return
    secrets = _container(spec).get("secrets")
    widest = int_setting(args, SECRET_FILE_MODE_SCHEMA, "maxFileMode")
    for item in secrets if isinstance(secrets, list) else []:
        if not isinstance(item, dict):
            continue
        mode, uid = item.get("fileMode", 0o444), item.get("fileUid", "0")
        if mode is not UNKNOWN and isinstance(mode, (int, float)) and int(mode) & ~widest:
            report_violation(f"secret file {item.get('fileName')!r} has mode {int(mode):o}: at most {widest:o} "
                             "(only the service's user may read it).", None)
        if uid is not UNKNOWN and str(uid) in ("", "0"):
            report_violation(f"secret file {item.get('fileName')!r} belongs to root: give it the service's uid.",
                             None)


# --- rollout and scale --------------------------------------------------------------------------------------------

ROLLOUT_SCHEMA: Final = schema(
    roles={"type": "array", "items": {"type": "string"}, "default": ["app"],
           "description": "Roles whose updates must start the new task first and roll back on failure."},
)


def validate_service_rolling_update(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = service_spec(args)
    if spec is None or service_role(spec) not in setting(args, ROLLOUT_SCHEMA, "roles"):
        return
    update = spec.get("updateConfig")
    if update is UNKNOWN:
        return
    update = update if isinstance(update, dict) else {}
    if update.get("order") not in ("start-first", UNKNOWN):
        report_violation("updateConfig.order must be start-first: the new task is healthy before the old one "
                         "stops (an update without downtime).", None)
    if update.get("failureAction") not in ("rollback", UNKNOWN):
        report_violation("updateConfig.failureAction must be rollback: a failed update goes back to the running "
                         "version.", None)
    if not isinstance(spec.get("convergeConfig"), dict):
        report_violation("convergeConfig must be set: `up` waits for the update, and a rollback fails it.", None)


REPLICAS_SCHEMA: Final = schema(
    minReplicas={"type": "integer", "default": 1, "description": "Fewest app tasks a swarm stack may run."},
)


def validate_service_min_replicas(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    spec = service_spec(args)
    if spec is None or service_role(spec) != "app":
        return
    mode = spec.get("mode")
    replicated = mode.get("replicated") if isinstance(mode, dict) else None
    replicas = replicated.get("replicas", 1) if isinstance(replicated, dict) else 1
    if replicas is UNKNOWN or (isinstance(mode, dict) and mode.get("global") is True):
        return
    least = int_setting(args, REPLICAS_SCHEMA, "minReplicas")
    if not isinstance(replicas, (int, float)) or replicas < least:
        report_violation(f"the app runs {replicas} replica(s); at least {least} here, so a node or task failure "
                         "leaves one serving (set `replicas`).", None)


SHARED_UPLOADS_SCHEMA: Final = schema(
    enforceInEnvironments={"type": "array", "items": {"type": "string"}, "default": ["prod"],
                           "description": "Environments (label openwebui.environment) where a scaled-out app keeps "
                                          "uploads off the node."},
)


def validate_service_shared_uploads(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """With several app tasks, any node may run any of them: an upload kept in one node's data volume
    (STORAGE_PROVIDER local, Open WebUI's default) is missing for a task on another node. Open WebUI 0.12.4 reads
    STORAGE_PROVIDER in backend/open_webui/config.py; slim images offer local and s3 (storage/provider.py)."""
    spec = service_spec(args)
    if spec is None or service_role(spec) != "app":
        return
    labels = {item.get("label"): item.get("value") for item in spec.get("labels") or [] if isinstance(item, dict)}
    environment = labels.get(ENVIRONMENT_LABEL)
    enforced = setting(args, SHARED_UPLOADS_SCHEMA, "enforceInEnvironments")
    # A service without the environment label gets the rule.
    if environment is UNKNOWN or (environment is not None and environment not in enforced):
        return
    mode = spec.get("mode")
    replicated = mode.get("replicated") if isinstance(mode, dict) else None
    replicas = replicated.get("replicas", 1) if isinstance(replicated, dict) else 1
    scaled = (isinstance(mode, dict) and mode.get("global") is True) or (
        isinstance(replicas, (int, float)) and replicas > 1)
    env = _container(spec).get("env")
    if not scaled or not isinstance(env, dict):
        return
    provider = env.get("STORAGE_PROVIDER", "local")
    if provider is not UNKNOWN and str(provider).strip().lower() in ("", "local"):
        report_violation(f"the app runs {replicas} replicas but keeps uploads in each node's data volume "
                         "(STORAGE_PROVIDER local): set storage.provider: s3 and storage.s3.", None)


NETWORK: Final = "docker:index/network:Network"
OVERLAY_SCHEMA: Final = schema(
    allowUnencrypted={"type": "boolean", "default": False,
                      "description": "Accept an overlay network without IPsec (only for a kernel without ESP)."},
)


def validate_encrypted_overlay(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """An overlay network carries the services' traffic, credentials included, between nodes: encrypted (IPsec,
    `options: {encrypted: "true"}`), unless this environment's config allows it off."""
    if args.resource_type != NETWORK:
        return
    props = plain(args.props)
    if not isinstance(props, dict) or props.get("driver") != "overlay":
        return
    options = props.get("options")
    if options is UNKNOWN or (isinstance(options, dict) and options.get("encrypted") is UNKNOWN):
        return
    encrypted = isinstance(options, dict) and str(options.get("encrypted", "")).lower() == "true"
    if not encrypted and not setting(args, OVERLAY_SCHEMA, "allowUnencrypted"):
        report_violation("the overlay network is not encrypted: traffic between nodes would cross the hosts' "
                         "network in clear text; set swarm.encryptOverlay: true.", None)


def _policy(name: str, description: str, validate: Any, steps: str,
            config_schema: Any = None) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(name=name, description=description, validate=validate, severity=Severity.HIGH,
                                    remediation_steps=steps, config_schema=config_schema,
                                    tags=["cis-docker", "docker-service"])


FIX_IN_SWARM_SERVICE = "Declare services through components/swarm_service.py (task_spec), which sets this."

SERVICE_POLICIES: Final = [
    _policy("docker-service-disallow-root-user", cis("4.1", "a service's tasks run as a non-root uid."),
            validate_service_non_root, "Set taskSpec.containerSpec.user to a numeric non-zero uid:gid."),
    _policy("docker-service-require-read-only-root", cis("5.13", "a service's root filesystem is read-only."),
            validate_service_read_only, FIX_IN_SWARM_SERVICE),
    _policy("docker-service-drop-all-capabilities", cis("5.4", "a service drops every capability."),
            validate_service_capabilities, FIX_IN_SWARM_SERVICE),
    _policy("docker-service-limit-resources", cis("5.11, 5.12", "a service's tasks have memory and CPU limits."),
            validate_service_limits, "Set resources.<role>.memoryMb and cpus in the stack config."),
    _policy("docker-service-bound-restart-policy",
            cis("5.15", "a service restarts on failure, a bounded number of times."),
            validate_service_restart_policy, FIX_IN_SWARM_SERVICE, RESTART_SCHEMA),
    _policy("docker-service-require-healthcheck", cis("5.27", "a service has a health check."),
            validate_service_healthcheck, FIX_IN_SWARM_SERVICE),
    _policy("docker-service-disallow-secrets-in-env",
            "Credentials reach a service as Docker secret files, never in its environment.",
            validate_service_no_secret_in_env,
            "Put the value in a docker.Secret (components/swarm_secrets.py) and set <NAME>_FILE instead."),
    _policy("docker-service-restrict-secret-file-mode", "A service's secret files are readable only by its user.",
            validate_service_secret_files, "Mount secrets with SwarmSecrets.references(uid, gid).",
            SECRET_FILE_MODE_SCHEMA),
    _policy("docker-service-require-start-first-updates",
            "The app's updates start the new task first, are waited for and roll back on failure.",
            validate_service_rolling_update, "Use rolling_update(order=\"start-first\") and converge().",
            ROLLOUT_SCHEMA),
    _policy("docker-service-require-min-replicas", "A swarm stack runs enough app replicas for its environment.",
            validate_service_min_replicas, "Set `replicas` (prod on a swarm: 2 or more).", REPLICAS_SCHEMA),
    _policy("docker-service-require-shared-uploads",
            "A scaled-out app keeps uploaded files in an object store, not in one node's volume.",
            validate_service_shared_uploads,
            "Set storage.provider: s3 with storage.s3 and the secret s3SecretAccessKey.", SHARED_UPLOADS_SCHEMA),
    _policy("docker-network-require-encrypted-overlay",
            "An overlay network between swarm nodes is encrypted (IPsec).", validate_encrypted_overlay,
            "Set swarm.encryptOverlay: true (the default).", OVERLAY_SCHEMA),
]
