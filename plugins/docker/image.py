"""``docker:index/remoteImage:RemoteImage`` (rows I* of docs/provider-contract.md): the local image of that
name when there is one, else a pull (with the provider's registry credentials); ``imageId`` is the image's
content id; ``keepLocally`` keeps it on delete; Read drops it when the image is gone from the daemon."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from typing import Any

from plugins.docker.cli import docker, inspect
from plugins.protocol import Diff, Props, ResourceType, property_diff

FORCE_NEW = ("name", "pullTriggers", "triggers", "platform", "build")
INPUTS = ("name", "keepLocally", "pullTriggers", "triggers", "platform", "forceRemove", "build")
# Credentials from the provider's registryAuth (Configure), keyed by registry address.
REGISTRY_AUTH: dict[str, tuple[str, str]] = {}


def _registry_of(name: str) -> str:
    first = name.split("/", 1)[0]
    return first if "/" in name and ("." in first or ":" in first or first == "localhost") else "docker.io"


def _pull(name: str) -> None:
    auth = REGISTRY_AUTH.get(_registry_of(name))
    if auth is None:
        docker("pull", name, timeout=1800)
        return
    with tempfile.TemporaryDirectory(prefix="docker-config-") as config_dir:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        path = os.path.join(config_dir, "config.json")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as handle:
            json.dump({"auths": {_registry_of(name): {"auth": token}}}, handle)
        docker("--config", config_dir, "pull", name, timeout=1800)


def _outputs(inputs: Props, found: dict[str, Any]) -> Props:
    digests = found.get("RepoDigests") or []
    return {**inputs, "imageId": found["Id"], "repoDigest": digests[0] if digests else ""}


class RemoteImage(ResourceType):
    token = "docker:index/remoteImage:RemoteImage"

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        return property_diff(olds, news, INPUTS, force_new=lambda n: n in FORCE_NEW)

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        found = inspect("image", inputs["name"])
        if found is None:
            _pull(inputs["name"])
            found = inspect("image", inputs["name"])
        if found is None:
            raise RuntimeError(f"image {inputs['name']} is neither local nor pullable")
        return f"{found['Id']}{inputs['name']}", _outputs(inputs, found)

    def read(self, resource_id: str, state: Props, inputs: Props) -> tuple[Props, Props] | None:
        found = inspect("image", state.get("imageId") or state["name"])
        return None if found is None else (_outputs(state, found), inputs)

    def update(self, resource_id: str, olds: Props, news: Props, old_inputs: Props, timeout: float) -> Props:
        return {**olds, **news}

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        if not state.get("keepLocally"):
            docker("rmi", *(["-f"] if state.get("forceRemove") else []), state["name"], check=False)
