"""``python -m plugins <package> <version> [engine address]``: serve one contract double (plugins/bin)."""

from __future__ import annotations

import sys

from plugins import command, random
from plugins.docker import cli, image
from plugins.docker.container import Container
from plugins.docker.image import RemoteImage
from plugins.docker.network import Network, Volume
from plugins.docker.secret import Secret, ServiceConfig
from plugins.docker.service import Service
from plugins.protocol import Props, Servicer, serve


def configure_docker(args: Props) -> None:
    """The provider's own inputs: `host` (else DOCKER_HOST) and `registryAuth` (rows P1-P2)."""
    if args.get("host"):
        cli.HOST["DOCKER_HOST"] = args["host"]
    for auth in args.get("registryAuth") or []:
        if isinstance(auth, dict) and auth.get("address") and auth.get("username"):
            image.REGISTRY_AUTH[auth["address"]] = (auth["username"], auth.get("password", ""))


def main(argv: list[str]) -> None:
    package, version = argv[1], argv[2]
    if package == "docker":
        types = (Container(), RemoteImage(), Network(), Volume(), Service(), Secret(), ServiceConfig())
        servicer = Servicer(package, version, types, configure_docker)
    elif package == "random":
        servicer = Servicer(package, version, random.TYPES)
    elif package == "command":
        servicer = Servicer(package, version, command.TYPES)
    else:
        raise SystemExit(f"no contract double for {package}")
    serve(servicer)


if __name__ == "__main__":
    main(sys.argv)
