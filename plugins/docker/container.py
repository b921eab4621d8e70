"""``docker:index/container:Container`` as pulumi-docker 5.1.0 behaves (rows C* and B* of
docs/provider-contract.md, where each is cited against terraform-provider-docker v4.5.0 and the bridge).

- Check fills the schema defaults and autonames ``name`` (B1, B2): kept from the old inputs, fresh when the engine
  re-checks for a create-before-delete replacement (it then passes no olds);
- Diff compares the recorded state with the new inputs; a change of a ForceNew property replaces, and the
  provider asks for delete-before-replace (an explicit ``delete_before_replace`` in the program wins: E-rows);
  a Computed property the program leaves out is not a change;
- Create = create, start, then (``wait``) poll every second until healthy (C33); a failure after the container
  exists is a partial create (C34, C35, B5): the engine records it with init errors;
- Create's state is the read-back form (Go durations, ``cpus`` as a decimal: C11, C13); Update's state is the input
  form, as upstream returns without a Read;
- Update applies restart policy, memory and swap to the running container and starts it when ``mustRun`` turns
  true; every other updatable property changes only the state (the Update note, B4);
- Read drops a container that is gone; a stopped one reads ``mustRun: false`` (C17);
- Delete stops with ``destroyGraceSeconds`` (0 when unset, which overrides ``stopTimeout``) and force-removes (C32).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from components.docker_forms import canonical, cpus_form, format_ns, parse
from plugins.docker.cli import api, docker, inspect
from plugins.protocol import (
    DEFAULTS_KEY,
    UNKNOWN,
    Diff,
    InitFailed,
    Props,
    ResourceType,
    has_unknown,
    property_diff,
)


@dataclass(frozen=True)
class Prop:
    name: str
    force_new: bool
    row: str
    # Optional+Computed upstream: left out by the program, the state's value is not a change.
    computed: bool = False


# Every container input the program uses, with the row that says whether a change replaces.
PROPERTIES = (
    Prop("name", True, "C1", computed=True), Prop("image", True, "C2"), Prop("envs", True, "C3", computed=True),
    Prop("user", True, "C4", computed=True), Prop("readOnly", True, "C5"), Prop("tmpfs", False, "C6"),
    Prop("capabilities", True, "C7"), Prop("securityOpts", True, "C8", computed=True),
    Prop("memory", False, "C9"), Prop("memorySwap", False, "C10"), Prop("cpus", True, "C11"),
    Prop("restart", False, "C12"), Prop("healthcheck", False, "C13", computed=True),
    Prop("labels", True, "C14", computed=True), Prop("logDriver", True, "C15", computed=True),
    Prop("logOpts", True, "C16"), Prop("mustRun", False, "C17"), Prop("networksAdvanced", True, "C18"),
    Prop("networkMode", True, "C19"), Prop("mounts", True, "C20"), Prop("hosts", True, "C21"),
    Prop("wait", False, "C22"), Prop("waitTimeout", False, "C23"), Prop("stopTimeout", True, "C24", computed=True),
    Prop("ports", True, "C25"), Prop("command", True, "C26", computed=True),
    Prop("entrypoints", True, "C27", computed=True), Prop("destroyGraceSeconds", False, "C28"),
    Prop("volumes", True, "C29"), Prop("start", False, "C30"), Prop("removeVolumes", False, "C30"),
    Prop("maxRetryCount", False, "C30"), Prop("cpuShares", False, "C30"),
)
BY_NAME = {p.name: p for p in PROPERTIES}
INPUT_NAMES = tuple(BY_NAME)
# Check's defaults (C12, C17, C19, C22, C23, C30).
DEFAULTS: Props = {
    "restart": "no", "networkMode": "bridge", "mustRun": True, "start": True, "wait": False, "waitTimeout": 60,
    "readOnly": False, "removeVolumes": True, "rm": False, "attach": False, "logs": False,
    "memoryReservation": 0, "tty": False, "stdinOpen": False, "containerReadRefreshTimeoutMilliseconds": 15000,
}
HEALTH_DEFAULTS: Props = {"interval": "0s", "timeout": "0s", "startPeriod": "0s", "startInterval": "0s",
                          "retries": 0}
# What Update sends to the running container (the Update note of the Container table).
UPDATE_APPLIES = ("restart", "maxRetryCount", "memory", "memorySwap", "cpuShares")
POLL_SECONDS = 1.0
HEALTH_TIMEOUT_MESSAGE = "container failed to be in healthy state"


def autoname(resource_name: str, random_seed: bytes) -> str:
    """B2: the resource name, a dash and 7 hex characters, from the engine's seed (stable across a preview and
    the update that follows it)."""
    seed = random_seed or os.urandom(16)
    return f"{resource_name}-{hashlib.sha256(seed).hexdigest()[:7]}"


def with_defaults(name: str, news: Props, olds: Props, random_seed: bytes, defaults: Props) -> Props:
    """B1, B2: the schema defaults and the autoname filled in, and which keys were defaulted (`__defaults`)."""
    checked = {**defaults, **news}
    defaulted = [key for key in defaults if key not in news]
    if not checked.get("name"):
        checked["name"] = olds.get("name") or autoname(name, random_seed)
        defaulted.append("name")
    checked[DEFAULTS_KEY] = sorted(defaulted)
    return checked


def read_back(inputs: Props) -> Props:
    """The state Create records: the inputs with the read-back forms of C11 and C13."""
    state = {k: v for k, v in inputs.items() if k != DEFAULTS_KEY}  # the bridge keeps __defaults in inputs only
    health = state.get("healthcheck")
    if isinstance(health, dict) and not has_unknown(health):
        state["healthcheck"] = {**health, **{k: canonical(v) for k, v in health.items()
                                             if k in ("interval", "timeout", "startPeriod", "startInterval")
                                             and isinstance(v, str)}}
    if state.get("cpus") not in (None, "", UNKNOWN):
        state["cpus"] = cpus_form(state["cpus"])
    return state


def _mounts_as_set(props: Props) -> Props:
    """C20: `mounts` is a TF set whose `read_only` is an Optional bool: an unset one is the zero value false in
    the set element (SDKv2), and Read always writes the daemon's bool back (KD cstruct getDockerContainerMounts),
    so `readOnly: false` and no `readOnly` are the same element."""
    mounts = props.get("mounts")
    if not isinstance(mounts, list):
        return props
    return {**props, "mounts": [{**m, "readOnly": bool(m.get("readOnly"))} if isinstance(m, dict) else m
                                for m in mounts]}


def container_diff(olds: Props, news: Props) -> Diff:
    relevant = [n for n in INPUT_NAMES if not (BY_NAME[n].computed and n not in news)]
    if news.get("user") == "":
        relevant.remove("user")  # C4: a new empty user is diff-suppressed upstream
    return property_diff(_mounts_as_set(olds), _mounts_as_set(news), relevant,
                         force_new=lambda n: BY_NAME[n].force_new, delete_before_replace=True)


class Container(ResourceType):
    token = "docker:index/container:Container"

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        checked = with_defaults(name, news, olds, random_seed, DEFAULTS)
        if isinstance(checked.get("healthcheck"), dict):
            checked["healthcheck"] = {**HEALTH_DEFAULTS, **checked["healthcheck"]}
        for port in checked.get("ports") or []:
            if isinstance(port, dict):
                port["ip"] = port.get("ip") or "0.0.0.0"
                port.setdefault("protocol", "tcp")
        return checked

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        return container_diff(olds, news)

    def preview_create(self, inputs: Props) -> Props:
        return read_back(inputs)

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        if any(part == "" for part in inputs.get("command") or []):
            raise RuntimeError("values for command may not be empty")  # C26, before anything exists
        container_id = _create(inputs)
        planned = {**inputs, "id": container_id}
        try:
            if inputs.get("start", True):
                docker("start", container_id)
            if inputs.get("wait"):
                if not inputs.get("healthcheck"):
                    raise RuntimeError("you have supplied a 'wait' argument, but the container does not have a "
                                       "healthcheck defined")
                _wait_healthy(container_id, int(inputs.get("waitTimeout") or 60))
        except (RuntimeError, TimeoutError) as exc:
            # After the container exists every failure is a partial create with the planned inputs (C34, C35).
            raise InitFailed(container_id, planned, str(exc)) from None
        found = inspect("container", container_id)
        return container_id, {**read_back(inputs), **(_read_fields(found, inputs) if found else {}),
                              "id": container_id}

    def read(self, resource_id: str, state: Props, inputs: Props) -> tuple[Props, Props] | None:
        found = inspect("container", resource_id)
        if found is None:
            return None
        return {**state, **_read_fields(found, state)}, inputs

    def update(self, resource_id: str, olds: Props, news: Props, old_inputs: Props, timeout: float) -> Props:
        if not container_diff(olds, news).changed:
            return olds  # B4: an empty diff hands the old state back (and clears init errors)
        if not olds.get("mustRun", True) and news.get("mustRun", True) and news.get("start", True):
            docker("start", resource_id)
        if any(olds.get(k) != news.get(k) for k in UPDATE_APPLIES):
            docker("update", *_update_flags(news), resource_id)
        return {**olds, **news}

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        grace = int(state.get("destroyGraceSeconds") or 0)
        docker("stop", "-t", str(grace), resource_id, check=False, timeout=grace + 120)
        docker("rm", "-f", *(["-v"] if state.get("removeVolumes", True) else []), resource_id, check=False)


def _read_fields(found: dict[str, Any], state: Props) -> Props:
    """What Read sets from `docker inspect` (the read-back column); envs, labels, networksAdvanced and volumes
    are never read back (C3, C14, C18, C29)."""
    host = found.get("HostConfig") or {}
    config = found.get("Config") or {}
    fields: Props = {"name": found["Name"].lstrip("/"), "readOnly": bool(host.get("ReadonlyRootfs")),
                     "memory": int(host.get("Memory") or 0) // (1024 * 1024),
                     "networkMode": host.get("NetworkMode", "")}
    if not state.get("image", "").startswith("sha256:"):
        fields["image"] = config.get("Image", state.get("image"))
    if config.get("User"):
        fields["user"] = config["User"]
    swap = int(host.get("MemorySwap") or 0)
    fields["memorySwap"] = swap // (1024 * 1024) if swap > 0 else swap
    if host.get("NanoCpus"):
        fields["cpus"] = cpus_form(int(host["NanoCpus"]) / 1e9)
    if (host.get("RestartPolicy") or {}).get("Name"):
        fields["restart"] = host["RestartPolicy"]["Name"]
    if host.get("Tmpfs"):
        fields["tmpfs"] = dict(host["Tmpfs"])
    if host.get("CapAdd") or host.get("CapDrop"):
        fields["capabilities"] = {k: v for k, v in (("adds", host.get("CapAdd")), ("drops", host.get("CapDrop")))
                                  if v}
    if host.get("SecurityOpt"):
        fields["securityOpts"] = list(host["SecurityOpt"])
    log = host.get("LogConfig") or {}
    if log.get("Type"):
        fields["logDriver"] = log["Type"]
    if state.get("logOpts"):
        fields["logOpts"] = dict(log.get("Config") or {})
    if host.get("ExtraHosts"):
        fields["hosts"] = [dict(zip(("host", "ip"), item.split(":", 1), strict=False)) for item in host["ExtraHosts"]]
    if host.get("Mounts"):
        fields["mounts"] = [{"target": m["Target"], "source": m.get("Source", ""), "type": m["Type"],
                             "readOnly": bool(m.get("ReadOnly"))} for m in host["Mounts"]]
    if config.get("StopTimeout") is not None:
        fields["stopTimeout"] = int(config["StopTimeout"])
    if config.get("Cmd") is not None:
        fields["command"] = list(config["Cmd"])
    if config.get("Entrypoint") is not None:
        fields["entrypoints"] = list(config["Entrypoint"])
    health = config.get("Healthcheck")
    if health:
        fields["healthcheck"] = {
            "tests": health.get("Test") or [],
            "interval": format_ns(int(health.get("Interval") or 0)),
            "timeout": format_ns(int(health.get("Timeout") or 0)),
            "startPeriod": format_ns(int(health.get("StartPeriod") or 0)),
            "startInterval": format_ns(int(health.get("StartInterval") or 0)),
            "retries": int(health.get("Retries") or 0),
        }
    if state.get("ports"):
        bound = (found.get("NetworkSettings") or {}).get("Ports") or {}
        ports = []
        for key, bindings in bound.items():
            internal, protocol = key.split("/")
            for binding in bindings or []:
                ports.append({"internal": int(internal), "external": int(binding["HostPort"]),
                              "ip": binding.get("HostIp") or "0.0.0.0", "protocol": protocol})
        fields["ports"] = sorted(ports, key=lambda p: p["internal"])
    running = bool(found["State"]["Running"])
    if not running:
        fields["mustRun"] = False
        fields["exitCode"] = int(found["State"].get("ExitCode") or 0)
    fields["networkDatas"] = [{"networkName": name, "ipAddress": net.get("IPAddress", ""),
                               "gateway": net.get("Gateway", ""), "macAddress": net.get("MacAddress", "")}
                              for name, net in ((found.get("NetworkSettings") or {}).get("Networks") or {}).items()]
    return fields


def _mb(value: Any) -> int:
    return int(float(value))


def _create(inputs: Props) -> str:
    """ContainerCreate with the config and host config upstream builds from the same inputs (C33,
    KD:cfuncs resourceDockerContainerCreate); the request (secret env values included) goes over a pipe."""
    config, host = container_config(inputs)
    created = api("POST", f"/containers/create?name={quote(inputs['name'])}", {**config, "HostConfig": host})
    container_id = str(created["Id"])
    try:
        _connect_networks(container_id, inputs)
    except RuntimeError as exc:
        raise InitFailed(container_id, {**inputs, "id": container_id}, str(exc)) from None
    return container_id


def container_config(inputs: Props) -> tuple[Props, Props]:
    """(Config, HostConfig) of the Engine API for the inputs the program uses."""
    config: Props = {"Image": inputs["image"], "Env": list(inputs.get("envs") or []),
                     "Labels": {item["label"]: item["value"] for item in inputs.get("labels") or []}}
    for key, name in (("command", "Cmd"), ("entrypoints", "Entrypoint")):
        if inputs.get(key):
            config[name] = list(inputs[key])
    for key, name in (("user", "User"), ("workingDir", "WorkingDir"), ("hostname", "Hostname"),
                      ("stopSignal", "StopSignal")):
        if inputs.get(key):
            config[name] = inputs[key]
    if inputs.get("stopTimeout"):
        config["StopTimeout"] = int(inputs["stopTimeout"])
    health = inputs.get("healthcheck")
    if health:
        config["Healthcheck"] = {
            "Test": list(health.get("tests") or []), "Retries": int(health.get("retries") or 0),
            **{api_key: parse(health[key]) for key, api_key in (
                ("interval", "Interval"), ("timeout", "Timeout"), ("startPeriod", "StartPeriod"),
                ("startInterval", "StartInterval")) if health.get(key)}}
    host: Props = {
        "RestartPolicy": {"Name": inputs.get("restart") or "no",
                          "MaximumRetryCount": int(inputs.get("maxRetryCount") or 0)},
        "ReadonlyRootfs": bool(inputs.get("readOnly")), "Privileged": bool(inputs.get("privileged")),
        "AutoRemove": bool(inputs.get("rm")), "LogConfig": {"Type": inputs.get("logDriver") or "",
                                                            "Config": dict(inputs.get("logOpts") or {})},
        "NetworkMode": inputs.get("networkMode") or "bridge", "Init": bool(inputs.get("init")),
        "Mounts": [{"Type": m["type"], "Source": m["source"], "Target": m["target"],
                    "ReadOnly": bool(m.get("readOnly"))} for m in inputs.get("mounts") or []],
    }
    if inputs.get("tmpfs"):
        host["Tmpfs"] = dict(inputs["tmpfs"])
    capabilities = inputs.get("capabilities") or {}
    if capabilities:
        host["CapAdd"], host["CapDrop"] = list(capabilities.get("adds") or []), list(capabilities.get("drops") or [])
    if inputs.get("securityOpts"):
        host["SecurityOpt"] = list(inputs["securityOpts"])
    if inputs.get("memory"):
        host["Memory"] = _mb(inputs["memory"]) * 1024 * 1024
    if inputs.get("memorySwap"):
        swap = _mb(inputs["memorySwap"])
        host["MemorySwap"] = swap if swap < 0 else swap * 1024 * 1024
    if inputs.get("cpus"):
        host["NanoCpus"] = int(round(float(inputs["cpus"]) * 1e9))
    if inputs.get("cpuShares"):
        host["CpuShares"] = int(inputs["cpuShares"])
    if inputs.get("hosts"):
        host["ExtraHosts"] = [f"{h['host']}:{h['ip']}" for h in inputs["hosts"]]
    if inputs.get("shmSize"):
        host["ShmSize"] = _mb(inputs["shmSize"]) * 1024 * 1024
    if inputs.get("sysctls"):
        host["Sysctls"] = dict(inputs["sysctls"])
    binds = [f"{v.get('hostPath') or v.get('volumeName')}:{v['containerPath']}{':ro' if v.get('readOnly') else ''}"
             for v in inputs.get("volumes") or []]
    if binds:
        host["Binds"] = binds
    if inputs.get("ports"):
        config["ExposedPorts"] = {f"{int(p['internal'])}/{p.get('protocol', 'tcp')}": {} for p in inputs["ports"]}
        host["PortBindings"] = {
            f"{int(p['internal'])}/{p.get('protocol', 'tcp')}": [
                {"HostIp": p.get("ip") or "0.0.0.0", "HostPort": str(int(p["external"])) if p.get("external") else ""}]
            for p in inputs["ports"]}
    return config, host


def _connect_networks(container_id: str, inputs: Props) -> None:
    """C18: created on networkMode, then off the default bridge and onto each named network."""
    networks = inputs.get("networksAdvanced") or []
    if not networks:
        return
    done = docker("network", "disconnect", "bridge", container_id, check=False)
    if done.returncode != 0 and "is not connected" not in done.stderr:
        raise RuntimeError(f"disconnecting from the default bridge: {done.stderr.strip()}")
    for network in networks:
        args = ["network", "connect", *[f"--alias={a}" for a in network.get("aliases") or []]]
        if network.get("ipv4Address"):
            args += ["--ip", network["ipv4Address"]]
        docker(*args, network["name"], container_id)


def _update_flags(inputs: Props) -> list[str]:
    restart = inputs.get("restart") or "no"
    if restart == "on-failure" and inputs.get("maxRetryCount"):
        restart += f":{int(inputs['maxRetryCount'])}"
    flags = ["--restart", restart]
    if inputs.get("memory"):
        flags += ["--memory", f"{_mb(inputs['memory'])}m"]
    if inputs.get("memorySwap"):
        swap = _mb(inputs["memorySwap"])
        flags += ["--memory-swap", "-1" if swap < 0 else f"{swap}m"]
    if inputs.get("cpuShares"):
        flags += ["--cpu-shares", str(int(inputs["cpuShares"]))]
    return flags


def _wait_healthy(container_id: str, timeout: int) -> None:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        state = inspect("container", container_id)
        if state is None:
            break
        health = (state["State"].get("Health") or {}).get("Status", "")  # unhealthy does not end the wait
        status = f"{state['State']['Status']} {health}".strip()
        if health == "healthy":
            return
        time.sleep(POLL_SECONDS)
    # Upstream's error is the bare message; the status is ours, the logs stay in `docker logs` (they may hold
    # values the engine would have to mask).
    raise TimeoutError(f"{HEALTH_TIMEOUT_MESSAGE} ({status or 'gone'} after {timeout}s)")
