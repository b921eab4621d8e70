"""What a failed engine run says, causes first.

When one step fails, the engine cancels the steps still in flight, and each of those reports its own error: for a
Python program a full traceback ending in ``Exception: context canceled`` (pulumi/runtime/settings.py
handle_grpc_error). The CLI prints the diagnostics in the order they came, so the tail of its output can hold
nothing but those cancellations, and the step that failed first (a refused config key, a failed migration) is
pushed out of any bounded excerpt. The message is therefore built from the engine's own events
(pulumi/automation/events.py DiagnosticEvent, PolicyEvent): mandatory policy violations and error diagnostics,
each under the resource it belongs to, the consequences of the failure (cancellations, the closing "update
failed") after the causes and shortened to their last line.
"""

from __future__ import annotations

from collections.abc import Iterable

from pulumi import automation as auto

# The engine stopping after the failure: canceled registrations, the program told the monitor is gone.
CONSEQUENCES = ("context canceled", "operation canceled", "resource monitor has terminated")
# The engine's closing diagnostic on the stack ("update failed", "preview failed"): a consequence, never a cause.
CLOSING = ("update failed", "preview failed", "refresh failed", "destroy failed")
MAX_LINES_PER_CAUSE = 80  # a config error lists one line per key: room for many
TAIL_LINES = 60


def _where(urn: str | None) -> str:
    """`type (name)`, as the CLI heads a resource's diagnostics; the stack itself when there is no URN."""
    if not urn:
        return "stack"
    parts = urn.split("::")
    type_token = parts[-2].split("$")[-1] if len(parts) >= 2 else ""
    return f"{type_token} ({parts[-1]})"


def _is_consequence(message: str) -> bool:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    last = lines[-1].strip().lower() if lines else ""
    return any(word in last for word in CONSEQUENCES) or any(last.startswith(word) for word in CLOSING)


def _without_frames(lines: list[str]) -> list[str]:
    """A Python traceback's frames dropped (the lines before it and the exception with its message kept): in a
    cause they only push the message down; the engine's own log keeps them."""
    start = next((i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last):")), None)
    if start is None:
        return lines
    frames = [i for i, line in enumerate(lines) if line.startswith('  File "')]
    end = frames[-1] + 1 if frames else start + 1
    # After the last frame line: its source line and caret lines (indented deeper), then the exception.
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    return [*lines[:start], *lines[end:]]


def _shorten(message: str, limit: int) -> str:
    lines = _without_frames([line.rstrip() for line in message.strip().splitlines() if line.strip()])
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join([*lines[: limit // 2], f"... ({len(lines) - limit} lines)", *lines[-(limit - limit // 2):]])


def causes(events: Iterable[auto.EngineEvent]) -> list[str]:
    """The run's errors, causes first, each once: `where: message`."""
    first: list[str] = []
    later: list[str] = []
    seen: set[str] = set()
    for event in events:
        if event.policy_event is not None and event.policy_event.enforcement_level == "mandatory":
            policy = event.policy_event
            entry = (f"{_where(policy.resource_urn)}: policy {policy.policy_pack_name}/{policy.policy_name} "
                     f"(mandatory): {_shorten(policy.message, MAX_LINES_PER_CAUSE)}")
            target = first
        elif event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            diagnostic = event.diagnostic_event
            if _is_consequence(diagnostic.message):
                last = diagnostic.message.strip().splitlines()[-1].strip()
                entry, target = f"{_where(diagnostic.urn)}: {last}", later
            else:
                entry = f"{_where(diagnostic.urn)}: {_shorten(diagnostic.message, MAX_LINES_PER_CAUSE)}"
                target = first
        else:
            continue
        if entry not in seen:
            seen.add(entry)
            target.append(entry)
    return first + later


def message(events: Iterable[auto.EngineEvent], output: str) -> str:
    """The DeployError text: the causes from the events; the output's tail when the run sent no error event
    (the CLI failed before the engine started, for instance)."""
    found = causes(events)
    if found:
        return "\n".join(found)
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith(" code:")]
    return "\n".join(lines[-TAIL_LINES:])
