"""A docker-compose file equivalent to the dev stack, generated from what the program itself declares.

The program runs under mocks (as in the unit tests); the app and nginx containers it registers are
translated input by input (image, user, read-only root, tmpfs, dropped capabilities, no-new-privileges,
memory/CPU/pids limits, health checks, logging, network with nginx's fixed address, published ports,
data volume, environment), so the compose deployment gets the same hardening, env and nginx.conf.
What the mocks cannot give is made here: throwaway secrets (random, like the `random` provider's) and a
certificate from the project's own generator (components.providers.selfsigned.generate_certificate).

The migration step is a local command in the program (scripts/run-migration: a tools container that makes the
backup directory and fills the ops-package volume, then one app-image container running `owui_ops migrate apply`);
with `one_shot_migration` the compose file gets the nearest compose equivalent, a one-shot service that runs the
same `owui_ops migrate apply` (backup, upgrade, verify, config guard, status) before the app starts.
Without it the app migrates itself at start (ENABLE_DB_MIGRATIONS=true, upstream's default).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from components.config import MigrationSettings, NetworkSettings
from components.hardening import PIDS_LIMIT
from components.providers.selfsigned import generate_certificate
from deploy import local_images
from deploy import secret_sig as sig
from owui_ops.steps import APP_PYTHONPATH, OPS_MOUNT, ops_volume
from plugins.random import generate_string
from tests.mocks import run_program


def plain(value: Any) -> Any:
    """Inputs with Pulumi's secret envelopes removed, recursively (the compose file holds the values)."""
    if isinstance(value, dict):
        if sig.KEY in value:
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value

CONTAINER = "docker:index/container:Container"
TOOLS_IMAGE = MigrationSettings().tools_image
COMMAND = "command:local:Command"


@dataclass
class ThrowawayMocks(pulumi.runtime.Mocks):
    """Records the program's resources; gives them real values where the compose file needs them."""

    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)
    ca_certificate_pem: str = ""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = plain(dict(args.inputs))
        outputs = dict(inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = generate_string(inputs)
        elif args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = inputs["name"]  # the containers then name the image itself
        elif args.typ == CONTAINER:
            self.containers[args.name] = inputs
            outputs.setdefault("name", args.name)
        elif args.typ == COMMAND:
            self.commands[args.name] = inputs
            outputs["stdout"] = "{}"
        elif args.typ.startswith("pulumi-python:dynamic") and "hostname" in inputs:
            generated = generate_certificate(inputs["hostname"], int(inputs["validity_days"]))
            outputs.update(generated)
            self.ca_certificate_pem = generated["ca_certificate_pem"]
        elif args.typ.startswith("pulumi-python:dynamic"):
            pass  # the program's own checks and database provisioning: nothing for a dev compose file to run
        elif args.typ in ("docker:index/network:Network", "docker:index/volume:Volume"):
            pass  # the compose file declares them from the same config (networks:, volumes:)
        elif args.custom and not args.typ.startswith("pulumi:providers:"):
            raise NotImplementedError(f"compose: no translation for {args.typ} ({args.name})")
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def _escape(value: str) -> str:
    # Compose interpolates "$NAME"; nginx.conf and generated secrets may contain "$".
    return value.replace("$", "$$")


def _service(inputs: dict[str, Any], network_key: str) -> dict[str, Any]:
    """One docker.Container's inputs as a compose service (the fields the docker provider maps)."""
    health = inputs["healthcheck"]
    env = dict(item.split("=", 1) for item in inputs.get("envs", []))
    service: dict[str, Any] = {
        "image": inputs["image"],
        "user": inputs["user"],
        "read_only": bool(inputs.get("readOnly")),
        "tmpfs": [f"{path}:{options}" for path, options in (inputs.get("tmpfs") or {}).items()],
        "cap_drop": inputs["capabilities"]["drops"],
        "security_opt": inputs["securityOpts"],
        "mem_limit": f"{int(inputs['memory'])}m",
        "memswap_limit": f"{int(inputs['memorySwap'])}m",
        "cpus": float(inputs["cpus"]),
        "pids_limit": PIDS_LIMIT,
        "restart": inputs["restart"],
        "healthcheck": {"test": health["tests"], "interval": health["interval"],
                        "timeout": health["timeout"], "retries": int(health["retries"]),
                        "start_period": health["startPeriod"]},
        "logging": {"driver": inputs["logDriver"], "options": inputs.get("logOpts") or {}},
        "labels": {item["label"]: item["value"] for item in inputs.get("labels", [])},
        "environment": {key: _escape(value) for key, value in env.items()},
    }
    (network,) = inputs["networksAdvanced"]
    attachment: dict[str, Any] = {}
    if network.get("aliases"):
        attachment["aliases"] = network["aliases"]
    if network.get("ipv4Address"):
        attachment["ipv4_address"] = network["ipv4Address"]
    service["networks"] = {network_key: attachment or None}
    if inputs.get("ports"):
        service["ports"] = [f"{p['ip']}:{int(p['external'])}:{int(p['internal'])}" for p in inputs["ports"]]
    if inputs.get("mounts"):
        service["volumes"] = [{"type": "volume", "source": "data", "target": m["target"]}
                              for m in inputs["mounts"]]
    if inputs.get("hosts"):
        service["extra_hosts"] = [f"{h['host']}:{h['ip']}" for h in inputs["hosts"]]
    if inputs.get("stopTimeout"):
        service["stop_grace_period"] = f"{int(inputs['stopTimeout'])}s"
    return service


def _migration_service(app: dict[str, Any], step: dict[str, Any], backup_dir: Path) -> dict[str, Any]:
    """The migration command's work as a one-shot service, hardened like scripts/run-migration's runs."""
    env = step["environment"]
    service = {key: copy.deepcopy(app[key]) for key in ("image", "user", "read_only", "cap_drop", "security_opt",
                                         "pids_limit", "logging", "networks", "extra_hosts")}
    # The same ops package the migration step uses, from the same volume filled from the tools image.
    script = "python3 -m owui_ops migrate apply"
    service.update({
        "tmpfs": ["/tmp:rw,nosuid,size=256m"],
        "mem_limit": f"{env['OWUI_MEMORY_MB']}m",
        "cpus": float(env["OWUI_CPUS"]),
        "restart": "no",
        "labels": {"openwebui.role": "migration", "openwebui.stack": env["OWUI_STACK"]},
        "entrypoint": ["sh", "-c", script],
        "environment": {key: _escape(value) for key, value in {
            "DATABASE_URL": env["DATABASE_URL"], "WEBUI_SECRET_KEY": env["WEBUI_SECRET_KEY"],
            "PYTHONPATH": APP_PYTHONPATH,
            "HOME": "/tmp", "BACKUP_DIR": "/backups", "DATA_DIR": "/app/backend/data",
            "ENABLE_DB_MIGRATIONS": "false", "OFFLINE_MODE": "true", "USE_SLIM_DOCKER": "true",
            "OWUI_ENFORCED_CONFIG": env["OWUI_ENFORCED_CONFIG"],
            "WEBUI_ADMIN_EMAIL": env["WEBUI_ADMIN_EMAIL"],
            "WEBUI_ADMIN_PASSWORD": env["WEBUI_ADMIN_PASSWORD"]}.items()},
        "volumes": [
            {"type": "volume", "source": "data", "target": "/app/backend/data"},
            {"type": "bind", "source": str(backup_dir), "target": "/backups"},
            {"type": "volume", "source": "ops", "target": OPS_MOUNT, "read_only": True},
        ],
    })
    return service


@dataclass
class ComposeFile:
    text: str
    ca_certificate_pem: str
    secrets: list[str]


def render(stack: str, values: dict[str, Any], *, volume: str, one_shot_migration: bool,
           backup_dir: Path) -> ComposeFile:
    """The compose file for this dev config (fresh throwaway secrets and certificate each call)."""
    mocks = ThrowawayMocks()
    run_program(stack, values, (), mocks)
    app = _service(mocks.containers["webui-app-0"], "net")
    proxy = _service(mocks.containers["proxy-nginx"], "net")
    network = values["network"]
    subnet = network["subnet"]
    ip_range = NetworkSettings(subnet=subnet).dynamic_range  # the program's own address plan
    services: dict[str, Any] = {"app": app, "nginx": proxy}
    if one_shot_migration:
        services["migrate"] = _migration_service(app, mocks.commands["migration-upgrade"], backup_dir)
        # As the program orders them: the app and nginx both behind the migration, nginx not behind the app.
        app["depends_on"] = {"migrate": {"condition": "service_completed_successfully"}}
        proxy["depends_on"] = {"migrate": {"condition": "service_completed_successfully"}}
    else:
        app["environment"]["ENABLE_DB_MIGRATIONS"] = "true"
    document = {
        "services": services,
        "networks": {"net": {"name": network["name"], "driver": "bridge",
                             "ipam": {"config": [{"subnet": subnet, "ip_range": ip_range}]}}},
        "volumes": {"data": {"name": volume},
                    **({"ops": {"name": ops_volume(values["migration"]["toolsImage"] if "toolsImage" in
                                                   values.get("migration", {}) else TOOLS_IMAGE, stack),
                                "external": True}} if one_shot_migration else {})},
    }
    secret_env = ("WEBUI_SECRET_KEY", "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY", "WEBUI_ADMIN_PASSWORD",
                  "TLS_PRIVATE_KEY")
    found = [value for service in services.values() for key, value in service["environment"].items()
             if key in secret_env]
    return ComposeFile(yaml.safe_dump(document, sort_keys=False, width=1000),
                       mocks.ca_certificate_pem, found)


def redacted(compose: ComposeFile) -> str:
    """The file with the generated secrets replaced, for printing."""
    text = compose.text
    for value in compose.secrets:
        for line in value.splitlines() or [value]:
            if line.strip():
                text = text.replace(line, "<generated>")
    return text


if __name__ == "__main__":  # print an example (secrets redacted)
    import tempfile

    from bench.benchlib import Slot, dev_values

    slot = Slot("bench", 28443, 28080, "172.30.130.0/24")
    with tempfile.TemporaryDirectory() as tmp:
        values = dev_values(slot, local_images.app(), Path(tmp))
        print(redacted(render(slot.stack, values, volume=slot.volume, one_shot_migration=True,
                              backup_dir=Path(tmp))))
