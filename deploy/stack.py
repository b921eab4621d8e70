"""One stack on the real Pulumi engine: preview, up, refresh, destroy, outputs; the policy pack on each run.

The CLI runs the program when the Python language host is installed; otherwise the Automation API runs the
unchanged ``__main__.py`` as its inline program (the SDK serves the language runtime in-process,
pulumi/automation/_server.py). Either way the engine, the file backend, the stack config and the policy pack are
the same ones, and the plugins are the real ones or, where they cannot be had, the contract doubles.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode  # what auto.Stack.create_or_select passes; not re-exported

from deploy import engine_errors, plugins, ssh_identity, stack_file
from deploy.toolchain import ROOT, STATE_HOME, cli_root, engine_env, toolchain_env
from deploy.up_result import EventsReportedStack, UpResult, from_events

PROJECT = stack_file.NAMESPACE
RUN_PACK = ROOT / "policy" / "run-pack"


def run_main(work_dir: Path = ROOT) -> None:
    """The inline program: the project's own __main__.py, unchanged. The inline server runs it in this process's
    working directory and leaves the project root unset (pulumi/automation/_server.py), so the project directory
    is handed over as the CLI's language host would hand it (components/database_guard.py names its stack file)."""
    os.environ["OWUI_PROJECT_DIR"] = str(work_dir)
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


def _main_in(work_dir: Path) -> Callable[[], None]:
    def program() -> None:
        run_main(work_dir)
    return program


def policy_config(environment: str) -> str:
    return str(ROOT / "policy" / "config" / f"{environment}.json")


class DeployError(Exception):
    """A failed engine operation; the message is the engine's, with secrets already masked by the engine."""


@dataclass
class Engine:
    """The engine's environment: toolchain, backend, PULUMI_HOME, passphrase, and which plugin serves what."""

    env: dict[str, str]
    command: auto.PulumiCommand
    choices: list[plugins.PluginChoice]

    @classmethod
    def create(cls, state_dir: Path | None = None, scratch: Path | None = None,
               passphrase: dict[str, str] | None = None) -> Engine:
        base = toolchain_env()
        backend = os.environ.get("PULUMI_BACKEND_URL") if state_dir is None else None
        if backend is None:
            state_dir = state_dir or Path(os.environ.get("OWUI_STATE_DIR", STATE_HOME / "state"))
            state_dir.mkdir(parents=True, exist_ok=True)
            backend = f"file://{state_dir}"
        scratch = scratch or STATE_HOME
        env = engine_env(base, backend=backend, home=scratch / "pulumi-home", passphrase=passphrase)
        choices = plugins.choose(env)
        if plugins.needs_doubles(choices):
            env["PATH"] = os.pathsep.join([str(plugins.doubles_dir(choices, scratch / "doubles")), env["PATH"]])
        command = auto.PulumiCommand(root=str(cli_root(env, scratch / "cli")))
        return cls(env=env, command=command, choices=choices)

    def language_host(self) -> str | None:
        return shutil.which("pulumi-language-python", path=self.env["PATH"])

    def stack(self, name: str, work_dir: Path = ROOT, on_output: Callable[[str], None] | None = None,
              program: Callable[[], None] = run_main, with_policy: bool = True) -> Stack:
        """The stack `name` of the project in work_dir. `program` and `with_policy=False` are for the tests of
        the engine and the doubles with programs of their own; the project's program always runs with the pack."""
        workspace = auto.LocalWorkspace(work_dir=str(work_dir), env_vars=self.env, pulumi_command=self.command,
                                        program=_main_in(work_dir) if program is run_main else program)
        # As auto.create_or_select_stack, with the Stack that leaves the reads after `up` out (deploy/up_result.py).
        workspace_stack = EventsReportedStack(name, workspace, StackInitMode.CREATE_OR_SELECT)
        return Stack(engine=self, stack=workspace_stack, work_dir=work_dir, on_output=on_output or _print,
                     with_policy=with_policy or program is run_main)


def _print(line: str) -> None:
    print(line, end="" if line.endswith("\n") else "\n", flush=True)


@dataclass
class Stack:
    engine: Engine
    stack: auto.Stack
    work_dir: Path
    on_output: Callable[[str], None] = _print
    with_policy: bool = True
    events: list[auto.EngineEvent] = field(default_factory=list)
    event_times: list[float] = field(default_factory=list)  # when each event arrived (time.monotonic)

    @property
    def name(self) -> str:
        return self.stack.name

    # -- config ------------------------------------------------------------------------------------------------
    def cli(self, *args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """The CLI itself, for what the Automation API would do with a value on the command line."""
        return subprocess.run([self.engine.command.command, *args, "--stack", self.name], input=stdin,
                              cwd=self.work_dir, env={**os.environ, **self.engine.env}, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def set_secret(self, key: str, value: str) -> None:
        """Secret config read from stdin (`stack.set_config(secret=True)` would put it in the process list)."""
        done = self.cli("config", "set", "--secret", f"{PROJECT}:{key}", stdin=value)
        if done.returncode != 0:
            raise DeployError(f"pulumi config set --secret {PROJECT}:{key}: {done.stderr.strip()}")

    def environment(self) -> str:
        """The stack's `environment` key (the policy config to apply), else the stack name. Read from the stack
        file (a plain value; Pulumi.yaml declares no project config), not with a CLI start."""
        value = stack_file.plain_value(self.work_dir, self.name, "environment")
        return str(value) if value else self.name

    # -- operations --------------------------------------------------------------------------------------------
    def _policy(self) -> dict[str, Any]:
        if not self.with_policy:
            return {}
        return {"policy_packs": [str(RUN_PACK)], "policy_pack_configs": [policy_config(self.environment())]}

    def _run(self, operation: Callable[..., Any], **kwargs: Any) -> Any:
        self.events, self.event_times = [], []

        def on_event(event: auto.EngineEvent) -> None:
            self.events.append(event)
            self.event_times.append(time.monotonic())

        try:
            with self.ssh_identity():
                return operation(on_output=self.on_output, on_event=on_event, **kwargs)
        except auto.errors.CommandError as exc:
            raise DeployError(engine_errors.message(self.events, str(exc))) from None

    @contextlib.contextmanager
    def ssh_identity(self) -> Iterator[None]:
        """For a stack on an ssh:// Docker host, an ssh-agent with its key for this run (deploy/ssh_identity.py):
        the engine, the plugins and the steps get SSH_AUTH_SOCK."""

        def read_secret(key: str) -> str | None:
            done = self.cli("config", "get", f"{PROJECT}:{key}")
            return done.stdout.rstrip("\n") if done.returncode == 0 else None

        with ssh_identity.identity(self.work_dir, self.name, read_secret) as agent_env:
            # engine.env is the workspace's env_vars (LocalWorkspaceOptions above), which every CLI run gets.
            saved = {key: self.engine.env.get(key) for key in agent_env}
            self.engine.env.update(agent_env)
            try:
                yield
            finally:
                for key, value in saved.items():
                    if value is None:
                        self.engine.env.pop(key, None)
                    else:
                        self.engine.env[key] = value

    def preview(self, expect_no_changes: bool = False, refresh: bool = False) -> auto.PreviewResult:
        result: auto.PreviewResult = self._run(self.stack.preview, expect_no_changes=expect_no_changes,
                                               refresh=refresh, **self._policy())
        return result

    def up(self, refresh: bool = False, replace: list[str] | None = None) -> UpResult:
        """The update; its result is the engine's own report of it (deploy/up_result.py)."""
        if self.engine.language_host():
            # A full Pulumi install: the CLI runs the program through its language host, as users run it.
            return self._cli_up(refresh)
        done: auto.UpResult = self._run(self.stack.up, refresh=refresh, replace=replace, **self._policy())
        return from_events(self.events, done.stdout, self.stack.outputs)

    def _cli_up(self, refresh: bool) -> UpResult:
        policy = self._policy()
        args = ["up", "--yes", "--skip-preview", *(["--refresh"] if refresh else [])]
        if policy:
            args += ["--policy-pack", policy["policy_packs"][0],
                     "--policy-pack-config", policy["policy_pack_configs"][0]]
        with tempfile.TemporaryDirectory(prefix="owui-events-") as events_dir, self.ssh_identity():
            # The engine's event log, as the Automation API reads it, so that a failure is reported the same way.
            event_log = Path(events_dir) / "events.jsonl"
            done = self.cli(*args, "--event-log", str(event_log), timeout=3600)
            self.events = [auto.EngineEvent.from_json(json.loads(line))
                           for line in event_log.read_text(encoding="utf-8").splitlines()
                           if line.strip()] if event_log.exists() else []
        self.on_output(done.stdout)
        if done.returncode != 0:
            raise DeployError(engine_errors.message(self.events, f"{done.stdout}\n{done.stderr}"))
        return from_events(self.events, done.stdout, self.stack.outputs)

    def refresh(self) -> auto.RefreshResult:
        result: auto.RefreshResult = self._run(self.stack.refresh)
        return result

    def destroy(self) -> auto.DestroyResult:
        result: auto.DestroyResult = self._run(self.stack.destroy)
        return result

    def step_seconds(self) -> dict[str, float]:
        """Resource name -> seconds from its step's start to its outputs, for the steps that changed something."""
        return {name: done - start for name, (start, done) in self.step_spans().items()}

    def step_spans(self) -> dict[str, tuple[float, float]]:
        """Resource name -> (start, outputs) as time.monotonic() readings of the last operation's events, for the
        steps that changed something."""
        started: dict[str, float] = {}
        spans: dict[str, tuple[float, float]] = {}
        for event, at in zip(self.events, self.event_times, strict=False):
            if event.resource_pre_event is not None:
                started.setdefault(event.resource_pre_event.metadata.urn, at)
            elif event.res_outputs_event is not None and event.res_outputs_event.metadata.op != "same":
                urn = event.res_outputs_event.metadata.urn
                if urn in started:
                    spans[urn.split("::")[-1]] = (started[urn], at)
        return spans

    def outputs(self) -> dict[str, Any]:
        return {key: value.value for key, value in self.stack.outputs().items()}

    def export(self) -> dict[str, Any]:
        """The deployment as the backend stores it, secrets encrypted (`pulumi stack export`, CLI alone)."""
        done = self.cli("stack", "export")
        if done.returncode != 0:
            raise DeployError(f"pulumi stack export: {done.stderr.strip()}")
        exported: dict[str, Any] = json.loads(done.stdout)
        return exported

    def resources(self) -> list[dict[str, Any]]:
        """The deployment's resources with secrets decrypted (the Automation API exports with --show-secrets)."""
        deployment = self.stack.export_stack().deployment or {}
        return list(deployment.get("resources", []))


def project_dir(directory: Path) -> Path:
    """A project dir of its own (for test and bench stacks): Pulumi.yaml without stackConfigDir."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    settings.pop("stackConfigDir", None)
    (directory / "Pulumi.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return directory
