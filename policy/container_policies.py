"""CIS Docker Benchmark (section 4.1 and 5) rules over ``docker.Container`` inputs, as pure validators.

Every validator has the signature ``(args, report_violation) -> None``, ignores other resource types,
and stays silent about values that are unknown during preview (it cannot judge them) while still
reporting every known bad value. Prop names are the camelCase ones of pulumi-docker 5.1.0.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable
from typing import Any, Final

from policy_kit import cis, int_setting, schema, setting
from policy_props import (
    IMAGE_LABEL,
    REMOTE_IMAGE,
    UNKNOWN,
    ContainerView,
    as_int,
    as_list,
    container_view,
    plain,
)
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

Validator = Callable[[ResourceValidationArgs, ReportViolation], None]

# --- user (CIS 4.1) ----------------------------------------------------------------------------------


def root_user_problem(user: Any) -> str | None:
    """Why ``user`` would run the container as root (or as an unverifiable name), or None when it is safe.

    Docker's ``user`` is ``uid[:gid]`` or ``name[:group]``. A name cannot be checked from here (the image's
    /etc/passwd decides what it maps to), so only a numeric, non-zero uid passes.
    """
    if user is None:
        return "`user` is not set, so the image's USER applies (root in most images)."
    if not isinstance(user, str):
        return f"`user` must be a string like `1000:1000`, got {type(user).__name__}."
    uid, _, gid = user.strip().partition(":")
    uid, gid = uid.strip(), gid.strip()
    if uid == "" or uid.lower() == "root":
        return f"`user` {user!r} runs the container as root."
    if not uid.isdigit():
        return f"`user` {user!r} names a user; use a numeric uid so the policy can prove it is not 0."
    if int(uid) == 0:
        return f"`user` {user!r} is uid 0 (root)."
    if gid and (gid.lower() == "root" or (gid.isdigit() and int(gid) == 0)):
        return f"`user` {user!r} runs with the root group (gid 0)."
    return None


def validate_non_root_user(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None or container.get("user") is UNKNOWN:
        return
    problem = root_user_problem(container.get("user"))
    if problem:
        report_violation(problem, None)


# --- capabilities (CIS 5.4) --------------------------------------------------------------------------

CAPABILITIES_SCHEMA: Final = schema(
    allowedCapabilities={
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Capabilities a container may add back after dropping ALL (e.g. NET_BIND_SERVICE).",
    }
)


def _capability(name: str) -> str:
    name = name.strip().upper()
    return name[4:] if name.startswith("CAP_") else name


def validate_drop_all_capabilities(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    caps = container.get("capabilities")
    if caps is UNKNOWN:
        return
    caps = caps if isinstance(caps, dict) else {}
    drops = as_list(caps.get("drops"))
    if drops is not UNKNOWN and "ALL" not in {_capability(d) for d in drops if isinstance(d, str)}:
        if not any(d is UNKNOWN for d in drops):
            report_violation("`capabilities.drops` must contain \"ALL\".", None)
    adds = as_list(caps.get("adds"))
    if adds is UNKNOWN:
        return
    allowed = {_capability(c) for c in setting(args, CAPABILITIES_SCHEMA, "allowedCapabilities")}
    for added in adds:
        if isinstance(added, str) and _capability(added) not in allowed:
            report_violation(
                f"`capabilities.adds` contains {added!r}, which is not in the policy config "
                f"`allowedCapabilities` {sorted(allowed)}.",
                None,
            )


# --- privileged (CIS 5.5) ----------------------------------------------------------------------------


def validate_not_privileged(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is not None and container.get("privileged") is True:
        report_violation("`privileged` is true: the container gets every capability and all devices.", None)


# --- host mounts (CIS 5.6, 5.20, 5.32) ---------------------------------------------------------------

SENSITIVE_HOST_PATHS: Final = (
    "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/sys", "/usr", "/bin", "/sbin", "/root",
    "/var/lib/docker",
)
# Mounting these exposes the container runtime's API socket (CIS 5.32), even read-only.
RUNTIME_SOCKET_NAMES: Final = ("docker.sock", "containerd.sock", "podman.sock", "cri-dockerd.sock")
RUNTIME_SOCKET_DIRS: Final = ("/run", "/var/run", "/run/docker", "/var/run/docker", "/run/containerd",
                              "/var/run/containerd")


class HostMount:
    """A host path made visible in the container, from ``mounts`` (bind, or local volume bound to a device)
    or ``volumes`` (``hostPath``)."""

    def __init__(self, source: Any, read_only: Any, propagation: Any, where: str) -> None:
        self.source = source
        self.read_only = read_only is True
        self.read_only_unknown = read_only is UNKNOWN
        self.propagation = propagation
        self.where = where

    @property
    def path(self) -> str | None:
        if not isinstance(self.source, str) or not self.source.strip():
            return None
        return posixpath.normpath(self.source.strip())


def host_mounts(container: ContainerView) -> list[HostMount]:
    found: list[HostMount] = []
    mounts = as_list(container.get("mounts"))
    for index, mount in enumerate(mounts if mounts is not UNKNOWN else []):
        if not isinstance(mount, dict):
            continue
        where = f"mounts[{index}]"
        if mount.get("type") == "bind":
            options = mount.get("bindOptions")
            propagation = options.get("propagation") if isinstance(options, dict) else None
            found.append(HostMount(mount.get("source"), mount.get("readOnly"), propagation, where))
        elif mount.get("type") == "volume":
            # A local volume with `o=bind` and `device=/path` is a bind mount in disguise.
            options = mount.get("volumeOptions")
            driver = options.get("driverOptions") if isinstance(options, dict) else None
            if isinstance(driver, dict) and "bind" in str(driver.get("o", "")):
                found.append(HostMount(driver.get("device"), mount.get("readOnly"), None, where))
    volumes = as_list(container.get("volumes"))
    for index, volume in enumerate(volumes if volumes is not UNKNOWN else []):
        if isinstance(volume, dict) and volume.get("hostPath") not in (None, ""):
            found.append(HostMount(volume.get("hostPath"), volume.get("readOnly"), None, f"volumes[{index}]"))
    return found


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def validate_no_sensitive_host_mounts(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    for mount in host_mounts(container):
        path = mount.path
        if path is None or mount.read_only or mount.read_only_unknown:
            continue
        if path == "/" or any(_under(path, root) for root in SENSITIVE_HOST_PATHS):
            report_violation(
                f"{mount.where} mounts the sensitive host path {path!r} writable; mount it read-only or not at all.",
                None,
            )


def runtime_socket_exposed(path: str) -> bool:
    return posixpath.basename(path) in RUNTIME_SOCKET_NAMES or path in RUNTIME_SOCKET_DIRS or path == "/"


def validate_no_runtime_socket(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    for mount in host_mounts(container):
        if mount.path is not None and runtime_socket_exposed(mount.path):
            report_violation(
                f"{mount.where} exposes the container runtime socket via {mount.path!r}; whoever reaches it "
                "is root on the host, read-only or not.",
                None,
            )


def validate_no_shared_propagation(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    for mount in host_mounts(container):
        if isinstance(mount.propagation, str) and mount.propagation.strip().lower() in ("shared", "rshared"):
            report_violation(f"{mount.where} uses {mount.propagation!r} mount propagation.", None)


# --- ports (CIS 5.8, 5.14) ---------------------------------------------------------------------------

PRIVILEGED_PORTS_SCHEMA: Final = schema(
    allowedPrivilegedPorts={
        "type": "array",
        "items": {"type": "integer"},
        "default": [80, 443],
        "description": "Host ports below 1025 that may be published (by the roles below).",
    },
    privilegedPortRoles={
        "type": "array",
        "items": {"type": "string"},
        "default": ["proxy"],
        "description": "Container roles (label openwebui.role) allowed to publish privileged host ports.",
    },
)


def _ports(container: ContainerView) -> list[dict[str, Any]] | None:
    ports = as_list(container.get("ports"))
    if ports is UNKNOWN:
        return None
    return [port for port in ports if isinstance(port, dict)]


def validate_privileged_ports(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    allowed_ports = {int(p) for p in setting(args, PRIVILEGED_PORTS_SCHEMA, "allowedPrivilegedPorts")}
    allowed_roles = set(setting(args, PRIVILEGED_PORTS_SCHEMA, "privilegedPortRoles"))
    role = container.role
    for port in _ports(container) or []:
        external = as_int(port.get("external"))
        if not isinstance(external, int) or not 0 < external < 1025:
            continue
        if role is UNKNOWN:
            continue
        if role not in allowed_roles or external not in allowed_ports:
            report_violation(
                f"publishes privileged host port {external} (role {role!r}); only roles {sorted(allowed_roles)} "
                f"may publish ports {sorted(allowed_ports)} below 1025.",
                None,
            )


BIND_IP_SCHEMA: Final = schema(
    allowedHostIps={
        "type": "array",
        "items": {"type": "string"},
        "default": ["127.0.0.1"],
        "description": "Host addresses a published port may bind to.",
    },
    allowAllInterfaces={
        "type": "boolean",
        "default": False,
        "description": "Allow binding 0.0.0.0 / :: (every host interface).",
    },
)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip("[]")
    try:
        return ipaddress.ip_interface(text).ip
    except ValueError:
        return None


def validate_bind_ips(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    allow_all = bool(setting(args, BIND_IP_SCHEMA, "allowAllInterfaces"))
    allowed = {_address(ip) for ip in setting(args, BIND_IP_SCHEMA, "allowedHostIps")} - {None}
    if container.get("publishAllPorts") is True:
        report_violation("`publishAllPorts` publishes every exposed port on all host interfaces.", None)
    for port in _ports(container) or []:
        ip = port.get("ip")
        if ip is UNKNOWN:
            continue
        text = ip if isinstance(ip, str) else ""
        address = _address(text) if text.strip() else ipaddress.ip_address("0.0.0.0")
        if address is None:
            report_violation(f"port {port.get('internal')} binds to {text!r}, which is not an IP address.", None)
            continue
        if address.is_unspecified:
            if not allow_all:
                report_violation(
                    f"port {port.get('internal')} binds to all host interfaces ({text or '0.0.0.0 by default'}); "
                    f"set `ip` to one of {sorted(map(str, allowed))}.",
                    None,
                )
            continue
        if address not in allowed:
            report_violation(
                f"port {port.get('internal')} binds to {text!r}, which is not in the policy config "
                f"`allowedHostIps` {sorted(map(str, allowed))}.",
                None,
            )


# --- namespaces (CIS 5.10, 5.16, 5.17, 5.31) ---------------------------------------------------------


def host_namespace_validator(prop: str, what: str) -> Validator:
    """A validator refusing ``<prop> = "host"`` (sharing the host's ``what`` namespace)."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        container = container_view(args.resource_type, args.props)
        if container is None:
            return
        value = container.get(prop)
        if isinstance(value, str) and value.strip().lower() == "host":
            report_violation(f"`{prop}` is \"host\": the container shares the host's {what} namespace.", None)

    validate.__name__ = f"validate_no_host_{prop}"
    return validate


validate_no_host_network = host_namespace_validator("networkMode", "network")
validate_no_host_pid = host_namespace_validator("pidMode", "PID")
validate_no_host_ipc = host_namespace_validator("ipcMode", "IPC")
validate_no_host_userns = host_namespace_validator("usernsMode", "user")


# --- resources (CIS 5.11, 5.12, 5.29) ----------------------------------------------------------------


def validate_memory_limit(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    memory = as_int(container.get("memory"))
    if memory is UNKNOWN:
        return
    if memory is None or memory <= 0:
        report_violation("`memory` (MB) is not set, so the container may use all host memory.", None)


def _positive_float(value: Any) -> bool:
    try:
        return float(str(value).strip()) > 0
    except ValueError:
        return False


def validate_cpu_limit(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    cpus, shares = container.get("cpus"), as_int(container.get("cpuShares"))
    if cpus is UNKNOWN or shares is UNKNOWN:
        return
    if cpus not in (None, "") and _positive_float(cpus):
        return
    # Docker treats 0 and 1024 shares as "no priority set" (docker-bench warns on both).
    if isinstance(shares, int) and shares > 0 and shares != 1024:
        return
    report_violation("neither `cpus` (> 0) nor `cpuShares` (other than 0 and 1024) is set.", None)


PROCESSES_SCHEMA: Final = schema(
    maxProcesses={
        "type": "integer",
        "default": 2048,
        "description": "Highest accepted hard `nproc` ulimit.",
    }
)


def validate_process_limit(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    ulimits = as_list(container.get("ulimits"))
    if ulimits is UNKNOWN:
        return
    maximum = int_setting(args, PROCESSES_SCHEMA, "maxProcesses")
    for ulimit in ulimits:
        if isinstance(ulimit, dict) and ulimit.get("name") == "nproc":
            hard = as_int(ulimit.get("hard"))
            if hard is UNKNOWN:
                return
            if isinstance(hard, int) and 0 < hard <= maximum:
                return
            report_violation(f"the `nproc` ulimit's hard limit {hard} is not within 1..{maximum}.", None)
            return
    report_violation(f"no `nproc` ulimit: set `ulimits=[{{name: nproc, soft: N, hard: N}}]` with N <= {maximum}.",
                     None)


# --- filesystem, restart, cgroup, security options (CIS 5.13, 5.15, 5.25, 5.2/5.3/5.22, 5.26) -------


def validate_read_only_rootfs(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None or container.get("readOnly") is UNKNOWN:
        return
    if container.get("readOnly") is not True:
        report_violation("`readOnly` is not true: the root filesystem is writable.", None)


RESTART_SCHEMA: Final = schema(
    allowedPolicies={
        "type": "array",
        "items": {"type": "string"},
        "default": ["unless-stopped", "on-failure"],
        "description": "Accepted `restart` policies.",
    },
    maxRetryCount={
        "type": "integer",
        "default": 5,
        "description": "Highest `maxRetryCount` for restart=on-failure.",
    },
)


def validate_restart_policy(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    restart = container.get("restart")
    if restart is UNKNOWN:
        return
    restart = restart.strip() if isinstance(restart, str) and restart.strip() else "no"
    allowed = list(setting(args, RESTART_SCHEMA, "allowedPolicies"))
    if restart not in allowed:
        report_violation(f"`restart` is {restart!r}; use one of {allowed}.", None)
        return
    if restart == "on-failure":
        maximum = int_setting(args, RESTART_SCHEMA, "maxRetryCount")
        retries = as_int(container.get("maxRetryCount"))
        # Docker reads 0 (the default) as "retry forever".
        if retries is not UNKNOWN and not (isinstance(retries, int) and 1 <= retries <= maximum):
            report_violation(f"restart=on-failure needs `maxRetryCount` in 1..{maximum}, got {retries}.", None)


def validate_no_cgroup_parent(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    parent = container.get("cgroupParent")
    if isinstance(parent, str) and parent.strip():
        report_violation(f"`cgroupParent` is set to {parent!r}, moving the container out of Docker's cgroup.", None)


def _security_opts(container: ContainerView) -> list[tuple[str, str]] | None:
    """``securityOpts`` as lower-case (key, value) pairs; Docker accepts ``key:value`` and ``key=value``."""
    opts = as_list(container.get("securityOpts"))
    if opts is UNKNOWN:
        return None
    pairs = []
    for opt in opts:
        if not isinstance(opt, str):
            continue
        separator = re.search(r"[:=]", opt)
        key, value = (opt[: separator.start()], opt[separator.end():]) if separator else (opt, "")
        pairs.append((key.strip().lower(), value.strip().lower()))
    return pairs


def validate_no_unconfined_profiles(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    for key, value in _security_opts(container) or []:
        if (key in ("seccomp", "apparmor", "systempaths") and value == "unconfined") or (
            key == "label" and value == "disable"
        ):
            report_violation(f"`securityOpts` disables a kernel protection profile: {key}={value}.", None)


def validate_no_new_privileges(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    pairs = _security_opts(container)
    if pairs is None:
        return
    settings = [value for key, value in pairs if key == "no-new-privileges"]
    if not settings or any(value not in ("", "true") for value in settings):
        report_violation("`securityOpts` must contain \"no-new-privileges:true\" (and never :false).", None)


# --- healthcheck, network (CIS 5.27, 5.30) -----------------------------------------------------------


def validate_healthcheck(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    check = container.get("healthcheck")
    if check is UNKNOWN:
        return
    tests = as_list(check.get("tests")) if isinstance(check, dict) else []
    if tests is UNKNOWN:
        return
    first = tests[0] if tests else None
    if first is UNKNOWN:
        return
    if not tests or (isinstance(first, str) and first.strip().upper() == "NONE"):
        report_violation("no `healthcheck` with a test command (the policy cannot see an image's HEALTHCHECK).",
                         None)


DEFAULT_NETWORK_NAMES: Final = frozenset({"bridge", "host", "none", "default"})


def validate_user_defined_network(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    container = container_view(args.resource_type, args.props)
    if container is None:
        return
    networks = as_list(container.get("networksAdvanced"))
    if networks is UNKNOWN:
        return
    names = [n.get("name") for n in networks if isinstance(n, dict)]
    if not names:
        report_violation("no `networksAdvanced` entry: the container sits on the default docker0 bridge.", None)
        return
    for name in names:
        if isinstance(name, str) and name.strip().lower() in DEFAULT_NETWORK_NAMES:
            report_violation(f"`networksAdvanced` uses Docker's built-in network {name!r}.", None)


# --- image pinning (no CIS section 5 id: the supply-chain rule, never a tag that moves) ------------------

PIN_SCHEMA: Final = schema(
    allowFloatingTags={
        "type": "boolean",
        "default": False,
        "description": "Accept floating tags (latest, main, slim, dev, no tag); true only for dev.",
    }
)

# `\Z`, not `$`: `$` also matches before a final newline ("v1.2.3\n" is not a pinned tag).
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}\Z")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")
_PINNED_TAGS: Final = (
    # v1.2.3, 1.2.3, v1.2.3-slim, 7.4.1-alpine
    re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+(?:-[A-Za-z0-9][A-Za-z0-9._-]*)?\Z"),
    re.compile(r"^git-[0-9a-f]{7,40}(?:-slim)?\Z"),  # git-<sha>-slim
)


def split_image_reference(reference: str) -> tuple[str, str | None, str | None]:
    """``registry[:port]/path[:tag][@digest]`` -> (name, tag, digest)."""
    name, _, digest = reference.strip().partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        tag = last.rsplit(":", 1)[1]
        name = name[: -(len(tag) + 1)]
    return name, tag, (digest or None)


def image_pin_problem(reference: str) -> str | None:
    """Why ``reference`` can change under the same name, or None when it is pinned."""
    if any(char.isspace() or not char.isprintable() for char in reference):
        # Stripping would make "v1.2.3\n" look pinned; Docker itself refuses such a name.
        return f"image {reference!r} contains whitespace or control characters."
    if _IMAGE_ID.match(reference.strip()):
        return None  # an image id (what RemoteImage.imageId hands to the container) is content-addressed
    _, tag, digest = split_image_reference(reference)
    if digest is not None:
        return None if _DIGEST.match(digest) else f"image {reference!r} has a malformed digest."
    if tag is None:
        return f"image {reference!r} has no tag, so Docker pulls `latest`."
    if any(pattern.match(tag) for pattern in _PINNED_TAGS):
        return None
    return (f"image {reference!r} uses the floating tag {tag!r}; pin `vX.Y.Z[-slim]`, `X.Y.Z`, "
            "`git-<sha>-slim` or `@sha256:<digest>`.")


def _image_references(args: ResourceValidationArgs) -> list[tuple[str, str]]:
    """(where, reference) pairs for a Container's image label and image, or a RemoteImage's name."""
    if args.resource_type == REMOTE_IMAGE:
        name = plain(args.props).get("name")
        return [("`name`", name)] if isinstance(name, str) else []
    container = container_view(args.resource_type, args.props)
    if container is None:
        return []
    found = []
    if container.labels is not UNKNOWN:
        label = container.labels.get(IMAGE_LABEL)
        if isinstance(label, str) and label.strip():
            found.append((f"label {IMAGE_LABEL}", label))
    image = container.get("image")
    if isinstance(image, str) and image.strip():
        found.append(("`image`", image))
    return found


def validate_pinned_image(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if setting(args, PIN_SCHEMA, "allowFloatingTags"):
        return
    for where, reference in _image_references(args):
        problem = image_pin_problem(reference)
        if problem:
            report_violation(f"{where}: {problem}", None)


# --- the policy objects ------------------------------------------------------------------------------


def _container_policy(
    name: str,
    description: str,
    validate: Validator,
    severity: Severity,
    steps: str,
    config_schema: Any = None,
    enforcement_level: EnforcementLevel | None = None,
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        severity=severity,
        remediation_steps=steps,
        config_schema=config_schema,
        enforcement_level=enforcement_level,
        tags=["cis-docker", "docker-container"],
    )


CONTAINER_POLICIES: Final[list[ResourceValidationPolicy]] = [
    _container_policy(
        "docker-container-disallow-root-user",
        cis("4.1", "every container runs as a numeric non-root uid; set `user=\"<uid>:<gid>\"` with uid and "
                   "gid not 0."),
        validate_non_root_user, Severity.CRITICAL,
        "Set `user` to a numeric uid:gid other than 0 (e.g. \"1000:1000\") and make the image's writable paths "
        "owned by it.",
    ),
    _container_policy(
        "docker-container-drop-all-capabilities",
        cis("5.4", "containers drop ALL capabilities and add back only allowlisted ones; set "
                   "`capabilities={drops: [\"ALL\"], adds: [...]}`."),
        validate_drop_all_capabilities, Severity.HIGH,
        "Set `capabilities.drops=[\"ALL\"]`; add a capability back only if it is in the policy config "
        "`allowedCapabilities` for this environment.",
        CAPABILITIES_SCHEMA,
    ),
    _container_policy(
        "docker-container-disallow-privileged",
        cis("5.5", "containers never run privileged; remove `privileged=True`."),
        validate_not_privileged, Severity.CRITICAL, "Remove `privileged` or set it to false.",
    ),
    _container_policy(
        "docker-container-disallow-sensitive-host-mounts",
        cis("5.6", "host system directories (/, /boot, /dev, /etc, /lib, /proc, /sys, /usr, ...) are never "
                   "mounted writable; mount them read-only or use a named volume."),
        validate_no_sensitive_host_mounts, Severity.HIGH,
        "Use a named Docker volume, or set `readOnly=True` on the bind mount.",
    ),
    _container_policy(
        "docker-container-restrict-privileged-ports",
        cis("5.8", "only the proxy publishes host ports below 1025 (80 and 443); publish other containers on "
                   "high ports or not at all."),
        validate_privileged_ports, Severity.MEDIUM,
        "Publish ports below 1025 only from the proxy, and only those listed in the policy config.",
        PRIVILEGED_PORTS_SCHEMA,
    ),
    _container_policy(
        "docker-container-disallow-host-network",
        cis("5.10", "containers never share the host network namespace; remove `networkMode=\"host\"`."),
        validate_no_host_network, Severity.CRITICAL, "Attach the container to a user-defined network instead.",
    ),
    _container_policy(
        "docker-container-limit-memory",
        cis("5.11", "every container has a memory limit; set `memory` (MB)."),
        validate_memory_limit, Severity.MEDIUM, "Set `memory` to the container's budget in MB.",
    ),
    _container_policy(
        "docker-container-limit-cpu",
        cis("5.12", "every container has a CPU limit or priority; set `cpus` (such as \"1.5\") or `cpuShares`."),
        validate_cpu_limit, Severity.MEDIUM, "Set `cpus` (a hard cap) or `cpuShares` (a relative weight, not 1024).",
    ),
    _container_policy(
        "docker-container-require-read-only-rootfs",
        cis("5.13", "root filesystems are read-only; set `readOnly=True` and give writable paths a tmpfs or volume."),
        validate_read_only_rootfs, Severity.MEDIUM,
        "Set `readOnly=True`; mount `tmpfs` for /tmp and the like and volumes for data.",
    ),
    _container_policy(
        "docker-container-bind-ports-to-allowed-ips",
        cis("5.14", "published ports bind to an explicit host address from the policy config, never 0.0.0.0; "
                    "set `ports[].ip`."),
        validate_bind_ips, Severity.HIGH,
        "Set `ip` on every published port to an address listed in the policy config `allowedHostIps`.",
        BIND_IP_SCHEMA,
    ),
    _container_policy(
        "docker-container-bound-restart-policy",
        cis("5.15", "restarts are bounded: `restart=\"unless-stopped\"` or `\"on-failure\"` with "
                    "`maxRetryCount` 1..5."),
        validate_restart_policy, Severity.MEDIUM,
        "Set `restart=\"unless-stopped\"`, or `restart=\"on-failure\"` with `maxRetryCount` within the limit.",
        RESTART_SCHEMA,
    ),
    _container_policy(
        "docker-container-disallow-host-pid",
        cis("5.16", "containers never share the host PID namespace; remove `pidMode=\"host\"`."),
        validate_no_host_pid, Severity.CRITICAL, "Remove `pidMode`.",
    ),
    _container_policy(
        "docker-container-disallow-host-ipc",
        cis("5.17", "containers never share the host IPC namespace; remove `ipcMode=\"host\"`."),
        validate_no_host_ipc, Severity.HIGH, "Remove `ipcMode` or set it to \"private\".",
    ),
    _container_policy(
        "docker-container-disallow-shared-mount-propagation",
        cis("5.20", "bind mounts never use shared propagation; drop `bindOptions.propagation` or use \"rprivate\"."),
        validate_no_shared_propagation, Severity.MEDIUM, "Remove `bindOptions.propagation` (default rprivate).",
    ),
    _container_policy(
        "docker-container-disallow-unconfined-profiles",
        cis("5.2/5.3/5.22", "seccomp, AppArmor and SELinux stay on; remove `seccomp=unconfined`, "
                            "`apparmor=unconfined`, `label=disable` and `systempaths=unconfined` from `securityOpts`."),
        validate_no_unconfined_profiles, Severity.HIGH, "Remove the unconfined entries from `securityOpts`.",
    ),
    _container_policy(
        "docker-container-disallow-cgroup-parent",
        cis("5.25", "containers stay in Docker's own cgroup; remove `cgroupParent`."),
        validate_no_cgroup_parent, Severity.MEDIUM, "Remove `cgroupParent`.",
    ),
    _container_policy(
        "docker-container-require-no-new-privileges",
        cis("5.26", "processes cannot gain privileges; add \"no-new-privileges:true\" to `securityOpts`."),
        validate_no_new_privileges, Severity.HIGH, "Add \"no-new-privileges:true\" to `securityOpts`.",
    ),
    _container_policy(
        "docker-container-require-healthcheck",
        cis("5.27", "every container declares a healthcheck; set `healthcheck={tests: [\"CMD\", ...]}`."),
        validate_healthcheck, Severity.MEDIUM,
        "Set `healthcheck.tests` to a command that fails when the service is unhealthy.",
    ),
    _container_policy(
        "docker-container-limit-processes",
        cis("5.29", "pulumi-docker 5.x has no `pidsLimit`, so an `nproc` ulimit bounds fork bombs instead; "
                    "set `ulimits=[{name: \"nproc\", soft: N, hard: N}]`."),
        validate_process_limit, Severity.LOW,
        "Add an `nproc` ulimit. It counts every process of the container's uid on the host, so size it for all "
        "containers sharing that uid; or set the PIDs limit after creation with `docker update --pids-limit`.",
        PROCESSES_SCHEMA,
        EnforcementLevel.ADVISORY,
    ),
    _container_policy(
        "docker-container-use-user-defined-network",
        cis("5.30", "containers join a user-defined network, not docker0; set `networksAdvanced=[{name: ...}]`."),
        validate_user_defined_network, Severity.MEDIUM,
        "Create a `docker.Network` and attach the container with `networksAdvanced`.",
    ),
    _container_policy(
        "docker-container-disallow-host-userns",
        cis("5.31", "containers never share the host user namespace; remove `usernsMode=\"host\"`."),
        validate_no_host_userns, Severity.HIGH, "Remove `usernsMode`.",
    ),
    _container_policy(
        "docker-container-disallow-docker-socket",
        cis("5.32", "the Docker (or containerd) socket is never mounted, not even read-only; remove the mount."),
        validate_no_runtime_socket, Severity.CRITICAL, "Remove the mount of the runtime socket or its directory.",
    ),
    _container_policy(
        "docker-image-require-pinned-tag",
        "Supply chain (no CIS section 5 id): images are pinned outside dev; use `vX.Y.Z[-slim]`, `X.Y.Z`, "
        "`git-<sha>-slim` or `@sha256:` instead of latest/main/slim/dev or no tag.",
        validate_pinned_image, Severity.HIGH,
        "Set the image reference in stack config to a pinned tag or a digest; only dev.json sets "
        "`allowFloatingTags`.",
        PIN_SCHEMA,
    ),
]
