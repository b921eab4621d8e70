"""CIS Docker Benchmark section 5 (and 4.1), reproduced from `docker inspect` JSON.

docker-bench-security is not installable here, so its container checks are redone in Python.
Ids follow docker-bench-security 1.6.0 (one higher than the CIS 1.6.0 document from 5.2 on:
docker-bench's 5.1 is the swarm check). Each check gives pass, fail, or exception: an exception is
a deviation the project accepts knowingly, with the reason in the finding.

    findings = check_container(json.loads(docker("inspect", name))[0])
    failures(findings)  # the ones that are not acceptable
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Iterable, Optional, Sequence

PROXY_ROLE = "proxy"
ROLE_LABEL = "openwebui.role"
SENSITIVE_DIRS = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr")
DEFAULT_NETWORKS = ("bridge", "default")
PROXY_PRIVILEGED_PORTS = (80, 443)
# The one-shot data-volume ownership step (scripts/run-volume-owner): the only role that may run as
# root, and then only with these capabilities, no network, a read-only root and no-new-privileges,
# and only as a finished one-shot (policy/README.md, "Exceptions").
VOLUME_OWNER_ROLE = "volume-owner"
VOLUME_OWNER_CAPS = frozenset({"CHOWN"})


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    EXCEPTION = "exception"


@dataclass(frozen=True)
class Finding:
    cis_id: str
    title: str
    status: Status
    reason: str

    def __str__(self) -> str:
        return f"{self.cis_id} {self.status.value:9} {self.title}: {self.reason}"


@dataclass(frozen=True)
class Options:
    """What differs per deployment; the defaults are the project's dev/test expectations."""

    # None: decide from the openwebui.role label.
    is_proxy: Optional[bool] = None
    allowed_bind_ips: Optional[Sequence[str]] = None  # None: any explicit, non-wildcard address
    allowed_cap_adds: Sequence[str] = ()
    # CIS 5.29: pulumi-docker 5.x has no pids_limit input; unset is a documented exception
    # unless the caller demands it (the program applies `docker update --pids-limit`).
    require_pids_limit: bool = False


Check = Callable[[dict[str, Any], Options], Finding]
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    CHECKS.append(fn)
    return fn


def check_container(inspect: dict[str, Any], options: Options = Options()) -> list[Finding]:
    """Every check on one container's `docker inspect` object."""
    return [fn(inspect, options) for fn in CHECKS]


def failures(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.status is Status.FAIL]


def inspect_containers(*names: str) -> list[dict[str, Any]]:
    proc = subprocess.run(["docker", "inspect", *names], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"docker inspect {' '.join(names)}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def _result(cis_id: str, title: str, ok: bool, reason: str) -> Finding:
    return Finding(cis_id, title, Status.PASS if ok else Status.FAIL, reason)


def _host(c: dict[str, Any]) -> dict[str, Any]:
    return c.get("HostConfig") or {}


def _security_opts(c: dict[str, Any]) -> list[str]:
    return [opt.replace("=", ":", 1) for opt in _host(c).get("SecurityOpt") or []]


def _mounts(c: dict[str, Any]) -> list[dict[str, Any]]:
    """Mounts of a running or created container (Mounts), plus -v binds not yet realised."""
    mounts = list(c.get("Mounts") or [])
    seen = {m.get("Destination") for m in mounts}
    for bind in _host(c).get("Binds") or []:
        parts = bind.split(":")
        if len(parts) >= 2 and parts[1] not in seen:
            opts = parts[2].split(",") if len(parts) > 2 else []
            mounts.append({"Type": "bind", "Source": parts[0], "Destination": parts[1],
                           "RW": "ro" not in opts,
                           "Propagation": next((o for o in opts if "shared" in o or "slave" in o
                                                or o == "private"), "")})
    for mount in _host(c).get("Mounts") or []:  # --mount / API mounts of a created container
        if mount.get("Target") not in seen:
            mounts.append({"Type": mount.get("Type"), "Source": mount.get("Source", ""),
                           "Destination": mount.get("Target"), "RW": not mount.get("ReadOnly"),
                           "Propagation": (mount.get("BindOptions") or {}).get("Propagation", "")})
    return mounts


def _published(c: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(container port, host port, host IP) of every published port."""
    bindings = _host(c).get("PortBindings") or {}
    found = []
    for container_port, hosts in bindings.items():
        for binding in hosts or []:
            host_port = binding.get("HostPort") or "0"
            found.append((container_port, int(host_port.split("-")[0]), binding.get("HostIp", "")))
    return found


def _is_proxy(c: dict[str, Any], options: Options) -> bool:
    if options.is_proxy is not None:
        return options.is_proxy
    return ((c.get("Config") or {}).get("Labels") or {}).get(ROLE_LABEL) == PROXY_ROLE


def _role(c: dict[str, Any]) -> str:
    return ((c.get("Config") or {}).get("Labels") or {}).get(ROLE_LABEL) or ""


def volume_owner_confined(c: dict[str, Any]) -> Optional[str]:
    """For the volume-owner role: None when it is confined as the exception requires, else why not."""
    host = _host(c)
    added = {cap.upper().removeprefix("CAP_") for cap in host.get("CapAdd") or []}
    dropped = {cap.upper().removeprefix("CAP_") for cap in host.get("CapDrop") or []}
    opts = _security_opts(c)
    problems = []
    if host.get("NetworkMode") != "none":
        problems.append(f"NetworkMode={host.get('NetworkMode')!r}, not 'none'")
    if not host.get("ReadonlyRootfs"):
        problems.append("root filesystem writable")
    if "ALL" not in dropped or not added <= VOLUME_OWNER_CAPS:
        problems.append(f"capabilities CapDrop={sorted(dropped)} CapAdd={sorted(added)}")
    if "no-new-privileges" not in opts and "no-new-privileges:true" not in opts:
        problems.append("no-new-privileges not set")
    if host.get("Privileged") or _published(c):
        problems.append("privileged or publishes ports")
    if (c.get("State") or {}).get("Running"):
        problems.append("still running (it is a one-shot)")
    return "; ".join(problems) or None


def _volume_owner_exception(c: dict[str, Any], cis_id: str, title: str) -> Optional[Finding]:
    if _role(c) != VOLUME_OWNER_ROLE or volume_owner_confined(c) is not None:
        return None
    return Finding(cis_id, title, Status.EXCEPTION,
                   f"role {VOLUME_OWNER_ROLE}: the one-shot data-volume ownership step runs as root with "
                   f"only {sorted(VOLUME_OWNER_CAPS)}, no network, read-only root, no-new-privileges, "
                   "and has exited; it chowns a volume that upstream's root-run image left root's")


@check
def user_not_root(c: dict[str, Any], _: Options) -> Finding:
    user = ((c.get("Config") or {}).get("User") or "").strip()
    name = user.split(":", 1)[0]
    uid_zero = name == "root" or (name.isdigit() and int(name) == 0)
    ok = bool(name) and not uid_zero
    if not ok:
        excepted = _volume_owner_exception(c, "4.1", "container runs as a non-root user")
        if excepted:
            return excepted
    return _result("4.1", "container runs as a non-root user", ok,
                   f"Config.User={user!r}" + ("" if ok else " is uid 0 (empty means the image's root)"))


@check
def apparmor_profile(c: dict[str, Any], _: Options) -> Finding:
    profile = c.get("AppArmorProfile") or ""
    opts = _security_opts(c)
    title = "AppArmor profile applied"
    if profile == "unconfined" or "apparmor:unconfined" in opts:
        return Finding("5.2", title, Status.FAIL, "AppArmor explicitly unconfined")
    if not profile:
        return Finding("5.2", title, Status.EXCEPTION,
                       "no AppArmor profile: the Docker host has no AppArmor (docker info lists "
                       "seccomp only); on an AppArmor host Docker applies docker-default")
    return _result("5.2", title, True, f"AppArmorProfile={profile}")


@check
def security_options_set(c: dict[str, Any], _: Options) -> Finding:
    opts = _host(c).get("SecurityOpt") or []
    return _result("5.3", "security options set (SecurityOpt not empty)", bool(opts), f"SecurityOpt={opts}")


@check
def capabilities_restricted(c: dict[str, Any], options: Options) -> Finding:
    def norm(caps: Optional[list[str]]) -> set[str]:
        return {cap.upper().removeprefix("CAP_") for cap in caps or []}

    dropped, added = norm(_host(c).get("CapDrop")), norm(_host(c).get("CapAdd"))
    allowed = norm(list(options.allowed_cap_adds))
    problems = []
    if "ALL" not in dropped:
        problems.append(f"CapDrop={sorted(dropped)} does not drop ALL")
    if added - allowed:
        excepted = _volume_owner_exception(
            c, "5.4", "kernel capabilities restricted (drop ALL, allowlisted adds)")
        if excepted and not problems:
            return excepted
        problems.append(f"CapAdd {sorted(added - allowed)} not in the allowlist {sorted(allowed)}")
    return _result("5.4", "kernel capabilities restricted (drop ALL, allowlisted adds)", not problems,
                   "; ".join(problems) or f"CapDrop=ALL, CapAdd={sorted(added)}")


@check
def not_privileged(c: dict[str, Any], _: Options) -> Finding:
    privileged = bool(_host(c).get("Privileged"))
    return _result("5.5", "not privileged", not privileged, f"Privileged={privileged}")


@check
def no_sensitive_host_dirs(c: dict[str, Any], _: Options) -> Finding:
    writable = []
    for mount in _mounts(c):
        source = (mount.get("Source") or "").rstrip("/") or "/"
        sensitive = mount.get("Type") == "bind" and any(
            source == d or (d != "/" and source.startswith(d + "/")) for d in SENSITIVE_DIRS)
        if sensitive and mount.get("RW", True):
            writable.append(f"{source}->{mount.get('Destination')}")
    return _result("5.6", "no sensitive host directory mounted writable", not writable,
                   f"writable: {writable}" if writable else "none")


@check
def no_privileged_ports(c: dict[str, Any], options: Options) -> Finding:
    low = [(cp, hp) for cp, hp, _ in _published(c) if 0 < hp < 1025]
    title = "no privileged host ports (< 1025)"
    if not low:
        return _result("5.8", title, True, "none")
    if _is_proxy(c, options) and all(hp in PROXY_PRIVILEGED_PORTS for _, hp in low):
        return Finding("5.8", title, Status.EXCEPTION,
                       f"proxy publishes {sorted(hp for _, hp in low)}: HTTP/HTTPS on their standard ports")
    return _result("5.8", title, False, f"host ports {low}")


@check
def host_network_not_shared(c: dict[str, Any], _: Options) -> Finding:
    mode = _host(c).get("NetworkMode") or ""
    return _result("5.10", "host network namespace not shared", mode != "host", f"NetworkMode={mode!r}")


@check
def memory_limited(c: dict[str, Any], _: Options) -> Finding:
    memory = _host(c).get("Memory") or 0
    return _result("5.11", "memory limited", memory > 0, f"Memory={memory}")


@check
def cpu_limited(c: dict[str, Any], _: Options) -> Finding:
    host = _host(c)
    values = {k: host.get(k) or 0 for k in ("NanoCpus", "CpuShares", "CpuQuota")}
    return _result("5.12", "CPU share or limit set", any(v > 0 for v in values.values()), f"{values}")


@check
def read_only_root(c: dict[str, Any], _: Options) -> Finding:
    read_only = bool(_host(c).get("ReadonlyRootfs"))
    return _result("5.13", "root filesystem read-only", read_only, f"ReadonlyRootfs={read_only}")


@check
def ports_bound_to_specific_ip(c: dict[str, Any], options: Options) -> Finding:
    bad = []
    for container_port, host_port, ip in _published(c):
        wildcard = ip in ("", "0.0.0.0", "::")
        if wildcard or (options.allowed_bind_ips is not None and ip not in options.allowed_bind_ips):
            bad.append(f"{ip or '0.0.0.0'}:{host_port}->{container_port}")
    published = [f"{ip}:{hp}" for _, hp, ip in _published(c)]
    return _result("5.14", "published ports bound to a specific host address", not bad,
                   f"not allowed: {bad}" if bad else f"published {published or 'nothing'}")


@check
def restart_bounded(c: dict[str, Any], _: Options) -> Finding:
    policy = _host(c).get("RestartPolicy") or {}
    name, retries = policy.get("Name") or "no", policy.get("MaximumRetryCount") or 0
    title = "restart attempts bounded (on-failure <= 5)"
    if name == "on-failure":
        return _result("5.15", title, 0 < retries <= 5, f"on-failure:{retries}")
    if name in ("no", ""):
        return _result("5.15", title, True, "restart=no: never restarted")
    return Finding("5.15", title, Status.EXCEPTION,
                   f"restart={name}: restarted without a count so the service survives crashes and "
                   "daemon restarts; a crash loop shows in the health status and restart count")


@check
def pid_namespace_not_shared(c: dict[str, Any], _: Options) -> Finding:
    mode = _host(c).get("PidMode") or ""
    return _result("5.16", "host PID namespace not shared", mode != "host", f"PidMode={mode!r}")


@check
def ipc_namespace_not_shared(c: dict[str, Any], _: Options) -> Finding:
    mode = _host(c).get("IpcMode") or ""
    return _result("5.17", "host IPC namespace not shared", mode != "host", f"IpcMode={mode!r}")


@check
def no_host_devices(c: dict[str, Any], _: Options) -> Finding:
    devices = [d.get("PathOnHost") for d in _host(c).get("Devices") or []]
    return _result("5.18", "no host devices exposed", not devices, f"Devices={devices}")


@check
def mount_propagation_not_shared(c: dict[str, Any], _: Options) -> Finding:
    shared = [m.get("Destination") for m in _mounts(c) if m.get("Propagation") in ("shared", "rshared")]
    return _result("5.20", "no shared mount propagation", not shared, f"shared: {shared}" if shared else "none")


@check
def uts_namespace_not_shared(c: dict[str, Any], _: Options) -> Finding:
    mode = _host(c).get("UTSMode") or ""
    return _result("5.21", "host UTS namespace not shared", mode != "host", f"UTSMode={mode!r}")


@check
def seccomp_not_disabled(c: dict[str, Any], _: Options) -> Finding:
    unconfined = "seccomp:unconfined" in _security_opts(c) or bool(_host(c).get("Privileged"))
    return _result("5.22", "default seccomp profile not disabled", not unconfined,
                   "seccomp unconfined" if unconfined else "default or custom profile")


@check
def cgroup_parent_default(c: dict[str, Any], _: Options) -> Finding:
    parent = _host(c).get("CgroupParent") or ""
    return _result("5.25", "cgroup parent not overridden", not parent, f"CgroupParent={parent!r}")


@check
def no_new_privileges(c: dict[str, Any], _: Options) -> Finding:
    opts = _security_opts(c)
    ok = "no-new-privileges" in opts or "no-new-privileges:true" in opts
    return _result("5.26", "no-new-privileges set", ok, f"SecurityOpt={_host(c).get('SecurityOpt') or []}")


@check
def healthcheck_defined(c: dict[str, Any], _: Options) -> Finding:
    test = ((c.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    ok = bool(test) and test[0] != "NONE"
    health = ((c.get("State") or {}).get("Health") or {}).get("Status")
    reason = f"Healthcheck={test[:3]}" + (f", health={health}" if health else "")
    return _result("5.27", "health check defined", ok, reason if ok else "no Config.Healthcheck")


@check
def pids_limited(c: dict[str, Any], options: Options) -> Finding:
    limit = _host(c).get("PidsLimit") or 0
    title = "PIDs cgroup limit set"
    if limit > 0:
        return _result("5.29", title, True, f"PidsLimit={limit}")
    if options.require_pids_limit:
        return _result("5.29", title, False, f"PidsLimit={limit or 'unset'}")
    return Finding("5.29", title, Status.EXCEPTION,
                   f"PidsLimit={limit or 'unset'}: pulumi-docker 5.x has no pids_limit input "
                   "(the program sets it with `docker update --pids-limit` after create)")


@check
def not_on_default_bridge(c: dict[str, Any], _: Options) -> Finding:
    mode = _host(c).get("NetworkMode") or ""
    networks = sorted(((c.get("NetworkSettings") or {}).get("Networks") or {}).keys())
    # What counts is what the container is attached to: pulumi-docker creates every container on its
    # networkMode ("bridge" by default) and then moves it onto its own networks, so HostConfig keeps "bridge"
    # for a container that is not on docker0 (docs/provider-contract.md C18, C19).
    on_default = "bridge" in networks or (not networks and mode in DEFAULT_NETWORKS)
    return _result("5.30", "not on the default bridge (docker0)", not on_default,
                   f"NetworkMode={mode!r}, networks={networks}")


@check
def userns_not_shared(c: dict[str, Any], _: Options) -> Finding:
    mode = _host(c).get("UsernsMode") or ""
    return _result("5.31", "host user namespace not shared", mode != "host", f"UsernsMode={mode!r}")


@check
def docker_socket_not_mounted(c: dict[str, Any], _: Options) -> Finding:
    sockets = [f"{m.get('Source')}->{m.get('Destination')}" for m in _mounts(c)
               if "docker.sock" in (m.get("Source") or "") or "docker.sock" in (m.get("Destination") or "")]
    return _result("5.32", "Docker socket not mounted (not even read-only)", not sockets,
                   f"mounted: {sockets}" if sockets else "none")


def summary(name: str, findings: Sequence[Finding]) -> str:
    """A few lines for reports: counts, then every fail and exception."""
    counts = {s: sum(f.status is s for f in findings) for s in Status}
    lines = [f"{name}: {counts[Status.PASS]} pass, {counts[Status.FAIL]} fail, "
             f"{counts[Status.EXCEPTION]} exception"]
    lines += [f"  {f}" for f in findings if f.status is not Status.PASS]
    return "\n".join(lines)
