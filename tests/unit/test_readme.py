"""The README's promises that code can check, and the documents it links to."""

import re
import subprocess
from pathlib import Path

import pytest

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


DOCS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "results.md", ROOT / "policy" / "README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in text.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(doc):
    """The README links to the docs and figures it no longer holds: each link must reach its file and heading."""
    for target in LINK.findall(doc.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        assert file.exists(), f"{doc.name}: {target}"
        if anchor and file.suffix == ".md":
            assert anchor in heading_anchors(file.read_text()), f"{doc.name}: {target}"


def test_readme_links_its_docs_and_figures():
    text = README.read_text()
    for target in ("docs/operations.md", "docs/build-machine.md", "docs/testing.md", "docs/architecture.md",
                   "bench/results.md"):
        assert f"]({target}" in text, target


# The users' documents are not in the repository: a reference to one by number tells a reader nothing.
SEED_REFERENCE = re.compile(r"(?i)\bseeds?\s*0\d\d|\bseed_0\d\d|\bthe seeds?'s?\s")


def test_requirements_are_stated_not_cited_by_seed_number():
    files = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.yaml", "*.sh", "*.json", "*.txt", "*.tmpl"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = [f"{name}: {match.group(0)!r}" for name in files if (ROOT / name).is_file()
             for match in SEED_REFERENCE.finditer((ROOT / name).read_text(errors="replace"))]
    assert not found, found
