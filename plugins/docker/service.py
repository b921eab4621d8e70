"""``docker:index/service:Service`` as pulumi-docker 5.1.0 behaves (rows W* of docs/provider-contract.md, read from
terraform-provider-docker v4.5.0 ``internal/provider/resource_docker_service.go`` (schema),
``resource_docker_service_funcs.go`` (CRUD, convergence) and ``resource_docker_service_structures.go`` (spec and
read-back forms)).

- Check fills the schema defaults of the blocks the program gives (update/rollback config, health check, secret
  and config file targets, ports, converge config) and autonames ``name`` (B1, B2);
- only ``name``, ``auth``, adding or removing the ``mode`` block, ``containerSpec.hosts``/``sysctl`` and the
  ``networksAdvanceds`` elements replace; every other change is a service update (one ServiceUpdate of the whole
  spec at the service's current version), so the swarm rolls the tasks by ``updateConfig``;
- with ``convergeConfig`` Create waits until as many tasks run as replicas (on a timeout the service is removed and
  the create fails: nothing is recorded) and Update waits for the swarm's update status ``completed`` (a rollback or
  pause fails the update: the engine records the planned state with an init error, B5/P5);
- Create's and Read's state is the read-back form: durations by ``shortDur`` ("1m", "30s"), env as a map, network
  attachments by ID, ports with the published port.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from components.docker_forms import parse, short_dur
from plugins.docker.cli import api
from plugins.docker.container import with_defaults
from plugins.protocol import DEFAULTS_KEY, UNKNOWN, Diff, InitFailed, Props, ResourceType, autonamed

TOP_INPUTS = ("name", "labels", "taskSpec", "mode", "updateConfig", "rollbackConfig", "endpointSpec",
              "convergeConfig", "auth")
UPDATE_DEFAULTS: Props = {"parallelism": 1, "delay": "0s", "failureAction": "pause", "monitor": "5s",
                          "maxFailureRatio": "0.0", "order": "stop-first"}
HEALTH_DEFAULTS: Props = {"interval": "0s", "timeout": "0s", "startPeriod": "0s", "retries": 0}
FILE_DEFAULTS: Props = {"fileUid": "0", "fileGid": "0", "fileMode": 0o444}
PORT_DEFAULTS: Props = {"protocol": "tcp", "publishMode": "ingress"}
CONVERGE_DEFAULTS: Props = {"delay": "7s", "timeout": "3m"}
# Optional+Computed upstream: left out by the program, what the state holds is not a change (W3).
COMPUTED = {"labels", "mode", "endpointSpec", "taskSpec.resources", "taskSpec.restartPolicy", "taskSpec.placement",
            "taskSpec.forceUpdate", "taskSpec.runtime", "taskSpec.containerSpec.stopGracePeriod",
            "taskSpec.containerSpec.healthcheck", "taskSpec.containerSpec.dnsConfig", "taskSpec.containerSpec.init",
            "taskSpec.placement.maxReplicas", "endpointSpec.mode", "endpointSpec.ports.publishedPort"}
# Sets upstream (schema.TypeSet): compared without order.
SETS = {"labels", "taskSpec.containerSpec.labels", "taskSpec.containerSpec.mounts", "taskSpec.containerSpec.secrets",
        "taskSpec.containerSpec.configs", "taskSpec.containerSpec.hosts", "taskSpec.networksAdvanceds",
        "taskSpec.placement.constraints", "taskSpec.placement.prefs", "taskSpec.networksAdvanceds.aliases",
        "taskSpec.networksAdvanceds.driverOpts"}
# W2: what replaces. `mode` only when the block is added or removed (its ForceNew is on the block's count).
FORCE_NEW = ("name", "auth", "taskSpec.containerSpec.hosts", "taskSpec.containerSpec.sysctl",
             "taskSpec.networksAdvanceds")
POLL_SECONDS = 2.0
UPDATE_DELAY_SECONDS = 7.0  # the update waiter's fixed Delay (resourceDockerServiceUpdate)
# Task states in the order of the swarm's state machine (numberedStates, resource_docker_service_funcs.go).
TASK_STATES = {s: i for i, s in enumerate(("new", "allocated", "pending", "assigned", "accepted", "preparing",
                                           "ready", "starting", "running", "complete", "shutdown", "failed",
                                           "rejected"), start=1)}


# -- Check ----------------------------------------------------------------------------------------------------
def _fill(block: Any, defaults: Props) -> Any:
    return {**defaults, **block} if isinstance(block, dict) else block


def service_check(name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
    checked = with_defaults(name, news, olds, random_seed, {})
    for key in ("updateConfig", "rollbackConfig"):
        checked[key] = _fill(checked.get(key), UPDATE_DEFAULTS) if key in checked else None
        if checked[key] is None:
            del checked[key]
    if isinstance(checked.get("convergeConfig"), dict):
        checked["convergeConfig"] = _fill(checked["convergeConfig"], CONVERGE_DEFAULTS)
    mode = checked.get("mode")
    if isinstance(mode, dict):
        mode = {"global": False, **mode}
        if isinstance(mode.get("replicated"), dict):
            mode["replicated"] = {"replicas": 1, **mode["replicated"]}
        checked["mode"] = mode
    endpoint = checked.get("endpointSpec")
    if isinstance(endpoint, dict) and isinstance(endpoint.get("ports"), list):
        checked["endpointSpec"] = {**endpoint, "ports": [_fill(p, PORT_DEFAULTS) for p in endpoint["ports"]]}
    task = checked.get("taskSpec")
    if isinstance(task, dict) and isinstance(task.get("containerSpec"), dict):
        spec = {"isolation": "default", **task["containerSpec"]}
        if isinstance(spec.get("healthcheck"), dict):
            spec["healthcheck"] = _fill(spec["healthcheck"], HEALTH_DEFAULTS)
        for key in ("secrets", "configs"):
            if isinstance(spec.get(key), list):
                spec[key] = [_fill(item, FILE_DEFAULTS) for item in spec[key]]
        checked["taskSpec"] = {**task, "containerSpec": spec}
    return checked


# -- Diff -----------------------------------------------------------------------------------------------------
def _normal(value: Any) -> Any:
    """A set element without its zero values (absent and zero are the same to the SDK): the key to pair old and
    new elements by."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if not _empty(v) and k != DEFAULTS_KEY}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _canonical_set(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: json.dumps(_normal(item), sort_keys=True))


def _empty(value: Any) -> bool:
    """SDKv2 keeps no null for a primitive: an absent bool, number or string reads as its zero value."""
    return value is None or (not isinstance(value, bool) and value in ([], {}, "", 0)) or value is False


def changed_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Where the recorded state and the new inputs differ, as dotted paths without list indexes; a Computed key the
    program leaves out is no change, nor is empty against absent (SDKv2's schema diff)."""
    if isinstance(new, str) and new == UNKNOWN:
        return [path]
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new)):
            if key == DEFAULTS_KEY:
                continue
            sub = f"{path}.{key}" if path else key
            if key not in new and sub in COMPUTED:
                continue
            found += changed_paths(old.get(key), new.get(key), sub)
        return found
    if isinstance(old, list) and isinstance(new, list):
        if path in SETS:
            old, new = _canonical_set(old), _canonical_set(new)
        if len(old) != len(new):
            return [path]
        found = []
        for old_item, new_item in zip(old, new, strict=True):
            found += changed_paths(old_item, new_item, path)
        return sorted(set(found))
    if _empty(old) and _empty(new):
        return []
    return [] if old == new else [path]


def service_diff(olds: Props, news: Props) -> Diff:
    paths = changed_paths({k: olds.get(k) for k in TOP_INPUTS}, {k: news.get(k) for k in TOP_INPUTS})
    replaces = sorted({p.split(".")[0] for p in paths if any(p == f or p.startswith(f + ".") for f in FORCE_NEW)})
    if "mode" in paths or ("mode" in olds and "mode" in news and _empty(olds["mode"]) != _empty(news["mode"])):
        replaces.append("mode")
    changed = sorted({p.split(".")[0] for p in paths})
    return Diff(changed=changed, replaces=sorted(set(replaces)), delete_before_replace=not autonamed(news))


# -- the spec (createServiceSpec) -----------------------------------------------------------------------------
def _ns(value: Any) -> int:
    return parse(value) if isinstance(value, str) and value else 0


def _labels(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {item["label"]: item["value"] for item in items or []}


def _file_ref(item: Props, id_key: str, name_key: str, api_id: str, api_name: str) -> Props:
    ref: Props = {api_id: item[id_key], "File": {"Name": item["fileName"], "UID": str(item.get("fileUid", "0")),
                                                 "GID": str(item.get("fileGid", "0")),
                                                 "Mode": int(item.get("fileMode", 0o444))}}
    if item.get(name_key):
        ref[api_name] = item[name_key]
    return ref


def _mount(item: Props) -> Props:
    mount: Props = {"Target": item["target"], "Source": item.get("source", ""), "Type": item["type"],
                    "ReadOnly": bool(item.get("readOnly", False))}
    if isinstance(item.get("volumeOptions"), dict):
        options = item["volumeOptions"]
        mount["VolumeOptions"] = {"NoCopy": bool(options.get("noCopy", False)),
                                  "Labels": _labels(options.get("labels"))}
        if options.get("driverName"):
            mount["VolumeOptions"]["DriverConfig"] = {"Name": options["driverName"],
                                                      "Options": options.get("driverOptions") or {}}
    if isinstance(item.get("tmpfsOptions"), dict):
        options = item["tmpfsOptions"]
        mount["TmpfsOptions"] = {"SizeBytes": int(options.get("sizeBytes") or 0), "Mode": int(options.get("mode") or 0)}
    if isinstance(item.get("bindOptions"), dict):
        mount["BindOptions"] = {"Propagation": item["bindOptions"].get("propagation", "rprivate")}
    return mount


def container_spec(spec: Props) -> Props:
    out: Props = {"Image": spec["image"]}
    simple = {"commands": "Command", "args": "Args", "hostname": "Hostname", "dir": "Dir", "user": "User",
              "groups": "Groups", "stopSignal": "StopSignal", "capAdds": "CapabilityAdd",
              "capDrops": "CapabilityDrop", "sysctl": "Sysctls"}
    for key, api_key in simple.items():
        if not _empty(spec.get(key)):
            out[api_key] = spec[key]
    if spec.get("labels"):
        out["Labels"] = _labels(spec["labels"])
    if spec.get("env"):
        out["Env"] = [f"{k}={v}" for k, v in sorted(spec["env"].items())]
    if spec.get("readOnly"):
        out["ReadOnly"] = True
    if spec.get("mounts"):
        out["Mounts"] = [_mount(m) for m in spec["mounts"]]
    if spec.get("stopGracePeriod"):
        out["StopGracePeriod"] = _ns(spec["stopGracePeriod"])
    if isinstance(spec.get("healthcheck"), dict):
        health = spec["healthcheck"]
        out["Healthcheck"] = {"Test": health.get("tests") or [], "Interval": _ns(health.get("interval")),
                              "Timeout": _ns(health.get("timeout")), "StartPeriod": _ns(health.get("startPeriod")),
                              "Retries": int(health.get("retries") or 0)}
    if spec.get("hosts"):
        out["Hosts"] = [f"{h['ip']} {h['host']}" for h in spec["hosts"]]  # "ip host": upstream's order
    if isinstance(spec.get("dnsConfig"), dict):
        dns = spec["dnsConfig"]
        out["DNSConfig"] = {"Nameservers": dns.get("nameservers") or [], "Search": dns.get("searches") or [],
                            "Options": dns.get("options") or []}
    if spec.get("secrets"):
        out["Secrets"] = [_file_ref(s, "secretId", "secretName", "SecretID", "SecretName") for s in spec["secrets"]]
    if spec.get("configs"):
        out["Configs"] = [_file_ref(c, "configId", "configName", "ConfigID", "ConfigName") for c in spec["configs"]]
    if spec.get("isolation"):
        out["Isolation"] = spec["isolation"]
    if spec.get("init") is not None:
        out["Init"] = bool(spec["init"])
    return out


def task_spec(task: Props) -> Props:
    out: Props = {"ContainerSpec": container_spec(task["containerSpec"])}
    resources = task.get("resources")
    if isinstance(resources, dict):
        out["Resources"] = {}
        for key, api_key in (("limits", "Limits"), ("reservation", "Reservations")):
            if isinstance(resources.get(key), dict):
                out["Resources"][api_key] = {"NanoCPUs": int(resources[key].get("nanoCpus") or 0),
                                             "MemoryBytes": int(resources[key].get("memoryBytes") or 0)}
    policy = task.get("restartPolicy")
    if isinstance(policy, dict):
        out["RestartPolicy"] = {}
        if policy.get("condition"):
            out["RestartPolicy"]["Condition"] = policy["condition"]
        if policy.get("delay"):
            out["RestartPolicy"]["Delay"] = _ns(policy["delay"])
        if policy.get("maxAttempts") is not None:
            out["RestartPolicy"]["MaxAttempts"] = int(policy["maxAttempts"])
        if policy.get("window"):
            out["RestartPolicy"]["Window"] = _ns(policy["window"])
    placement = task.get("placement")
    if isinstance(placement, dict):
        out["Placement"] = {"Constraints": placement.get("constraints") or [],
                            "Preferences": [{"Spread": {"SpreadDescriptor": p}} for p in placement.get("prefs") or []],
                            "MaxReplicas": int(placement.get("maxReplicas") or 0)}
    if task.get("forceUpdate") is not None:
        out["ForceUpdate"] = int(task["forceUpdate"])
    if task.get("runtime"):
        out["Runtime"] = task["runtime"]
    networks = []
    for item in task.get("networksAdvanceds") or []:
        target = item.get("id") or item.get("name")
        if not target:
            raise RuntimeError("network 'name' or 'id' must be specified")
        attachment: Props = {"Target": target, "Aliases": item.get("aliases") or []}
        if item.get("driverOpts"):
            attachment["DriverOpts"] = dict(opt.split("=", 1) for opt in item["driverOpts"])
        networks.append(attachment)
    if networks:
        out["Networks"] = networks
    if isinstance(task.get("logDriver"), dict):
        out["LogDriver"] = {"Name": task["logDriver"]["name"], "Options": task["logDriver"].get("options") or {}}
    return out


def _update_config(config: Props) -> Props:
    return {"Parallelism": int(config.get("parallelism", 1)), "Delay": _ns(config.get("delay")),
            "FailureAction": config.get("failureAction", "pause"), "Monitor": _ns(config.get("monitor")),
            "MaxFailureRatio": float(config.get("maxFailureRatio") or 0), "Order": config.get("order", "stop-first")}


def service_spec(inputs: Props) -> Props:
    spec: Props = {"Name": inputs["name"], "Labels": _labels(inputs.get("labels")),
                   "TaskTemplate": task_spec(inputs["taskSpec"])}
    mode = inputs.get("mode") or {}
    if mode.get("global"):
        spec["Mode"] = {"Global": {}}
    elif isinstance(mode.get("replicated"), dict):
        spec["Mode"] = {"Replicated": {"Replicas": int(mode["replicated"].get("replicas", 1))}}
    for key, api_key in (("updateConfig", "UpdateConfig"), ("rollbackConfig", "RollbackConfig")):
        if isinstance(inputs.get(key), dict):
            spec[api_key] = _update_config(inputs[key])
    endpoint = inputs.get("endpointSpec") or {}
    spec["EndpointSpec"] = {}
    if endpoint.get("mode"):
        spec["EndpointSpec"]["Mode"] = endpoint["mode"]
    if endpoint.get("ports"):
        spec["EndpointSpec"]["Ports"] = [
            {"Name": p.get("name", ""), "Protocol": p.get("protocol", "tcp"), "TargetPort": int(p["targetPort"]),
             "PublishedPort": int(p.get("publishedPort") or 0), "PublishMode": p.get("publishMode", "ingress")}
            for p in endpoint["ports"]]
    return spec


# -- read-back forms (flatten*) -------------------------------------------------------------------------------
def _label_set(labels: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"label": k, "value": v} for k, v in sorted((labels or {}).items())]


def _flatten_file_refs(refs: list[Props], id_key: str, name_key: str, api_id: str, api_name: str) -> list[Props]:
    out = []
    for ref in refs:
        item: Props = {id_key: ref[api_id]}
        if ref.get(api_name):
            item[name_key] = ref[api_name]
        target = ref.get("File") or {}
        if target:
            item["fileName"] = target.get("Name", "")
            if target.get("UID"):
                item["fileUid"] = target["UID"]
            if target.get("GID"):
                item["fileGid"] = target["GID"]
            item["fileMode"] = int(target.get("Mode", 0))
        out.append(item)
    return out


def _flatten_mount(mount: Props) -> Props:
    out: Props = {"target": mount["Target"], "source": mount.get("Source", ""), "type": mount["Type"],
                  "readOnly": bool(mount.get("ReadOnly", False))}
    if mount.get("BindOptions") is not None:
        out["bindOptions"] = ({"propagation": mount["BindOptions"]["Propagation"]}
                              if mount["BindOptions"].get("Propagation") else {})
    if mount.get("VolumeOptions") is not None:
        options = mount["VolumeOptions"]
        flat: Props = {"noCopy": bool(options.get("NoCopy", False)), "labels": _label_set(options.get("Labels"))}
        if options.get("DriverConfig"):
            if options["DriverConfig"].get("Name"):
                flat["driverName"] = options["DriverConfig"]["Name"]
            flat["driverOptions"] = options["DriverConfig"].get("Options") or {}
        out["volumeOptions"] = flat
    if mount.get("TmpfsOptions") is not None:
        out["tmpfsOptions"] = {"sizeBytes": int(mount["TmpfsOptions"].get("SizeBytes") or 0),
                               "mode": int(mount["TmpfsOptions"].get("Mode") or 0) & 0o777}
    return out


def flatten_container_spec(spec: Props) -> Props:
    out: Props = {}
    simple = {"Image": "image", "Command": "commands", "Args": "args", "Hostname": "hostname", "User": "user",
              "Dir": "dir", "Groups": "groups", "StopSignal": "stopSignal", "Isolation": "isolation",
              "Sysctls": "sysctl", "CapabilityAdd": "capAdds", "CapabilityDrop": "capDrops"}
    for api_key, key in simple.items():
        if spec.get(api_key):
            out[key] = spec[api_key]
    if spec.get("Labels"):
        out["labels"] = _label_set(spec["Labels"])
    if spec.get("Env"):
        out["env"] = {item.split("=", 1)[0]: item.split("=", 1)[1] if "=" in item else "" for item in spec["Env"]}
    if spec.get("ReadOnly"):
        out["readOnly"] = True
    if spec.get("Mounts"):
        out["mounts"] = [_flatten_mount(m) for m in spec["Mounts"]]
    if spec.get("StopGracePeriod") is not None:
        out["stopGracePeriod"] = short_dur(spec["StopGracePeriod"])
    if spec.get("Healthcheck") is not None:
        health = spec["Healthcheck"]
        out["healthcheck"] = {"interval": short_dur(health.get("Interval") or 0),
                              "timeout": short_dur(health.get("Timeout") or 0),
                              "startPeriod": short_dur(health.get("StartPeriod") or 0),
                              "retries": int(health.get("Retries") or 0)}
        if health.get("Test"):
            out["healthcheck"]["tests"] = health["Test"]
    if spec.get("Hosts"):
        out["hosts"] = [{"ip": h.split(" ")[0], "host": h.split(" ")[1]} for h in spec["Hosts"]]
    if spec.get("DNSConfig") is not None:
        dns = spec["DNSConfig"]
        out["dnsConfig"] = {k: dns[a] for a, k in (("Nameservers", "nameservers"), ("Search", "searches"),
                                                    ("Options", "options")) if dns.get(a)}
    if spec.get("Secrets"):
        out["secrets"] = _flatten_file_refs(spec["Secrets"], "secretId", "secretName", "SecretID", "SecretName")
    if spec.get("Configs"):
        out["configs"] = _flatten_file_refs(spec["Configs"], "configId", "configName", "ConfigID", "ConfigName")
    if spec.get("Init") is not None:
        out["init"] = bool(spec["Init"])
    return out


def flatten_task_spec(task: Props) -> Props:
    out: Props = {}
    if task.get("ContainerSpec"):
        out["containerSpec"] = flatten_container_spec(task["ContainerSpec"])
    if task.get("Resources") is not None:
        resources = task["Resources"]
        out["resources"] = {}
        if resources.get("Limits") is not None:
            out["resources"]["limits"] = {"nanoCpus": int(resources["Limits"].get("NanoCPUs") or 0),
                                          "memoryBytes": int(resources["Limits"].get("MemoryBytes") or 0)}
        if resources.get("Reservations") is not None:
            out["resources"]["reservation"] = {
                "nanoCpus": int(resources["Reservations"].get("NanoCPUs") or 0),
                "memoryBytes": int(resources["Reservations"].get("MemoryBytes") or 0)}
    if task.get("RestartPolicy") is not None:
        policy = task["RestartPolicy"]
        flat: Props = {}
        if policy.get("Condition"):
            flat["condition"] = policy["Condition"]
        if policy.get("Delay") is not None:
            flat["delay"] = short_dur(policy["Delay"])
        if policy.get("MaxAttempts") is not None:
            flat["maxAttempts"] = int(policy["MaxAttempts"])
        if policy.get("Window") is not None:
            flat["window"] = short_dur(policy["Window"])
        out["restartPolicy"] = flat
    if task.get("Placement") is not None:
        placement = task["Placement"]
        flat = {"maxReplicas": int(placement.get("MaxReplicas") or 0)}
        if placement.get("Constraints"):
            flat["constraints"] = placement["Constraints"]
        if placement.get("Preferences"):
            flat["prefs"] = [p["Spread"]["SpreadDescriptor"] for p in placement["Preferences"]]
        out["placement"] = flat
    out["forceUpdate"] = int(task.get("ForceUpdate") or 0)
    if task.get("Runtime"):
        out["runtime"] = task["Runtime"]
    if task.get("Networks"):
        out["networksAdvanceds"] = [
            {"id": n["Target"], "driverOpts": [f"{k}={v}" for k, v in sorted((n.get("DriverOpts") or {}).items())],
             **({"aliases": n["Aliases"]} if n.get("Aliases") else {})} for n in task["Networks"]]
    if task.get("LogDriver") is not None:
        out["logDriver"] = {"name": task["LogDriver"].get("Name", "")}
        if task["LogDriver"].get("Options"):
            out["logDriver"]["options"] = task["LogDriver"]["Options"]
    return out


def _flatten_update_config(config: Props | None) -> Props | None:
    if config is None:
        return None
    return {"parallelism": int(config.get("Parallelism") or 0), "delay": short_dur(config.get("Delay") or 0),
            "failureAction": config.get("FailureAction", ""), "monitor": short_dur(config.get("Monitor") or 0),
            "maxFailureRatio": f"{float(config.get('MaxFailureRatio') or 0):.1f}", "order": config.get("Order", "")}


def _flatten_ports(ports: list[Props] | None) -> list[Props]:
    return [{"name": p.get("Name", ""), "protocol": p.get("Protocol", ""), "targetPort": int(p["TargetPort"]),
             "publishedPort": int(p.get("PublishedPort") or 0), "publishMode": p.get("PublishMode", "")}
            for p in ports or []]


def read_fields(found: Props) -> Props | None:
    """resourceDockerServiceReadRefreshFunc; None while the service does not expose an endpoint mode yet."""
    spec, endpoint = found["Spec"], found.get("Endpoint") or {}
    endpoint_spec = endpoint.get("Spec") or {}
    if not endpoint_spec.get("Mode") and not (spec.get("EndpointSpec") or {}).get("Mode"):
        return None
    mode = spec.get("Mode") or {}
    fields: Props = {
        "name": spec["Name"], "labels": _label_set(spec.get("Labels")),
        "taskSpec": flatten_task_spec(spec.get("TaskTemplate") or {}),
        "mode": {"global": "Global" in mode,
                 **({"replicated": {"replicas": int(mode["Replicated"].get("Replicas", 0))}}
                    if mode.get("Replicated") is not None else {})},
        "updateConfig": _flatten_update_config(spec.get("UpdateConfig")),
        "rollbackConfig": _flatten_update_config(spec.get("RollbackConfig")),
    }
    if endpoint_spec.get("Mode"):
        fields["endpointSpec"] = {"mode": endpoint_spec["Mode"], "ports": _flatten_ports(endpoint.get("Ports"))}
    else:
        fields["endpointSpec"] = {"mode": spec["EndpointSpec"]["Mode"],
                                  "ports": _flatten_ports(spec["EndpointSpec"].get("Ports"))}
    return {k: v for k, v in fields.items() if v is not None}


# -- convergence (the replicated updater of resource_docker_service_funcs.go) ---------------------------------
def _active_nodes() -> set[str]:
    return {n["ID"] for n in api("GET", "/nodes") if (n.get("Status") or {}).get("State") != "down"}


def running_replicas(service_id: str) -> tuple[int, int]:
    """(running, replicas): per slot the task with the lowest desired state (ties: lowest observed state), on an
    active node; counted when its desired state is not past running and it runs (replicatedConsoleLogUpdater)."""
    service = api("GET", f"/services/{service_id}")
    replicated = (service["Spec"].get("Mode") or {}).get("Replicated")
    if not replicated or replicated.get("Replicas") is None:
        raise RuntimeError("no replica count")
    filters = quote(json.dumps({"service": [service_id], "desired-state": ["running"]}))
    tasks = api("GET", f"/tasks?filters={filters}")
    active = _active_nodes()
    by_slot: dict[int, Props] = {}
    for task in tasks:
        desired, observed = TASK_STATES.get(task.get("DesiredState", ""), 0), TASK_STATES.get(
            (task.get("Status") or {}).get("State", ""), 0)
        if not desired or not observed:
            continue
        existing = by_slot.get(task.get("Slot", 0))
        if existing is not None:
            old_desired = TASK_STATES[existing["DesiredState"]]
            if old_desired < desired or (old_desired == desired
                                         and TASK_STATES[existing["Status"]["State"]] <= observed):
                continue
        if task.get("NodeID") and task["NodeID"] not in active:
            continue
        by_slot[task.get("Slot", 0)] = task
    running = sum(1 for t in by_slot.values()
                  if TASK_STATES[t["DesiredState"]] <= TASK_STATES["running"] and t["Status"]["State"] == "running")
    return running, int(replicated["Replicas"])


def _converge_seconds(inputs: Props) -> tuple[float, float]:
    config = inputs["convergeConfig"]
    return parse(config.get("delay") or "7s") / 1e9, parse(config.get("timeout") or "3m") / 1e9


def wait_created(service_id: str, inputs: Props) -> None:
    delay, timeout = _converge_seconds(inputs)
    time.sleep(delay)
    deadline = time.monotonic() + timeout
    while True:
        running, replicas = running_replicas(service_id)
        if running == replicas:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Service with ID ({service_id}) did not converge after {short_dur(int(timeout * 1e9))}")
        time.sleep(POLL_SECONDS)


def wait_updated(service_id: str, inputs: Props) -> None:
    _, timeout = _converge_seconds(inputs)
    time.sleep(UPDATE_DELAY_SECONDS)
    deadline = time.monotonic() + timeout
    while True:
        status = api("GET", f"/services/{service_id}").get("UpdateStatus") or {}
        state, message = status.get("State"), status.get("Message", "")
        if state == "completed":
            return
        if state == "rollback_completed":
            raise RuntimeError(f"service rollback completed: {message}")
        if state == "paused":
            raise RuntimeError(f"service update paused: {message}")
        if state == "rollback_paused":
            raise RuntimeError(f"service rollback paused: {message}")
        running, replicas = running_replicas(service_id)
        if running == replicas:
            if state == "rollback_started":
                raise RuntimeError(f"service rollback completed: {message}")
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Service with ID ({service_id}) did not converge after {short_dur(int(timeout * 1e9))}")
        time.sleep(POLL_SECONDS)


def _read(service_id: str, name: str) -> Props | None:
    """Read waits (up to 30 s) for the service to expose its endpoint mode; finds it by ID or by name."""
    deadline = time.monotonic() + 30
    while True:
        services = api("GET", "/services")
        match = next((s for s in services if s["ID"] == service_id or s["Spec"]["Name"] == name), None)
        if match is None:
            return None
        fields = read_fields(api("GET", f"/services/{match['ID']}"))
        if fields is not None:
            return {**fields, "id": match["ID"]}
        if time.monotonic() > deadline:
            raise RuntimeError(f"timeout while waiting for state to become 'all_fields' (service {service_id})")
        time.sleep(POLL_SECONDS)


def _delete(service_id: str, state: Props) -> None:
    grace = str(((state.get("taskSpec") or {}).get("containerSpec") or {}).get("stopGracePeriod") or "")
    containers: list[str] = []
    if grace and grace != "0s":
        tasks = api("GET", f"/tasks?filters={quote(json.dumps({'service': [state.get('name', service_id)]}))}")
        containers = [t["Status"]["ContainerStatus"]["ContainerID"] for t in tasks
                      if ((t.get("Status") or {}).get("ContainerStatus") or {}).get("ContainerID")
                      and t["Status"].get("State") != "shutdown"]
    api("DELETE", f"/services/{service_id}")
    for container in containers:  # wait for each container to go, up to the grace period, then remove it
        try:
            api("POST", f"/containers/{container}/wait?condition=removed", timeout=parse(grace) / 1e9 + 5)
        except Exception:  # noqa: BLE001 - "No such container" and a timeout are both fine here
            pass
        try:
            api("DELETE", f"/containers/{container}?v=true&force=true")
        except RuntimeError as exc:
            if "no such container" not in str(exc).lower() and "already in progress" not in str(exc).lower():
                raise


class Service(ResourceType):
    token = "docker:index/service:Service"

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        return service_check(name, news, olds, random_seed)

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        return service_diff(olds, news)

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        created = api("POST", "/services/create", service_spec(inputs))
        service_id = created["ID"]
        if isinstance(inputs.get("convergeConfig"), dict):
            try:
                wait_created(service_id, inputs)
            except (RuntimeError, TimeoutError):
                _delete(service_id, inputs)  # W5: not converged -> removed, a plain error: nothing recorded
                raise
        state = {k: v for k, v in inputs.items() if k != DEFAULTS_KEY}
        found = _read(service_id, inputs["name"])
        return service_id, {**state, **(found or {}), "id": service_id}

    def read(self, resource_id: str, state: Props, inputs: Props) -> tuple[Props, Props] | None:
        found = _read(resource_id, state.get("name", ""))
        return None if found is None else ({**state, **found}, inputs)

    def update(self, resource_id: str, olds: Props, news: Props, old_inputs: Props, timeout: float) -> Props:
        if not service_diff(olds, news).changed:
            return olds  # B4
        current = api("GET", f"/services/{resource_id}")
        version = current["Version"]["Index"]
        api("POST", f"/services/{resource_id}/update?version={version}", service_spec(news))
        planned = {**{k: v for k, v in news.items() if k != DEFAULTS_KEY}, "id": resource_id}
        if isinstance(news.get("convergeConfig"), dict):
            try:
                wait_updated(resource_id, news)
            except (RuntimeError, TimeoutError) as exc:
                # W6: the bridge returns the planned state with the error: an init error on the update (P5).
                raise InitFailed(resource_id, planned, f"updating service: {exc}") from None
        found = _read(resource_id, news["name"])
        return {**planned, **(found or {})}

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        _delete(resource_id, state)
