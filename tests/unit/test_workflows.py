"""The users' CI workflows: actionlint (with shellcheck) passes, and would catch a broken one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LINT = ROOT / "scripts" / "lint-workflows"
WORKFLOWS = ROOT / ".github" / "workflows"


def lint(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), *map(str, files)], capture_output=True, text=True, timeout=900)


def test_workflows_pass_actionlint():
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.event.nope.nope }\n")
    assert lint(broken).returncode != 0


def test_previews_and_deploys_enforce_the_policy_pack():
    for name in ("preview.yml", "deploy.yml"):
        workflow = yaml.safe_load((WORKFLOWS / name).read_text())
        # A pulumi/actions step without a command only installs the CLI; every one that runs a command
        # enforces the pack.
        steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])
                 if str(s.get("uses", "")).startswith("pulumi/actions@") and (s.get("with") or {}).get("command")]
        assert steps, name
        for step in steps:
            assert step["with"]["policyPacks"] == "policy"
            assert step["with"]["policyPackConfigs"].startswith("policy/config/")


def test_prod_deploy_waits_for_an_approval_environment():
    workflow = yaml.safe_load((WORKFLOWS / "deploy.yml").read_text())
    assert workflow["jobs"]["prod"]["environment"] == "production"
    assert workflow["jobs"]["prod"]["needs"] == "staging"


def test_deploys_reach_the_docker_host_over_ssh_from_a_hosted_runner():
    """No runner on the Docker host: the job loads the stack's own dockerSshKey into an ssh-agent before `up`
    (the program's provider and steps take the host and its pinned key from the stack file)."""
    workflow = yaml.safe_load((WORKFLOWS / "deploy.yml").read_text())
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", name
        steps = job["steps"]
        up = next(i for i, s in enumerate(steps) if (s.get("with") or {}).get("command") == "up")
        agent = next(i for i, s in enumerate(steps) if "ssh-add" in str(s.get("run", "")))
        assert agent < up, name
        assert f"pulumi config get dockerSshKey --stack {steps[up]['with']['stack-name']} | ssh-add" in \
            steps[agent]["run"]
        assert "SSH_AUTH_SOCK" in steps[agent]["run"]
