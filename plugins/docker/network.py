"""``docker:index/network:Network`` and ``docker:index/volume:Volume`` (rows N*, V* of
docs/provider-contract.md): every input replaces, delete-before-replace when the program named the object (B3);
an unnamed one is autonamed (B2); Read drops an object that is gone; Delete retries while the object is in use."""

from __future__ import annotations

import time
from typing import Any

from plugins.docker.cli import docker, inspect
from plugins.docker.container import with_defaults
from plugins.protocol import DEFAULTS_KEY, Diff, Props, ResourceType, autonamed, property_diff

NETWORK_DEFAULTS: Props = {"driver": "bridge", "ipamDriver": "default", "internal": False, "attachable": False,
                           "ipv6": False}
NETWORK_INPUTS = ("name", "driver", "ipamConfigs", "ipamDriver", "internal", "attachable", "ipv6", "labels",
                  "options", "ingress", "checkDuplicate")
VOLUME_DEFAULTS: Props = {"driver": "local"}
VOLUME_INPUTS = ("name", "driver", "driverOpts", "labels")


# N8, V7: upstream retries removal while the daemon says the object is still in use, for up to 30 s.
IN_USE = ("has active endpoints", "volume is in use")
REMOVE_RETRY_SECONDS = 30.0


def _labels(inputs: Props) -> list[str]:
    return [f"--label={item['label']}={item['value']}" for item in inputs.get("labels") or []]


def _without_defaults(inputs: Props) -> Props:
    return {k: v for k, v in inputs.items() if k != DEFAULTS_KEY}


def _remove(*args: str) -> None:
    deadline = time.monotonic() + REMOVE_RETRY_SECONDS
    while True:
        done = docker(*args, check=False)
        gone = done.returncode == 0 or "no such" in done.stderr.lower() or "not found" in done.stderr.lower()
        if gone:
            return
        if not any(text in done.stderr for text in IN_USE) or time.monotonic() > deadline:
            raise RuntimeError(f"docker {' '.join(args[:2])}: {done.stderr.strip()}")
        time.sleep(1)


class _DaemonObject(ResourceType):
    """A network or volume: defaults and autoname in Check (B1, B2); every input replaces, delete-before-replace
    when the program named it (B3)."""

    defaults: Props = {}
    inputs: tuple[str, ...] = ()

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        return with_defaults(name, news, olds, random_seed, self.defaults)

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        return property_diff(olds, news, self.inputs, force_new=lambda _: True,
                             delete_before_replace=not autonamed(news))


# N9: Optional+Computed upstream: left out by the program, the value Read recorded is not a change (SDKv2 diffMap /
# diffString ignore a nil new value of a Computed attribute).
NETWORK_COMPUTED = ("driver", "options", "internal", "ipamConfigs")


def _network_fields(found: dict[str, Any]) -> Props:
    """N9: what Read sets from the daemon besides the name: driver, scope, and the options map exactly as the
    daemon keeps it (for an overlay network that includes the VXLAN id the swarm allocated)."""
    return {"name": found["Name"], "driver": found.get("Driver", ""), "scope": found.get("Scope", ""),
            "options": found.get("Options") or {}}


class Network(_DaemonObject):
    token = "docker:index/network:Network"
    defaults, inputs = NETWORK_DEFAULTS, NETWORK_INPUTS

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        relevant = [k for k in self.inputs if not (k in NETWORK_COMPUTED and news.get(k) is None)]
        return property_diff(olds, news, relevant, force_new=lambda _: True,
                             delete_before_replace=not autonamed(news))

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        args = ["network", "create", "--driver", inputs.get("driver", "bridge"), *_labels(inputs)]
        for ipam in inputs.get("ipamConfigs") or []:
            args += ["--subnet", ipam["subnet"]]
            if ipam.get("ipRange"):
                args += ["--ip-range", ipam["ipRange"]]
            if ipam.get("gateway"):
                args += ["--gateway", ipam["gateway"]]
        if inputs.get("internal"):
            args.append("--internal")
        if inputs.get("attachable"):
            args.append("--attachable")
        if inputs.get("ipv6"):
            args.append("--ipv6")
        args += [f"--opt={k}={v}" for k, v in (inputs.get("options") or {}).items()]
        network_id = docker(*args, inputs["name"]).stdout.strip()
        found = inspect("network", network_id) or {"Name": inputs["name"], "Scope": "local"}
        return network_id, {**_without_defaults(inputs), **_network_fields(found)}

    def read(self, resource_id: str, state: Props, inputs: Props) -> tuple[Props, Props] | None:
        found = inspect("network", resource_id)
        return None if found is None else ({**state, **_network_fields(found)}, inputs)

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        _remove("network", "rm", resource_id)


class Volume(_DaemonObject):
    token = "docker:index/volume:Volume"
    defaults, inputs = VOLUME_DEFAULTS, VOLUME_INPUTS

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        args = ["volume", "create", "--driver", inputs.get("driver", "local"), *_labels(inputs)]
        args += [f"--opt={k}={v}" for k, v in (inputs.get("driverOpts") or {}).items()]
        # `docker volume create` of an existing name hands the existing volume back (the daemon's behaviour,
        # which the provider relies on too): a re-created stack finds its kept data volume.
        volume = docker(*args, inputs["name"]).stdout.strip()
        found = inspect("volume", volume) or {}
        return volume, {**_without_defaults(inputs), "mountpoint": found.get("Mountpoint", "")}

    def read(self, resource_id: str, state: Props, inputs: Props) -> tuple[Props, Props] | None:
        found = inspect("volume", resource_id)
        return None if found is None else ({**state, "mountpoint": found.get("Mountpoint", "")}, inputs)

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        _remove("volume", "rm", "-f", resource_id)
