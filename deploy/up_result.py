"""What `up` returns, taken from the update's own engine events instead of read back from the stack afterwards.

auto.Stack.up() reads the stack once the update has ended: `stack output --json`, the same with --show-secrets (a
second passphrase key derivation), then `stack history` (pulumi/automation/_stack.py up(), outputs(), info();
_local_workspace.py stack_outputs()). Three CLI starts, 0.6 s here (bench/results.md), after every `up`, for what
the engine has already reported: the root stack's outputs event carries the stack outputs, secrets blinded
(pkg/backend/display/display.go writes the event log with showSecrets=false; events.go
convertStepEventStateMetadata), and the summary event the counts of changes. A secret output is read from the
stack, decrypted, only when its value is asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pulumi import automation as auto

from deploy.secret_sig import holds_secret

STACK_TYPE = "pulumi:pulumi:Stack"


class SecretOutput(auto.OutputValue):
    """A stack output the events carry blinded: its value is read from the stack (decrypted) on first use."""

    def __init__(self, read: Callable[[], Any]):  # noqa: D107  (no super().__init__: `value` is read on demand)
        self._read = read
        self.secret = True

    @functools.cached_property
    def value(self) -> Any:
        return self._read()


@dataclass(frozen=True)
class UpResult:
    """The engine's own report of one successful `up`: its output, the stack outputs, the counts of changes."""

    stdout: str
    outputs: Mapping[str, auto.OutputValue]
    changes: auto.OpMap = field(default_factory=dict)


def from_events(events: list[auto.EngineEvent], stdout: str,
                read_outputs: Callable[[], Mapping[str, auto.OutputValue]]) -> UpResult:
    """The result of the update whose events these are. `read_outputs` reads the stack's outputs (secrets
    decrypted): used only for a secret's value, or when no outputs event came (the stack resource not in the
    update)."""
    reported: dict[str, Any] | None = None
    changes: auto.OpMap = {}
    for event in events:
        done = event.res_outputs_event
        if done is not None and done.metadata.type == STACK_TYPE and done.metadata.new is not None:
            reported = dict(done.metadata.new.outputs or {})
        if event.summary_event is not None:
            changes = dict(event.summary_event.resource_changes or {})
    read_once = functools.cache(read_outputs)
    if reported is None:
        return UpResult(stdout=stdout, outputs=dict(read_once()), changes=changes)

    def secret(key: str) -> SecretOutput:
        return SecretOutput(lambda: read_once()[key].value)

    outputs: dict[str, auto.OutputValue] = {
        key: secret(key) if holds_secret(value) else auto.OutputValue(value, secret=False)
        for key, value in reported.items()}
    return UpResult(stdout=stdout, outputs=outputs, changes=changes)


class EventsReportedStack(auto.Stack):
    """auto.Stack whose up() leaves out its reads after the update (deploy.Stack.up builds the result from the
    events, from_events above); outside up() outputs() and info() read the stack as usual."""

    _in_up = False

    def up(self, *args: Any, **kwargs: Any) -> auto.UpResult:
        self._in_up = True
        try:
            return super().up(*args, **kwargs)
        finally:
            self._in_up = False

    def outputs(self) -> auto.OutputMap:
        return {} if self._in_up else super().outputs()

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        if self._in_up:
            # Never leaves deploy.Stack.up: auto.Stack.up() only asserts that there is a summary.
            return auto.UpdateSummary(kind="update", start_time=datetime.now(), message="", environment={},
                                      config={}, result="succeeded", end_time=None, version=None,
                                      deployment=None, resource_changes=None)
        return super().info(show_secrets)
