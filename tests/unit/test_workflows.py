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
        steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])
                 if str(s.get("uses", "")).startswith("pulumi/actions@")]
        assert steps, name
        for step in steps:
            assert step["with"]["policyPacks"] == "policy"
            assert step["with"]["policyPackConfigs"].startswith("policy/config/")


def test_prod_deploy_waits_for_an_approval_environment():
    workflow = yaml.safe_load((WORKFLOWS / "deploy.yml").read_text())
    assert workflow["jobs"]["prod"]["environment"] == "production"
    assert workflow["jobs"]["prod"]["needs"] == "staging"
