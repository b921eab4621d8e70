"""The database guard (components/providers/database_kind.py): which changes of database.type its check refuses,
with the move record faked. The real record on the real PostgreSQL, read at preview through the engine, is
tests/e2e/test_move_database_stack.py's."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from components.database_guard import stack_file
from components.providers._common import ProvisioningError
from components.providers.database_kind import DatabaseKindProvider
from tests.mocks import RecordingMocks, run_program, stack_config

SQLITE = {"stack": "dev", "type": "sqlite", "moveCommand": "scripts/owui move-database dev --to stacks/Pulumi.dev.yaml"}
PG = {**SQLITE, "type": "postgresql", "host": "127.0.0.1", "port": 5432, "adminUser": "owui_admin",
      "name": "openwebui_dev", "connectTimeout": 10}


class Faked(DatabaseKindProvider):
    def __init__(self, record: Optional[dict[str, Any]] = None, error: Optional[str] = None) -> None:
        super().__init__("openwebui:databaseAdminPassword", "OWUI_PG_ADMIN_PASSWORD")
        self.record, self.error, self.asked = record, error, []

    def read_record(self, props: dict[str, Any]) -> Optional[dict[str, Any]]:
        self.asked.append(props)
        if self.error:
            raise ProvisioningError(self.error)
        return self.record


def failures(provider: DatabaseKindProvider, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    return [f.reason for f in provider.check(olds, news).failures]


def test_a_new_stack_and_an_unchanged_type_ask_nothing() -> None:
    provider = Faked()
    assert failures(provider, {}, PG) == []
    assert failures(provider, SQLITE, SQLITE) == []
    assert failures(provider, PG, {**PG, "port": 5433}) == []
    assert provider.asked == []  # no connection unless the type changes


def test_sqlite_to_a_server_without_a_move_is_refused_with_the_command() -> None:
    provider = Faked(record=None)
    [why] = failures(provider, SQLITE, PG)
    assert why.startswith("openwebui:database.type: stack dev has data in SQLite")
    assert "`scripts/owui move-database dev --to stacks/Pulumi.dev.yaml`" in why
    assert "Nothing was created or removed" in why and "holds no completed move" in why
    assert provider.asked == [PG]  # the record is looked for where the new database is


@pytest.mark.parametrize("record", [
    {"stack": "dev", "source_kind": "sqlite", "state": "rolled-back", "moved_at": 1},
    {"stack": "other", "source_kind": "sqlite", "state": "moved", "moved_at": 1},
])
def test_a_record_of_another_stack_or_a_rolled_back_move_does_not_count(record: dict[str, Any]) -> None:
    [why] = failures(Faked(record=record), SQLITE, PG)
    assert "move-database dev" in why and f"{record['state']!r} for stack {record['stack']!r}" in why


def test_sqlite_to_a_server_after_a_completed_move_is_allowed() -> None:
    record = {"stack": "dev", "source_kind": "sqlite", "state": "moved", "moved_at": 1}
    assert failures(Faked(record=record), SQLITE, PG) == []


def test_back_to_sqlite_needs_the_rollback_command() -> None:
    moved = {"stack": "dev", "source_kind": "sqlite", "state": "moved", "moved_at": 1}
    provider = Faked(record=moved)
    [why] = failures(provider, PG, SQLITE)
    assert "`scripts/owui move-database dev --rollback`" in why and why.startswith("openwebui:database.type")
    assert provider.asked == [PG]  # the record is read where the data is now
    rolled = {**moved, "state": "rolled-back"}
    assert failures(Faked(record=rolled), PG, SQLITE) == []


def test_server_to_server_and_an_unreadable_record_are_refused() -> None:
    [why] = failures(Faked(), PG, {**PG, "type": "mysql", "port": 3306})
    assert "not supported" in why
    [why] = failures(Faked(error="cannot reach PostgreSQL server 127.0.0.1:5432"), SQLITE, PG)
    assert "cannot be read" in why and "127.0.0.1:5432" in why


def test_diff_and_update_are_state_only() -> None:
    provider = Faked()
    assert not provider.diff("x", SQLITE, {**SQLITE, "moveCommand": "elsewhere"}).changes
    changed = provider.diff("x", SQLITE, PG)
    assert changed.changes and not changed.replaces
    assert provider.update("x", SQLITE, PG).outs == PG


def test_stack_file_follows_the_projects_stack_config_dir(tmp_path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: openwebui\nstackConfigDir: stacks\n")
    assert stack_file("dev", tmp_path).endswith("stacks/Pulumi.dev.yaml")
    (tmp_path / "Pulumi.yaml").write_text("name: openwebui\n")
    assert stack_file("dev", tmp_path) == str((tmp_path / "Pulumi.dev.yaml").resolve())


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_the_program_declares_the_guard_with_the_stacks_database(stack: str) -> None:
    values = stack_config(stack)
    if stack == "staging":
        values["databaseAdminPassword"] = "admin-secret"
    mocks = run_program(stack, values, ("databaseAdminPassword",) if stack == "staging" else (),
                        RecordingMocks())
    guard = mocks.named("database-guard-kind")
    assert guard.typ == "pulumi-python:dynamic/database:Kind"
    assert guard.inputs["type"] == values["database"]["type"] and guard.inputs["stack"] == stack
    # Under mocks the project root is the SDK's placeholder; the real one is the e2e test's.
    assert guard.inputs["moveCommand"].startswith(f"scripts/owui move-database {stack} --to ")
    assert guard.inputs["moveCommand"].endswith(f"Pulumi.{stack}.yaml")
    if stack == "staging":
        assert (guard.inputs["host"], guard.inputs["name"]) == (values["database"]["host"], values["database"]["name"])
