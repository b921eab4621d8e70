"""The private network and the data volume: what outlives the containers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from components.hardening import TYPE_PREFIX, child_opts


def data_volume(parent: pulumi.Resource, name: str, stack: str, volume_name: str,
                delete_data_on_destroy: bool) -> docker.Volume:
    """The stack's data volume, on one daemon or a swarm: `pulumi destroy` leaves it and its data unless the stack
    says otherwise (storage.deleteDataOnDestroy)."""
    return docker.Volume(
        f"{name}-data",
        name=volume_name,
        labels=[docker.VolumeLabelArgs(label="openwebui.stack", value=stack)],
        opts=child_opts(parent, retain_on_delete=not delete_data_on_destroy, protect=False),
    )


@dataclass(frozen=True, kw_only=True)
class FoundationArgs:
    stack: str
    network_name: str
    subnet: str
    # The part of the subnet Docker assigns from; fixed addresses live outside it.
    ip_range: str
    volume_name: str
    # False (the default): `pulumi destroy` leaves the volume and its data in Docker.
    delete_data_on_destroy: bool = False


class Foundation(pulumi.ComponentResource):
    network_name: pulumi.Output[str]
    volume_name: pulumi.Output[str]

    def __init__(self, name: str, args: FoundationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:Foundation", name, None, opts)
        network = docker.Network(
            f"{name}-network",
            name=args.network_name,
            driver="bridge",
            ipam_configs=[docker.NetworkIpamConfigArgs(subnet=args.subnet, ip_range=args.ip_range)],
            # No inter-container traffic outside this network; no IPv6 surprises.
            ipv6=False,
            labels=[docker.NetworkLabelArgs(label="openwebui.stack", value=args.stack)],
            opts=child_opts(self),
        )
        volume = data_volume(self, name, args.stack, args.volume_name, args.delete_data_on_destroy)
        self.network_name = network.name
        self.volume_name = volume.name
        self.register_outputs({"network_name": self.network_name, "volume_name": self.volume_name})
