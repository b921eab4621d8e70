"""deploy/engine_errors.py on the events of the run CI failed on (stop 20): a refused database switch, then a
registration the engine canceled, whose traceback alone filled the old 60-line excerpt."""

from __future__ import annotations

from pulumi import automation as auto
from pulumi.automation.events import DiagnosticEvent, PolicyEvent

from deploy import engine_errors

STACK_URN = "urn:pulumi:move16-e2e::openwebui::pulumi:pulumi:Stack::openwebui-move16-e2e"
GUARD_URN = ("urn:pulumi:move16-e2e::openwebui::pulumi:pulumi:Stack$openwebui:app:Database$"
             "pulumi-python:dynamic:Resource::database-kind")
APP_URN = ("urn:pulumi:move16-e2e::openwebui::pulumi:pulumi:Stack$openwebui:app:App$"
           "docker:index/container:Container::app")
REFUSAL = ("openwebui:database.type: stack move16-e2e has data in SQLite; switching it to postgresql would start "
           "the app on an empty database. Move it first: scripts/owui move-database move16-e2e --to ...")
CANCELED = "\n".join(["Traceback (most recent call last):",
                      *[f'  File "/venv/pulumi/runtime/resource.py", line {n}, in prepare_resource' for n in range(70)],
                      "Exception: context canceled"])


def _diagnostic(number: int, urn: str | None, message: str, severity: str = "error") -> auto.EngineEvent:
    return auto.EngineEvent(number, 0, diagnostic_event=DiagnosticEvent(message + "\n", "never", severity, urn=urn))


def _policy(number: int, level: str) -> auto.EngineEvent:
    event = PolicyEvent("the app runs as root", "never", "app-not-root", "openwebui-security", "1", "1", level,
                        resource_urn=APP_URN)
    return auto.EngineEvent(number, 0, policy_event=event)


def test_the_refusal_comes_before_the_cancellations_that_followed_it() -> None:
    events = [
        _diagnostic(1, STACK_URN, "warning before", severity="warning"),
        _diagnostic(2, GUARD_URN, REFUSAL),
        _diagnostic(3, APP_URN, CANCELED),
        _diagnostic(4, APP_URN, CANCELED),  # the same consequence twice: said once
        _diagnostic(5, STACK_URN, "update failed"),
    ]
    said = engine_errors.message(events, output="\n".join(["noise"] * 200)).splitlines()
    assert said == [
        f"pulumi-python:dynamic:Resource (database-kind): {REFUSAL}",
        "docker:index/container:Container (app): Exception: context canceled",
        "pulumi:pulumi:Stack (openwebui-move16-e2e): update failed",
    ]


def test_consequences_listed_first_when_they_arrive_first_are_still_put_last() -> None:
    events = [_diagnostic(1, APP_URN, CANCELED), _diagnostic(2, GUARD_URN, REFUSAL)]
    assert engine_errors.message(events, "").splitlines()[0].endswith(REFUSAL)


def test_mandatory_policy_violations_are_causes_advisory_ones_are_not() -> None:
    events = [_policy(1, "advisory"), _diagnostic(2, STACK_URN, "preview failed"), _policy(3, "mandatory")]
    assert engine_errors.message(events, "").splitlines() == [
        "docker:index/container:Container (app): policy openwebui-security/app-not-root (mandatory): "
        "the app runs as root",
        "pulumi:pulumi:Stack (openwebui-move16-e2e): preview failed",
    ]


def test_a_long_cause_is_shortened_in_the_middle() -> None:
    long = "\n".join(f"line {n}" for n in range(200))
    said = engine_errors.message([_diagnostic(1, GUARD_URN, long)], "")
    assert "line 0" in said and "line 199" in said and "(120 lines)" in said and "line 100" not in said


def test_a_cause_with_a_traceback_keeps_every_line_of_its_message() -> None:
    """A program's exception: the frames go, the exception's message stays whole, however many keys it names."""
    keys = [f"  openwebui:key{n}: must not be empty" for n in range(60)]
    message = "\n".join(["Program failed with an unhandled exception:", "Traceback (most recent call last):",
                         *[f'  File "/x/y.py", line {n}, in f\n    call()\n    ^^^^^^' for n in range(30)],
                         "components.config.ConfigError: invalid stack configuration:", *keys])
    said = engine_errors.message([_diagnostic(1, STACK_URN, message)], "").splitlines()
    assert said == ["pulumi:pulumi:Stack (openwebui-move16-e2e): Program failed with an unhandled exception:",
                    "components.config.ConfigError: invalid stack configuration:", *keys]


def test_without_error_events_the_output_tail_is_the_message() -> None:
    output = "\n".join([*(f"line {n}" for n in range(100)), " code: 255"])
    assert engine_errors.message([_diagnostic(1, STACK_URN, "note", severity="info")], output).splitlines() == [
        f"line {n}" for n in range(40, 100)]
