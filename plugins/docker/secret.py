"""``docker:index/secret:Secret`` and ``docker:index/serviceConfig:ServiceConfig`` as pulumi-docker 5.1.0 behaves
(rows T* and F* of docs/provider-contract.md; terraform-provider-docker v4.5.0 ``internal/provider/
resource_docker_secret.go`` and ``resource_docker_config.go``):

- every input is ForceNew and neither resource has an Update: a changed value is a new object (a new ID), so a
  service that references it by ID is updated to the new one and the old one is deleted afterwards
  (create-before-delete when the name is autonamed; delete-before-replace when the program named it, B3);
- ``data`` is standard base64, validated in Check (``validateStringIsBase64Encoded``); Create decodes it and sends
  the bytes; a secret's data is never read back (the API does not expose it), a config's is;
- Read drops an object the daemon no longer has; Delete is one remove, its error (e.g. still in use) fails the step.

The body with the secret's bytes travels to the daemon on the API pipe (cli.api), never in an argument list.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from plugins.docker.cli import api
from plugins.docker.container import with_defaults
from plugins.protocol import DEFAULTS_KEY, CheckFailed, Diff, Props, ResourceType, autonamed, property_diff


def _labels_map(labels: list[dict[str, str]] | None) -> dict[str, str]:
    return {item["label"]: item["value"] for item in labels or []}


def _label_set(labels: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"label": k, "value": v} for k, v in sorted((labels or {}).items())]


def _decode(value: str) -> bytes:
    return base64.b64decode(value.encode(), validate=True)


def _base64_failure(key: str, value: Any) -> tuple[str, str] | None:
    """T2/F2: ``base64.StdEncoding.DecodeString``; the message names the key, never the value (it may be secret:
    upstream prints it, the double does not)."""
    if not isinstance(value, str):
        return None
    try:
        _decode(value)
    except (binascii.Error, ValueError):
        return key, f"the value of {key} is not base64 decodeable"
    return None


def _inspect(kind: str, resource_id: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = api("GET", f"/{kind}s/{resource_id}")
    except RuntimeError as exc:
        if "not found" in str(exc).lower() or "no such" in str(exc).lower():
            return None
        raise
    return found


class _SwarmObject(ResourceType):
    kind = ""
    inputs: tuple[str, ...] = ("name", "data", "labels")

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        failures = [f for f in (_base64_failure("data", news.get("data")),) if f]
        if failures:
            raise CheckFailed(failures)
        return with_defaults(name, news, olds, random_seed, {})

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        # No Update upstream: every input is ForceNew (T1, F1).
        return property_diff(olds, news, self.inputs, force_new=lambda _: True,
                             delete_before_replace=not autonamed(news))

    def _spec(self, inputs: Props) -> Props:
        data = (inputs["dataRaw"].encode() if inputs.get("dataRaw") is not None
                else _decode(inputs.get("data") or ""))
        spec: Props = {"Name": inputs["name"], "Data": base64.b64encode(data).decode()}
        if inputs.get("labels"):
            spec["Labels"] = _labels_map(inputs["labels"])
        return spec

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        created = api("POST", f"/{self.kind}s/create", self._spec(inputs))
        state = {k: v for k, v in inputs.items() if k != DEFAULTS_KEY}
        found = _inspect(self.kind, created["ID"])
        return created["ID"], {**state, **(self._read_fields(found, state) if found else {})}

    def _read_fields(self, found: dict[str, Any], state: Props) -> Props:
        return {"name": found["Spec"]["Name"]}

    def read(self, resource_id: str, state: Props, inputs: Props) -> tuple[Props, Props] | None:
        found = _inspect(self.kind, resource_id)
        return None if found is None else ({**state, **self._read_fields(found, state)}, inputs)

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        api("DELETE", f"/{self.kind}s/{resource_id}")


class Secret(_SwarmObject):
    """T-rows: the data is Sensitive (schema ``secret: true``) and never read back."""

    token = "docker:index/secret:Secret"
    kind = "secret"


class ServiceConfig(_SwarmObject):
    """F-rows: ``data`` xor ``dataRaw``; Read sets back whichever the state holds, and the labels."""

    token = "docker:index/serviceConfig:ServiceConfig"
    kind = "config"
    inputs = ("name", "data", "dataRaw", "labels")

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        given = [k for k in ("data", "dataRaw") if news.get(k) is not None]
        if len(given) != 1:
            raise CheckFailed([("data", "exactly one of data, dataRaw must be specified")])
        return super().check(name, news, olds, random_seed)

    def _read_fields(self, found: dict[str, Any], state: Props) -> Props:
        data = base64.b64decode(found["Spec"].get("Data") or "")
        fields: Props = {"name": found["Spec"]["Name"], "labels": _label_set(found["Spec"].get("Labels"))}
        if state.get("dataRaw") is not None:
            fields["dataRaw"] = data.decode("utf-8", errors="replace")
        else:
            fields["data"] = base64.b64encode(data).decode()
        return fields
