"""deploy/up_result.py and deploy/secret_sig.py: what `up` returns, from the update's own engine events (the
real engine: tests/engine/test_up_result_engine.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi import automation as auto

from deploy import secret_sig as sig
from deploy.secret_sig import holds_secret
from deploy.up_result import SecretOutput, from_events

BLINDED = {sig.KEY: sig.SECRET, "ciphertext": "[secret]"}
STACK_URN = "urn:pulumi:dev::openwebui::pulumi:pulumi:Stack::openwebui-dev"


def _stack_outputs_event(outputs: dict[str, Any], op: str = "create") -> auto.EngineEvent:
    state = {"type": "pulumi:pulumi:Stack", "urn": STACK_URN, "custom": False, "delete": False, "id": "",
             "parent": "", "protect": False, "inputs": {}, "outputs": outputs, "provider": ""}
    return auto.EngineEvent.from_json({"sequence": 7, "timestamp": 0, "resOutputsEvent": {"metadata": {
        "op": op, "urn": STACK_URN, "type": "pulumi:pulumi:Stack", "provider": "", "new": state}}})


def _summary_event(changes: dict[str, int]) -> auto.EngineEvent:
    return auto.EngineEvent.from_json({"sequence": 8, "timestamp": 0, "summaryEvent": {
        "maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": changes, "PolicyPacks": {}}})


class Reads:
    """The stack read back (secrets decrypted), counting how often."""

    def __init__(self, values: dict[str, Any]):
        self.values, self.count = values, 0

    def __call__(self) -> dict[str, auto.OutputValue]:
        self.count += 1
        return {key: auto.OutputValue(value, secret=False) for key, value in self.values.items()}


def test_plain_outputs_come_from_the_events_without_a_read() -> None:
    reads = Reads({})
    result = from_events([_stack_outputs_event({"url": "https://x", "n": 2, "m": {"a": [1]}}),
                          _summary_event({"create": 3, "same": 1})], "out", reads)
    assert {key: value.value for key, value in result.outputs.items()} == {"url": "https://x", "n": 2,
                                                                         "m": {"a": [1]}}
    assert not any(value.secret for value in result.outputs.values())
    assert dict(result.changes) == {"create": 3, "same": 1}
    assert result.stdout == "out"
    assert reads.count == 0


def test_a_secret_is_read_from_the_stack_once_and_only_when_asked_for() -> None:
    reads = Reads({"adminPassword": "pw", "nested": {"k": "deep"}, "url": "https://x"})
    result = from_events([_stack_outputs_event({"adminPassword": BLINDED, "nested": {"k": BLINDED},
                                                "url": "https://x"})], "", reads)
    password, nested = result.outputs["adminPassword"], result.outputs["nested"]
    assert isinstance(password, SecretOutput) and password.secret and nested.secret
    assert repr(password) == "[secret]"  # as the SDK's OutputValue prints a secret
    assert reads.count == 0
    assert password.value == "pw" and nested.value == {"k": "deep"}
    assert password.value == "pw"
    assert reads.count == 1


def test_the_last_stack_outputs_event_wins() -> None:
    """A stack registers its outputs once per run; should two come, the later one is what the state holds."""
    result = from_events([_stack_outputs_event({"v": 1}), _stack_outputs_event({"v": 2}, op="same")], "",
                         Reads({}))
    assert result.outputs["v"].value == 2


def test_without_a_stack_outputs_event_the_outputs_are_read() -> None:
    reads = Reads({"url": "https://x"})
    result = from_events([_summary_event({"same": 4})], "", reads)
    assert result.outputs["url"].value == "https://x"
    assert reads.count == 1


@pytest.mark.parametrize(("value", "secret"), [
    (BLINDED, True), ({"a": [1, BLINDED]}, True), ([{"b": BLINDED}], True),
    ({"a": "b"}, False), ([1, "x"], False), ("[secret]", False), ({sig.KEY: "other"}, False),
])
def test_holds_secret(value: Any, secret: bool) -> None:
    assert holds_secret(value) is secret
