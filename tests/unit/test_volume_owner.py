"""The data-volume ownership step and the app's own launcher (issue 13: upstream's image layout)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components import app_process
from components.volume_owner import RUNNER, parse_findings
from tests.conftest import env_of, run_program, stack_config
from tests.mocks import RecordingMocks

ROOT = Path(__file__).resolve().parents[2]
# The tool as the step's containers run it: `python3 -m owui_ops volume-owner ...` from the package.
TOOL = [sys.executable, "-m", "owui_ops", "volume-owner"]


def tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TOOL, *args], capture_output=True, text=True, cwd=ROOT)


def tree(root: Path) -> Path:
    data = root / "data"
    (data / "cache" / "tiktoken").mkdir(parents=True)
    (data / "webui.db").write_text("db")
    (data / "cache" / "tiktoken" / "seed").write_text("x")
    return data


def test_probe_counts_entries_the_user_does_not_own(tmp_path):
    data = tree(tmp_path)
    mine = tool("probe", str(os.getuid()), str(os.getgid()), str(data))
    assert json.loads(mine.stdout)["foreign"] == 0
    other = json.loads(tool("probe", "4242", "4242", str(data)).stdout)
    # data, cache, cache/tiktoken, webui.db, the seed file.
    assert other["foreign"] == 5
    assert other["owners"] == {f"{os.getuid()}:{os.getgid()}": 5}


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root (CI runs as root)")
def test_take_over_chowns_everything_but_never_follows_symlinks(tmp_path):
    data = tree(tmp_path)
    outside = tmp_path / "outside"
    outside.write_text("not the volume's")
    (data / "link").symlink_to(outside)
    result = tool("take-over", "4242", "4243", str(data))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changed"] == 6
    assert json.loads(tool("probe", "4242", "4243", str(data)).stdout)["foreign"] == 0
    assert os.lstat(data / "link").st_uid == 4242
    assert os.stat(outside).st_uid == 0
    assert tool("check", "4242", "4243", str(data)).returncode == 0
    assert tool("check", "1000", "1000", str(data)).returncode == 1


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run with CAP_CHOWN alone, as the step's container does")
def test_take_over_with_chown_alone_reaches_a_private_root_directory(tmp_path):
    # Root without DAC capabilities lists a 0700 directory through its owner bits only while it is
    # still root's: the tree must be read before anything is handed over.
    data = tree(tmp_path)
    (data / "secret").mkdir(mode=0o700)
    (data / "secret" / "key").write_text("k")
    result = subprocess.run(["setpriv", "--bounding-set", "-all,+chown", *TOOL,
                             "take-over", "4242", "4242", str(data)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["errors"] == 0
    assert os.stat(data / "secret" / "key").st_uid == 4242


def test_owner_of_a_missing_directory_is_absent(tmp_path):
    assert tool("owner", str(tmp_path / "nope")).stdout.strip() == "absent"
    assert tool("owner", str(tmp_path)).stdout.strip() == f"{os.getuid()}:{os.getgid()}"


FAKE_DOCKER = """#!/bin/sh
# Records each call; answers like a daemon with a root-run image and a root-owned volume.
echo "$*" >> "$CALLS"
case "$*" in
  "image inspect"*) echo "$FAKE_IMAGE_USER" ;;
  *" owner /app/backend/data") echo 0:0 ;;
  *" probe "*)
    if [ -e "$CALLS.probed" ]; then echo '{"foreign": 0, "errors": 0, "owners": {}}'
    else touch "$CALLS.probed"; echo "$FAKE_FIRST_PROBE"; fi ;;
esac
"""


def run_runner(tmp_path: Path, image_user: str, first_probe: dict) -> tuple[subprocess.CompletedProcess,
                                                                              list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    calls = tmp_path / "calls"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls),
           "FAKE_IMAGE_USER": image_user, "FAKE_FIRST_PROBE": json.dumps(first_probe),
           "OWUI_STACK": "t", "OWUI_APP_IMAGE": "img:1", "OWUI_VOLUME": "vol", "OWUI_TOOLS_IMAGE": "tools:1",
           "OWUI_ENVIRONMENT": "dev"}
    proc = subprocess.run([str(RUNNER)], capture_output=True, text=True, env=env, timeout=60)
    return proc, [shlex.split(line) for line in calls.read_text().splitlines()]


def _flag_values(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def test_runner_takes_over_a_root_volume_with_chown_only(tmp_path):
    proc, calls = run_runner(tmp_path, "0:0", {"foreign": 12, "errors": 0, "owners": {"0:0": 12}})
    assert proc.returncode == 0, proc.stderr
    owners = [c for c in calls if "--name" in c]
    assert len(owners) == 1
    args = owners[0]
    assert _flag_values(args, "--user") == ["0:0"]
    assert _flag_values(args, "--network") == ["none"]
    assert _flag_values(args, "--cap-drop") == ["ALL"]
    assert _flag_values(args, "--cap-add") == ["CHOWN"]
    assert "--read-only" in args and "no-new-privileges:true" in _flag_values(args, "--security-opt")
    assert "openwebui.role=volume-owner" in _flag_values(args, "--label")
    assert _flag_values(args, "--pids-limit") and _flag_values(args, "--memory")
    assert "--rm" not in args  # kept, so `docker inspect` shows what ran
    # Every other container of the step is a probe without capabilities or network, not as root.
    for call in calls:
        if call[0] == "run" and call is not args:
            assert _flag_values(call, "--cap-drop") == ["ALL"] and not _flag_values(call, "--cap-add")
            assert _flag_values(call, "--network") == ["none"]
            assert _flag_values(call, "--user")[0] not in ("0", "0:0", "root")
    findings = parse_findings(proc.stdout)
    assert findings["imageRunsAsRoot"] is True and findings["imageDataOwner"] == "0:0"
    assert findings["tookOver"] is True and findings["volumeBefore"]["foreign"] == 12


def test_runner_runs_nothing_as_root_when_the_volume_is_the_app_users(tmp_path):
    proc, calls = run_runner(tmp_path, "1000:1000", {"foreign": 0, "errors": 0, "owners": {}})
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in calls if "--name" in c]
    assert parse_findings(proc.stdout)["tookOver"] is False


def test_launcher_copies_static_files_and_trusts_only_the_stack_proxy(tmp_path):
    # A stand-in open_webui source tree in the working directory (upstream's layout) and a uvicorn
    # that prints what it was started with.
    (tmp_path / "open_webui" / "static" / "swagger-ui").mkdir(parents=True)
    (tmp_path / "open_webui" / "__init__.py").write_text("raise SystemExit('imported')\n")
    (tmp_path / "open_webui" / "static" / "swagger-ui" / "x.js").write_text("js")
    (tmp_path / "uvicorn").mkdir()
    (tmp_path / "uvicorn" / "__init__.py").write_text("")
    (tmp_path / "uvicorn" / "__main__.py").write_text("import sys; print(sys.argv[1:])\n")
    static = tmp_path / "tmpfs" / "static"
    env = {"PATH": os.environ["PATH"], "STATIC_DIR": str(static), "WEBUI_SECRET_KEY": "k",
           "FORWARDED_ALLOW_IPS": "172.30.9.2", "UVICORN_WORKERS": "2"}
    proc = subprocess.run([sys.executable, *app_process.COMMAND], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    argv = eval(proc.stdout.strip())  # noqa: S307  (our own stand-in's repr of a list of str)
    assert argv[argv.index("--forwarded-allow-ips") + 1] == "172.30.9.2"
    assert argv[argv.index("--workers") + 1] == "2" and "open_webui.main:app" in argv
    assert (static / "swagger-ui" / "x.js").read_text() == "js"
    refused = subprocess.run([sys.executable, *app_process.COMMAND], cwd=tmp_path,
                             env={**env, "WEBUI_SECRET_KEY": ""}, capture_output=True, text=True)
    assert refused.returncode != 0 and "WEBUI_SECRET_KEY" in refused.stderr


def test_program_runs_the_launcher_and_checks_health_without_curl():
    mocks = run_program("dev", stack_config("dev"))
    app = mocks.named("webui-app-0")
    assert app.inputs["entrypoints"] == ["python3"]
    assert app.inputs["command"] == app_process.COMMAND
    health = app.inputs["healthcheck"]["tests"]
    assert health[:2] == ["CMD", "python3"] and not any("curl" in t or "jq" in t for t in health)
    env = env_of(app)
    assert env["HOME"].startswith("/tmp") and env["STATIC_DIR"].startswith("/tmp/")
    # The ownership step hands the volume to the user the app runs as.
    step = mocks.named("data-owner-take-over")
    assert step.inputs["environment"]["OWUI_APP_USER"] == app.inputs["user"] == "1000:1000"


class SlowStep(RecordingMocks):
    """Registers the ownership step a second late: whatever does not depend on it registers first."""

    def new_resource(self, args):
        if args.name == "data-owner-take-over":
            time.sleep(1.0)
        return super().new_resource(args)


def test_step_runs_before_the_migration_and_again_only_on_relevant_change():
    mocks = run_program("dev", stack_config("dev"), mocks=SlowStep())
    names = [r.name for r in mocks.resources]
    # The delay lets independent resources declared after the step overtake it (the certificate)...
    assert names.index("tls-self-signed") < names.index("data-owner-take-over")
    # ...but not the migration and the app, which wait for it.
    assert names.index("data-owner-take-over") < names.index("migration-upgrade") < names.index("webui-app-0")
    first = mocks.named("data-owner-take-over").inputs["triggers"]
    assert run_program("dev", stack_config("dev")).named("data-owner-take-over").inputs["triggers"] == first
    values = stack_config("dev")
    values["image"] = "openwebui-local/open-webui-upstream-layout:0.12.4"
    assert run_program("dev", values).named("data-owner-take-over").inputs["triggers"] != first
