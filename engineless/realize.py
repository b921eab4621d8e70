"""Deploy what the program declares onto the real Docker engine, without the Pulumi engine.

Why this exists: the Go module proxy here refuses the docker, random and command resource plugins
(and the Python language host), so `pulumi up` of this program cannot run on this machine (README,
"What runs where"). These tests still prove the deployment itself for real: the program runs
unchanged under the SDK's mock monitor, and every resource it registers is created for real, in the
order the SDK registers them (dependencies first):

| declared type | realised as |
|---|---|
| random RandomPassword / RandomBytes | `secrets` values (same length and character classes) |
| docker RemoteImage | the local image (its real id) |
| docker Network / Volume | `docker network create` / `docker volume create` |
| docker Container | `docker run` with every declared input translated; `wait` waits for healthy |
| command local Command | its `create` run by /bin/sh with its `environment` |
| dynamic resources (certificate, PostgreSQL, MySQL) | the provider object itself (`create`) |

A second run with changed config replaces what changed (a container: the new one starts and turns
healthy before the old one is removed; a command: runs again), and keeps the rest. This is a test
driver with create/replace/delete only, not a Pulumi engine; what it proves is the declared
resources' behaviour on real Docker, databases and nginx.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shlex
import string
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi

SECRET_SIG = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def plain(value: Any) -> Any:
    """Inputs with Pulumi's secret envelopes removed, recursively."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _digest(inputs: dict[str, Any]) -> str:
    stable = {k: v for k, v in inputs.items() if k != "__provider"}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def run(*args: str, env: Optional[dict[str, str]] = None, timeout: int = 900,
        check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{args[0]} {args[1] if len(args) > 1 else ''} failed "
                           f"({proc.returncode}): {proc.stderr.strip()[-3000:]}")
    return proc


@dataclass
class Record:
    typ: str
    name: str
    digest: str
    id: str
    outputs: dict[str, Any]


@dataclass
class DockerRealizer(pulumi.runtime.Mocks):
    """Mocks whose `new_resource` creates the resource for real (see the module docstring)."""

    state: dict[str, Record] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- Mocks interface -------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:  # component resources exist only in the program
            return [f"{args.name}-component", dict(args.inputs)]
        inputs = plain(dict(args.inputs))
        digest = _digest(inputs)
        with self.lock:
            self.seen.add(args.name)
            previous = self.state.get(args.name)
        if previous is not None and previous.digest == digest:
            return [previous.id, previous.outputs]
        started = time.monotonic()
        resource_id, outputs = self._create(args.typ, args.name, inputs)
        self.log.append(f"{'replace' if previous else 'create'} {args.typ} {args.name} "
                        f"({time.monotonic() - started:.1f}s)")
        with self.lock:
            self.state[args.name] = Record(args.typ, args.name, digest, resource_id, outputs)
        if previous is not None:
            self._delete(previous)
        return [resource_id, outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}

    # -- lifecycle ---------------------------------------------------------------------------
    def begin(self) -> None:
        self.seen = set()

    def prune(self) -> None:
        """Delete what the last run no longer declared (a finished run only)."""
        for name in [n for n in self.state if n not in self.seen]:
            self._delete(self.state.pop(name))

    def destroy(self, keep_types: tuple[str, ...] = ("docker:index/volume:Volume",)) -> None:
        for record in reversed(list(self.state.values())):
            if record.typ not in keep_types:
                self._delete(record)
        self.state = {n: r for n, r in self.state.items() if r.typ in keep_types}

    def output(self, name: str, key: str) -> Any:
        return self.state[name].outputs[key]

    # -- create / delete per type ------------------------------------------------------------
    def _create(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if typ == "random:index/randomPassword:RandomPassword":
            return f"{name}-id", {**inputs, "result": _password(inputs)}
        if typ == "random:index/randomBytes:RandomBytes":
            raw = os.urandom(int(inputs["length"]))
            return f"{name}-id", {**inputs, "base64": base64.b64encode(raw).decode(),
                                  "hex": raw.hex()}
        if typ == "docker:index/remoteImage:RemoteImage":
            image_id = run("docker", "image", "inspect", "-f", "{{.Id}}", inputs["name"]).stdout.strip()
            return image_id, {**inputs, "imageId": image_id, "repoDigest": ""}
        if typ == "docker:index/network:Network":
            return self._network(inputs)
        if typ == "docker:index/volume:Volume":
            run("docker", "volume", "create", *_labels(inputs), inputs["name"])
            return inputs["name"], {**inputs, "mountpoint": ""}
        if typ == "docker:index/container:Container":
            return self._container(name, inputs)
        if typ == "command:local:Command":
            return self._command(name, inputs)
        if typ.startswith("pulumi-python:dynamic"):
            return self._dynamic(inputs)
        if typ.startswith("pulumi:providers:"):
            return f"{name}-provider", inputs
        raise NotImplementedError(f"realize: no handler for {typ}")

    def _delete(self, record: Record) -> None:
        if record.typ == "docker:index/container:Container":
            run("docker", "rm", "-f", record.id, check=False)
        elif record.typ == "docker:index/network:Network":
            run("docker", "network", "rm", record.outputs["name"], check=False)
        elif record.typ.startswith("pulumi-python:dynamic"):
            provider = _provider(record.outputs)
            provider.delete(record.id, {k: v for k, v in record.outputs.items() if k != "__provider"})

    def _network(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        args = ["docker", "network", "create", "--driver", inputs.get("driver", "bridge"),
                *_labels(inputs)]
        for ipam in inputs.get("ipamConfigs", []):
            args += ["--subnet", ipam["subnet"]]
            if ipam.get("ipRange"):
                args += ["--ip-range", ipam["ipRange"]]
        existing = run("docker", "network", "inspect", inputs["name"], check=False)
        if existing.returncode != 0:
            run(*args, inputs["name"])
        network_id = run("docker", "network", "inspect", "-f", "{{.Id}}", inputs["name"]).stdout.strip()
        return network_id, inputs

    def _container(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        container_name = inputs.get("name") or f"{name}-{secrets.token_hex(4)}"
        args = ["docker", "run", "-d", "--name", container_name]
        pairs = [item.split("=", 1) for item in inputs.get("envs", [])]
        # Values reach docker through a 0600 env file or this process's environment, never argv;
        # the env file is line based, so multi-line values (PEM, nginx.conf) take the second way.
        multiline = {key: value for key, value in pairs if "\n" in value}
        with tempfile.NamedTemporaryFile("w", delete=False, prefix="env-") as env_file:
            os.chmod(env_file.name, 0o600)
            env_file.writelines(f"{key}={value}\n" for key, value in pairs if key not in multiline)
        args += ["--env-file", env_file.name]
        for key in multiline:
            args += ["-e", key]
        args += _container_flags(inputs)
        args.append(inputs["image"])
        args += inputs.get("command", [])
        try:
            proc = run(*args, env={**os.environ, **multiline})
        finally:
            os.unlink(env_file.name)
        container_id = proc.stdout.strip()
        if inputs.get("wait"):
            _wait_healthy(container_id, int(inputs.get("waitTimeout", 60)))
        return container_id, {**inputs, "name": container_name}

    def _command(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        env = {**os.environ, **{k: str(v) for k, v in (inputs.get("environment") or {}).items()}}
        proc = run("/bin/sh", "-c", inputs["create"], env=env, timeout=1800, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"command {name} failed with exit {proc.returncode}: "
                               f"{proc.stderr.strip()[-2000:]}")
        return f"{name}-{secrets.token_hex(4)}", {**inputs, "stdout": proc.stdout,
                                                   "stderr": proc.stderr}

    def _dynamic(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        provider = _provider(inputs)
        props = {k: v for k, v in inputs.items() if k != "__provider"}
        result = provider.create(props)
        return result.id, {**(result.outs or {}), "__provider": inputs["__provider"]}


def _provider(inputs: dict[str, Any]):
    import dill

    return dill.loads(base64.b64decode(inputs["__provider"]))


def _password(inputs: dict[str, Any]) -> str:
    length = int(inputs["length"])
    special = inputs.get("overrideSpecial") if inputs.get("special") else ""
    alphabet = string.ascii_letters + string.digits + (special or "")
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        if (sum(c.islower() for c in value) >= 2 and sum(c.isupper() for c in value) >= 2
                and sum(c.isdigit() for c in value) >= 2
                and (not special or sum(c in special for c in value) >= 2)):
            return value


def _labels(inputs: dict[str, Any]) -> list[str]:
    return [arg for item in inputs.get("labels", []) for arg in
            ("--label", f"{item['label']}={item['value']}")]


def _container_flags(inputs: dict[str, Any]) -> list[str]:
    """docker run flags for the docker.Container inputs this program uses."""
    flags = _labels(inputs)
    if inputs.get("user"):
        flags += ["--user", inputs["user"]]
    if inputs.get("readOnly"):
        flags.append("--read-only")
    for path, options in (inputs.get("tmpfs") or {}).items():
        flags += ["--tmpfs", f"{path}:{options}"]
    capabilities = inputs.get("capabilities") or {}
    flags += [f"--cap-drop={c}" for c in capabilities.get("drops", [])]
    flags += [f"--cap-add={c}" for c in capabilities.get("adds", [])]
    flags += [f"--security-opt={o}" for o in inputs.get("securityOpts", [])]
    if inputs.get("memory"):
        flags += ["--memory", f"{int(inputs['memory'])}m"]
    if inputs.get("memorySwap"):
        flags += ["--memory-swap", f"{int(inputs['memorySwap'])}m"]
    if inputs.get("cpus"):
        flags += ["--cpus", str(inputs["cpus"])]
    if inputs.get("restart"):
        restart = inputs["restart"]
        if restart == "on-failure" and inputs.get("maxRetryCount"):
            restart += f":{int(inputs['maxRetryCount'])}"
        flags += ["--restart", restart]
    health = inputs.get("healthcheck")
    if health:
        tests = health["tests"]
        command = tests[1] if tests[0] == "CMD-SHELL" else shlex.join(tests[1:])
        flags += ["--health-cmd", command, "--health-interval", health.get("interval", "30s"),
                  "--health-timeout", health.get("timeout", "30s"),
                  "--health-retries", str(int(health.get("retries", 3))),
                  "--health-start-period", health.get("startPeriod", "0s")]
    if inputs.get("logDriver"):
        flags += ["--log-driver", inputs["logDriver"]]
        flags += [f"--log-opt={k}={v}" for k, v in (inputs.get("logOpts") or {}).items()]
    for index, network in enumerate(inputs.get("networksAdvanced", [])):
        if index:
            raise NotImplementedError("realize: one network per container")
        flags += ["--network", network["name"]]
        flags += [f"--network-alias={a}" for a in network.get("aliases", [])]
        if network.get("ipv4Address"):
            flags += ["--ip", network["ipv4Address"]]
    for port in inputs.get("ports", []):
        flags += ["-p", f"{port['ip']}:{int(port['external'])}:{int(port['internal'])}"]
    for mount in inputs.get("mounts", []):
        spec = f"type={mount['type']},source={mount['source']},target={mount['target']}"
        if mount.get("readOnly"):
            spec += ",readonly"
        flags += ["--mount", spec]
    for volume in inputs.get("volumes", []):
        source = volume.get("hostPath") or volume.get("volumeName")
        flags += ["-v", f"{source}:{volume['containerPath']}{':ro' if volume.get('readOnly') else ''}"]
    for host in inputs.get("hosts", []):
        flags += ["--add-host", f"{host['host']}:{host['ip']}"]
    if inputs.get("stopTimeout"):
        flags += ["--stop-timeout", str(int(inputs["stopTimeout"]))]
    if inputs.get("entrypoints"):
        flags += ["--entrypoint", inputs["entrypoints"][0]]
    return flags


def _wait_healthy(container_id: str, timeout: int) -> None:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = run("docker", "inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}",
                     container_id).stdout.strip()
        if status.endswith("healthy") and not status.endswith("unhealthy"):
            return
        if status.startswith("exited") or status.startswith("dead"):
            break
        time.sleep(1)
    logs = run("docker", "logs", "--tail", "30", container_id, check=False)
    raise RuntimeError(f"container {container_id[:12]} not healthy ({status}) after {timeout}s:\n"
                       f"{(logs.stdout + logs.stderr)[-3000:]}")
