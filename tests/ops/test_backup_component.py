"""The container components/backup.py declares, run with plain docker: the inputs the program hands the engine
(recorded under mocks) become a `docker run`, and that container must back the stack up and turn healthy.
Until the real engine runs the stacks, this is what proves the component's mounts, command, user and
hardening work together."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

from tests.conftest import env_of, label, run_program, stack_config, unsecret
from tests.ops.conftest import Images
from tests.ops.fakestack import docker, write_env_file


def declared_backup_job(directory: Path, key: str):
    values = stack_config("dev")
    values["backup"] = {"enabled": True, "directory": str(directory), "intervalMinutes": 60}
    values["backupEncryptionKey"] = key
    mocks = run_program("dev", values, secret_keys=("backupEncryptionKey",))
    [job] = mocks.containers("backup")
    return mocks.named("backup-directory"), job


def test_the_declared_backup_container_runs_and_backs_up(make_stack, images: Images, tmp_path):
    stack = make_stack()
    stack.migrate()
    key = "component key 0123456789"
    prepare, job = declared_backup_job(tmp_path / "backups", key)

    # 1. The directory step, as pulumi-command runs it (sh -c with its environment).
    subprocess.run(["sh", "-c", prepare.inputs["create"]], env={**os.environ, **prepare.inputs["environment"]},
                   check=True)
    host_dir = Path(prepare.inputs["environment"]["OWUI_DIRS"])
    assert host_dir == tmp_path / "backups" / "dev"
    assert (host_dir.stat().st_uid, oct(host_dir.stat().st_mode & 0o777)) == (1000, "0o750")

    # 2. The container, input by input.
    inputs = job.inputs
    env = env_of(job)
    assert env["BACKUP_ENCRYPTION_KEY"] == key
    command = ["run", "-d", "--name", f"owui-t-{stack.name}-declared-backup", "--user", inputs["user"],
               "--network", stack.network, "--memory", f"{inputs['memory']}m", "--cpus", str(inputs["cpus"]),
               "--restart", inputs["restart"]]
    if inputs["readOnly"]:
        command.append("--read-only")
    for path, options in inputs["tmpfs"].items():
        command += ["--tmpfs", f"{path}:{options}"]
    for capability in inputs["capabilities"]["drops"]:
        command += ["--cap-drop", capability]
    for option in inputs["securityOpts"]:
        command += ["--security-opt", option]
    for host in inputs["hosts"]:
        command += ["--add-host", f"{host['host']}:{host['ip']}"]
    for item in inputs["labels"]:
        value = stack.name if item["label"] == "openwebui.stack" else item["value"]
        command += ["--label", f"{item['label']}={value}"]
    assert label(job, "openwebui.role") == "backup"
    health = inputs["healthcheck"]["tests"]
    assert health[0] == "CMD"
    command += ["--health-cmd", shlex.join(health[1:]), "--health-interval", "2s"]
    for mount in unsecret(inputs["mounts"]):
        source = stack.volume if mount["type"] == "volume" else mount["source"]
        spec = f"type={mount['type']},source={source},target={mount['target']}"
        command += ["--mount", spec + (",readonly" if mount.get("readOnly") else "")]
    env_file = write_env_file(tmp_path / "job.env", env)
    command += ["--env-file", str(env_file), images.tools, *inputs["command"]]
    name = docker(*command).stdout.strip()
    stack.containers.append(name)

    deadline = time.monotonic() + 120
    state: dict = {}
    while time.monotonic() < deadline:
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
        backups = [p for p in host_dir.iterdir() if (p / "manifest.json").is_file()]
        if backups and (state.get("Health") or {}).get("Status") == "healthy":
            break
        assert state["Status"] == "running", docker("logs", name, check=False).stderr[-2000:]
        time.sleep(1)
    assert (state.get("Health") or {}).get("Status") == "healthy"
    [backup] = backups
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["encrypted"] is True and manifest["stack"] == "dev"
    assert manifest["app_image"] == stack_config("dev")["image"]
    assert manifest["database"]["revision"] == "0bd252b206fb"
    assert key not in docker("logs", name).stderr
    # The key is in the container's environment (docker inspect shows it to whoever may use Docker: README),
    # never in its command line.
    assert key not in " ".join(json.loads(docker("inspect", "--format", "{{json .Config.Cmd}}", name).stdout))
