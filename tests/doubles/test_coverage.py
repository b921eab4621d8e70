"""Every row of docs/provider-contract.md is accounted for: implemented by a double with a named test that
exists, the engine's own behaviour, or not used by the program."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "provider-contract.md").read_text(encoding="utf-8")
SECTION = DOC.split("## What the doubles implement, and the test of each row", 1)[1]


def row_ids() -> set[str]:
    before = DOC.split("## What the doubles implement", 1)[0]
    return set(re.findall(r"^\| ([A-Z][0-9]+) \|", before, flags=re.MULTILINE))


def mapping() -> list[tuple[set[str], str]]:
    found = []
    for line in SECTION.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"[A-Z][0-9]+(, [A-Z][0-9]+)*", cells[0]):
            found.append((set(cells[0].split(", ")), cells[2]))
    return found


def test_every_row_is_accounted_for() -> None:
    listed = set().union(*(rows for rows, _ in mapping()))
    assert row_ids() - listed == set()
    assert listed - row_ids() == set()


def test_every_named_test_exists() -> None:
    for rows, where in mapping():
        for file_name, test_name in re.findall(r"`([a-z_]+\.py)::([a-z0-9_]+)`", where):
            tree = ast.parse((Path(__file__).parent / file_name).read_text(encoding="utf-8"))
            names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
            assert test_name in names, (rows, file_name, test_name)
        assert "`" in where or where.startswith(("engine behaviour", "not ")), (rows, where)
