"""The README's promises that code can check."""

from pathlib import Path

from components.config_reference import README, readme_section, render

ROOT = Path(__file__).resolve().parents[2]


def test_config_reference_is_current():
    assert readme_section(README.read_text()) == render(), \
        "run `venv/bin/python -m components.config_reference` to update README.md"


def test_first_lines_give_deploy_and_test_commands():
    head = README.read_text().splitlines()[:6]
    assert "scripts/up dev" in "\n".join(head)
    assert "scripts/test" in "\n".join(head)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "exec scripts/test" in ci


def test_every_secret_key_documented():
    from components.config import SECRET_KEYS
    text = README.read_text()
    for key in SECRET_KEYS:
        assert f"`{key}`" in text


def test_policy_list_matches_the_pack():
    from policies import POLICIES  # policy/, on the path by tests/conftest.py

    text = README.read_text()
    for policy in POLICIES:
        assert f"| `{policy.name}` |" in text, policy.name
