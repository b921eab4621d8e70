"""Serve one contract double: the resource types of a package, and the docker provider's own configuration."""

from __future__ import annotations

import json
import os

from plugins.protocol import Props, Servicer, serve


def configure_docker(args: Props) -> None:
    """The provider's own inputs: `host` (else DOCKER_HOST), `sshOpts` and `registryAuth` (rows D1, D2, D4)."""
    from plugins.docker import cli, image

    if args.get("host"):
        cli.HOST["DOCKER_HOST"] = args["host"]
    # The engine may hand a non-string provider input JSON-encoded (provider inputs travel as strings).
    # Unset: DOCKER_SSH_OPTS split on whitespace (KD internal/provider/provider.go `ssh_opts` DefaultFunc).
    ssh_opts = args.get("sshOpts") or os.environ.get("DOCKER_SSH_OPTS", "").split()
    cli.SSH_OPTS[:] = [str(o) for o in (json.loads(ssh_opts) if isinstance(ssh_opts, str) else ssh_opts)]
    registry_auth = args.get("registryAuth") or []
    for auth in json.loads(registry_auth) if isinstance(registry_auth, str) else registry_auth:
        if isinstance(auth, dict) and auth.get("address") and auth.get("username"):
            image.REGISTRY_AUTH[auth["address"]] = (auth["username"], auth.get("password", ""))


def main(argv: list[str]) -> None:
    """Each package imports only its own modules: the engine starts the doubles one after another, on every
    operation, so their start is on its path (tests/doubles/test_startup.py)."""
    package, version = argv[1], argv[2]
    if package == "docker":
        from plugins.docker.container import Container
        from plugins.docker.image import RemoteImage
        from plugins.docker.network import Network, Volume
        from plugins.docker.secret import Secret, ServiceConfig
        from plugins.docker.service import Service

        types = (Container(), RemoteImage(), Network(), Volume(), Service(), Secret(), ServiceConfig())
        servicer = Servicer(package, version, types, configure_docker)
    elif package == "random":
        from plugins import random

        servicer = Servicer(package, version, random.TYPES)
    elif package == "command":
        from plugins import command

        servicer = Servicer(package, version, command.TYPES)
    else:
        raise SystemExit(f"no contract double for {package}")
    serve(servicer)
