"""``docker:index/network:Network`` and ``docker:index/volume:Volume`` (rows N*, V* of
docs/provider-contract.md): every input replaces; Read drops an object that is gone."""

from __future__ import annotations

from plugins.docker.cli import docker, inspect
from plugins.protocol import Diff, Props, ResourceType, property_diff

NETWORK_DEFAULTS: Props = {"driver": "bridge", "ipamDriver": "default", "internal": False, "attachable": False,
                           "ipv6": False}
NETWORK_INPUTS = ("name", "driver", "ipamConfigs", "ipamDriver", "internal", "attachable", "ipv6", "labels",
                  "options", "ingress", "checkDuplicate")
VOLUME_DEFAULTS: Props = {"driver": "local"}
VOLUME_INPUTS = ("name", "driver", "driverOpts", "labels")


def _labels(inputs: Props) -> list[str]:
    return [f"--label={item['label']}={item['value']}" for item in inputs.get("labels") or []]


class Network(ResourceType):
    token = "docker:index/network:Network"

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        return {**NETWORK_DEFAULTS, **news}

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        return property_diff(olds, news, NETWORK_INPUTS, force_new=lambda _: True)

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
        return network_id, {**inputs, "scope": "local"}

    def read(self, resource_id: str, state: Props, inputs: Props) -> tuple[Props, Props] | None:
        found = inspect("network", resource_id)
        return None if found is None else ({**state, "name": found["Name"]}, inputs)

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        docker("network", "rm", resource_id, check=False)


class Volume(ResourceType):
    token = "docker:index/volume:Volume"

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        return {**VOLUME_DEFAULTS, **news}

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        return property_diff(olds, news, VOLUME_INPUTS, force_new=lambda _: True)

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        args = ["volume", "create", "--driver", inputs.get("driver", "local"), *_labels(inputs)]
        args += [f"--opt={k}={v}" for k, v in (inputs.get("driverOpts") or {}).items()]
        # `docker volume create` of an existing name hands the existing volume back (the daemon's behaviour,
        # which the provider relies on too): a re-created stack finds its kept data volume.
        volume = docker(*args, inputs["name"]).stdout.strip()
        found = inspect("volume", volume) or {}
        return volume, {**inputs, "mountpoint": found.get("Mountpoint", "")}

    def read(self, resource_id: str, state: Props, inputs: Props) -> tuple[Props, Props] | None:
        found = inspect("volume", resource_id)
        return None if found is None else ({**state, "mountpoint": found.get("Mountpoint", "")}, inputs)

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        docker("volume", "rm", resource_id, check=False)
