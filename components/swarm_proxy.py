"""On a swarm: nginx as a service publishing the HTTP and HTTPS ports on the node (publish mode host: the ingress
routing mesh needs IPVS, which not every kernel has), TLS key as a Docker secret, nginx.conf and the certificate as
Docker configs. The same nginx.conf as on one daemon (components/proxy.py): it resolves the app's service name
every few seconds, so the app's tasks come and go behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from components.hardening import STACK_LABEL, TYPE_PREFIX, ContainerProfile, child_opts
from components.proxy import NginxConfigArgs, render_nginx_conf
from components.swarm_secrets import SwarmSecrets
from components.swarm_service import (
    ServiceSpecArgs,
    converge,
    file_env,
    rolling_update,
    service_labels,
    service_opts,
    task_spec,
    wrapped,
)

KEY_FILE = "tls_private_key"
CONFIGS_DIR = "/run/configs"


@dataclass(frozen=True, kw_only=True)
class SwarmProxyArgs:
    profile: ContainerProfile
    image: pulumi.Input[str]
    nginx: NginxConfigArgs
    network_id: pulumi.Input[str]
    http_port: int
    https_port: int
    certificate_pem: pulumi.Input[str]
    secrets: SwarmSecrets
    placement_constraints: Sequence[str] = ()
    converge_timeout_seconds: int = 600
    depends_on: Sequence[pulumi.Resource] = ()


class SwarmProxy(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    nginx_conf: str

    def __init__(self, name: str, args: SwarmProxyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(f"{TYPE_PREFIX}:SwarmProxy", name, None, opts)
        self.nginx_conf = render_nginx_conf(args.nginx)
        # Configs are immutable like secrets (row F1): autonamed, a new text is a new config, created first.
        labels = [docker.ServiceConfigLabelArgs(label=STACK_LABEL, value=args.profile.stack)]
        conf = docker.ServiceConfig(f"{name}-nginx-conf", data_raw=self.nginx_conf, labels=labels,
                                    opts=child_opts(self))
        cert = docker.ServiceConfig(f"{name}-certificate", data_raw=args.certificate_pem, labels=labels,
                                    opts=child_opts(self))
        uid, gid = args.profile.user.split(":")
        files = [docker.ServiceTaskSpecContainerSpecConfigArgs(
            config_id=item.id, config_name=item.name, file_name=f"{CONFIGS_DIR}/{file_name}", file_uid=uid,
            file_gid=gid, file_mode=0o444) for file_name, item in (("nginx.conf", conf), ("tls.crt", cert))]
        spec = task_spec(ServiceSpecArgs(
            profile=args.profile, image=args.image, command=wrapped(["start-nginx"]), network_id=args.network_id,
            aliases=[], env={"NGINX_CONF_FILE": f"{CONFIGS_DIR}/nginx.conf",
                             "TLS_CERTIFICATE_FILE": f"{CONFIGS_DIR}/tls.crt",
                             **file_env({"TLS_PRIVATE_KEY": KEY_FILE}),
                             "OWUI_FILE_ENV": "NGINX_CONF TLS_CERTIFICATE TLS_PRIVATE_KEY"},
            secrets=args.secrets.references(uid, gid, only={KEY_FILE}), configs=files,
            placement_constraints=args.placement_constraints))
        service = docker.Service(
            f"{name}-nginx",
            task_spec=spec,
            mode=docker.ServiceModeArgs(replicated=docker.ServiceModeReplicatedArgs(replicas=1)),
            endpoint_spec=docker.ServiceEndpointSpecArgs(mode="dnsrr", ports=[
                docker.ServiceEndpointSpecPortArgs(target_port=8080, published_port=args.http_port,
                                                   publish_mode="host", protocol="tcp", name="http"),
                docker.ServiceEndpointSpecPortArgs(target_port=8443, published_port=args.https_port,
                                                   publish_mode="host", protocol="tcp", name="https")]),
            converge_config=converge(args.converge_timeout_seconds),
            labels=service_labels(args.profile),
            # The node's ports are held by one task at a time.
            **rolling_update(order="stop-first"),
            opts=service_opts(self, depends_on=[*args.depends_on, *args.secrets.resources()]),
        )
        self.service_name = service.name
        self.register_outputs({"service_name": self.service_name})
