"""On a swarm: the encrypted, attachable overlay network the services share and the data volume.

Attachable, so the one-shot steps (migration, volume ownership: `docker run --network`) reach the services on it;
encrypted (`options: {encrypted: "true"}`: IPsec between nodes). The daemon adds the VXLAN id it allocated to the
options it reports, which pulumi-docker reads back, so a program-given `options` map differs from the state on every
`up` and would replace the network each time (docs/provider-contract.md N9): the program ignores changes to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from components.hardening import TYPE_PREFIX, child_opts
from components.network import data_volume

OVERLAY_OPTIONS = {"encrypted": "true"}
# Set on an unencrypted overlay (swarm.encryptOverlay false): labels are ForceNew (row N5), so switching encryption
# replaces the network even though changes to `options` are ignored.
UNENCRYPTED_LABEL = "openwebui.overlay-encrypted"


@dataclass(frozen=True, kw_only=True)
class SwarmFoundationArgs:
    stack: str
    network_name: str
    subnet: str
    volume_name: str
    # False (the default): `pulumi destroy` leaves the volume and its data on the node.
    delete_data_on_destroy: bool = False
    # IPsec between nodes (swarm.encryptOverlay); off only where the kernel has no ESP, and never in prod.
    encrypted: bool = True


class SwarmFoundation(pulumi.ComponentResource):
    network_id: pulumi.Output[str]
    network_name: pulumi.Output[str]
    volume_name: pulumi.Output[str]

    def __init__(self, name: str, args: SwarmFoundationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:SwarmFoundation", name, None, opts)
        network = docker.Network(
            f"{name}-overlay",
            name=args.network_name,
            driver="overlay",
            attachable=True,
            options=dict(OVERLAY_OPTIONS) if args.encrypted else None,
            ipam_configs=[docker.NetworkIpamConfigArgs(subnet=args.subnet)],
            labels=[docker.NetworkLabelArgs(label="openwebui.stack", value=args.stack),
                    *([] if args.encrypted else [docker.NetworkLabelArgs(label=UNENCRYPTED_LABEL, value="false")])],
            opts=child_opts(self, ignore_changes=["options"]),
        )
        volume = data_volume(self, name, args.stack, args.volume_name, args.delete_data_on_destroy)
        # Services attach by network ID: a name given to a service reads back as the ID (row W3) and would
        # replace the service on every `up`.
        self.network_id = network.id
        self.network_name = network.name
        self.volume_name = volume.name
        self.register_outputs({"network_id": self.network_id, "network_name": self.network_name,
                               "volume_name": self.volume_name})
