"""Contract double for pulumi-command's ``command:local:Command`` (provider/pkg/provider/local/).

Rows K1-K12 of docs/provider-contract.md: a change of ``triggers`` replaces; any other input change is an update
that runs ``update`` (or, without one, ``create``) again; ``delete`` runs on delete when given; the command runs
under the interpreter (default ``/bin/sh -c``) with the provider's environment plus ``environment``; a failing
command fails the step with its exit status and output.
"""

from __future__ import annotations

import os
import secrets
import subprocess

from plugins.protocol import Diff, Props, ResourceType, property_diff

DEFAULTS: Props = {"addPreviousOutputInEnv": True, "logging": "stdoutAndStderr"}
INPUTS = ("create", "update", "delete", "dir", "environment", "interpreter", "stdin", "triggers",
          "addPreviousOutputInEnv", "logging", "assetPaths", "archivePaths")
FORCE_NEW = ("triggers",)


def run_command(command: str, inputs: Props, previous: Props | None, timeout: float) -> tuple[str, str]:
    interpreter = inputs.get("interpreter") or ["/bin/sh", "-c"]
    env = {**os.environ, **{k: str(v) for k, v in (inputs.get("environment") or {}).items()}}
    if previous is not None and inputs.get("addPreviousOutputInEnv", True):
        env["PULUMI_COMMAND_STDOUT"] = str(previous.get("stdout", ""))
        env["PULUMI_COMMAND_STDERR"] = str(previous.get("stderr", ""))
    try:
        done = subprocess.run([*interpreter, command], input=inputs.get("stdin"), cwd=inputs.get("dir") or None,
                              env=env, capture_output=True, text=True, timeout=timeout or None, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"command timed out after {timeout:.0f}s") from None
    stdout, stderr = done.stdout.removesuffix("\n"), done.stderr.removesuffix("\n")  # K4: one newline
    if done.returncode != 0:
        # K7: upstream's message is the exit error, the command and the interleaved output.
        raise RuntimeError(f"exit status {done.returncode}: running {command!r}:\n{stdout[-2000:]}\n{stderr[-4000:]}")
    return stdout, stderr


class Command(ResourceType):
    token = "command:local:Command"

    def check(self, name: str, news: Props, olds: Props, random_seed: bytes) -> Props:
        return {**DEFAULTS, **news}

    def diff(self, resource_id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        return property_diff({**DEFAULTS, **(old_inputs or olds)}, {**DEFAULTS, **news}, INPUTS,
                             force_new=lambda name: name in FORCE_NEW)

    def create(self, name: str, inputs: Props, timeout: float) -> tuple[str, Props]:
        stdout, stderr = ("", "")
        if inputs.get("create"):
            stdout, stderr = run_command(inputs["create"], inputs, None, timeout)
        return f"{name}{secrets.token_hex(4)}", {**inputs, "stdout": stdout, "stderr": stderr}

    def update(self, resource_id: str, olds: Props, news: Props, old_inputs: Props, timeout: float) -> Props:
        command = news.get("update") or news.get("create")
        stdout, stderr = olds.get("stdout", ""), olds.get("stderr", "")
        if command:
            stdout, stderr = run_command(command, news, olds, timeout)
        return {**news, "stdout": stdout, "stderr": stderr}

    def delete(self, resource_id: str, state: Props, timeout: float) -> None:
        if state.get("delete"):
            run_command(state["delete"], state, state, timeout)


TYPES = (Command(),)
