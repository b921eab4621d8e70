"""`scripts/owui move-database` (owui_ops/movestack.py): its target parsing and checks, the dispatch between the
operator's command and the copy in a container. The move itself against the real servers and a deployed stack is
tests/e2e/test_move_database_stack.py; the copy alone, tests/real/test_move_database.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from owui_ops import movedb, movestack
from owui_ops.dburl import parse
from owui_ops.errors import Fail
from tests.unit.test_move_database_messages import URL, lost, no_secret


def test_the_target_from_a_stack_file_json_or_key_values(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: openwebui\n")
    file = tmp_path / "Pulumi.x.yaml"
    file.write_text("config:\n  openwebui:database:\n    type: postgresql\n    host: 127.0.0.1\n    adminUser: a\n")
    raw, path = movestack.load_target(str(file))
    assert raw == {"type": "postgresql", "host": "127.0.0.1", "adminUser": "a"} and path == file.resolve()
    assert movestack.project_of(path) == tmp_path
    assert movestack.load_target('{"type": "mysql", "host": "db"}') == ({"type": "mysql", "host": "db"}, None)
    raw, path = movestack.load_target("type=postgresql,host=db,port=5433,adminUser=owui_admin")
    assert raw == {"type": "postgresql", "host": "db", "port": 5433, "adminUser": "owui_admin"} and path is None
    with pytest.raises(Fail, match="neither a stack file nor key=value"):
        movestack.load_target("postgresql")
    (tmp_path / "empty.yaml").write_text("config: {}\n")
    with pytest.raises(Fail, match="no openwebui:database"):
        movestack.load_target(str(tmp_path / "empty.yaml"))


def test_target_settings_are_the_config_models_and_name_the_key() -> None:
    db = movestack.target_settings({"type": "postgresql", "host": "db", "adminUser": "a", "containerHost": "c"})
    assert (db.effective_container_host, db.effective_port, db.name) == ("c", 5432, "openwebui")
    with pytest.raises(Fail, match="openwebui:database.host: database.type postgresql needs"):
        movestack.target_settings({"type": "postgresql", "adminUser": "a"})  # no host
    with pytest.raises(Fail, match="openwebui:database.port"):
        movestack.target_settings({"type": "postgresql", "host": "db", "adminUser": "a", "port": 70000})
    with pytest.raises(Fail, match="must be postgresql or mysql"):
        movestack.target_settings({"type": "sqlite"})


def test_the_container_url_uses_the_containers_host_and_encodes_the_password() -> None:
    db = movestack.target_settings({"type": "postgresql", "host": "127.0.0.1", "containerHost": "host.docker.internal",
                                    "adminUser": "a", "name": "n", "user": "u", "sslMode": "disable"})
    url = movestack.container_url(db, "p@ss/w:rd")
    assert url.startswith("postgresql://u:p%40ss%2Fw%3Ard@host.docker.internal:5432/n")


def test_options_only_run_the_copy_and_a_stack_name_the_operator_command(monkeypatch, capsys) -> None:
    called: list[list[str]] = []
    from owui_ops import movedb

    monkeypatch.setattr(movedb, "main", lambda argv: called.append(argv) or 0)
    assert movestack.main(["--dry-run", "--json"]) == 0 and called == [["--dry-run", "--json"]]
    assert movestack.main([]) == 0 and called[-1] == []
    with pytest.raises(SystemExit):
        movestack.parse_args(["dev"])  # --to or --rollback is required
    with pytest.raises(SystemExit):
        movestack.parse_args(["dev", "--rollback", "--dry-run"])
    args = movestack.parse_args(["dev", "--to", "stacks/Pulumi.staging.yaml", "--dry-run"])
    assert (args.stack, args.to, args.dry_run, args.rollback) == ("dev", "stacks/Pulumi.staging.yaml", True, False)


def test_no_admin_password_names_the_secret_config(monkeypatch) -> None:
    monkeypatch.delenv("OWUI_PG_ADMIN_PASSWORD", raising=False)
    view = movestack.EngineView.__new__(movestack.EngineView)
    view.config = {}
    with pytest.raises(Fail, match="openwebui:databaseAdminPassword"):
        movestack.admin_password("postgresql", view)
    view.config = {"openwebui:databaseAdminPassword": "from-config"}
    assert movestack.admin_password("postgresql", view) == "from-config"
    monkeypatch.setenv("OWUI_PG_ADMIN_PASSWORD", "from-env")
    assert movestack.admin_password("postgresql", view) == "from-env"


def test_the_cli_lists_the_command() -> None:
    from owui_ops import cli

    assert cli.COMMANDS["move-database"][0] == "owui_ops.movestack"
    assert "move-database" in cli.usage()
    json.dumps(cli.COMMANDS)


class _Stack:
    name, volume, database_type = "dev", "openwebui-dev-data", "postgresql"
    backup_dir = "/var/tmp/b"

    class app:  # noqa: N801 - stands in for owui_ops.stack.Container
        env = {"DATABASE_URL": "postgresql://u:p@h/db"}


class _View:
    def __init__(self, stack: str, project: Path) -> None:
        self.config = {"openwebui:databaseAdminPassword": "admin-pw"}
        self.outputs = {"databaseType": "sqlite"}


@pytest.fixture()
def sequence(monkeypatch, tmp_path: Path) -> list[str]:
    """The command's steps with Docker and the engine replaced: what ran, in order."""
    import owui_ops.stack as ops_stack

    seen: list[str] = []
    monkeypatch.setattr(movestack, "EngineView", _View)
    monkeypatch.setattr(movestack, "the_stack", lambda *a: _Stack())
    monkeypatch.setattr(ops_stack, "prepare_backup_dir", lambda *a: None)
    monkeypatch.setattr(ops_stack, "run_backup_tool", lambda *a, **k: (seen.append("backup"), (0, {"name": "b1"}))[1])
    monkeypatch.setattr(movestack, "provision", lambda db, admin, pw: (seen.append(f"provision {admin}"), "t")[1])
    app = type("App", (), {"name": "webui-app-0", "role": "app"})()
    monkeypatch.setattr(movestack, "stop_app", lambda stack: (seen.append("stop"), [app])[1])
    monkeypatch.setattr(movestack, "start_again",
                        lambda stack, stopped, timeout: seen.append(f"start {[c.name for c in stopped]}"))
    return seen


def _target(tmp_path: Path) -> str:
    (tmp_path / "Pulumi.yaml").write_text("name: openwebui\n")
    file = tmp_path / "Pulumi.dev.yaml"
    file.write_text("config:\n  openwebui:database: {type: postgresql, host: db, adminUser: a}\n")
    return str(file)


def test_a_failed_copy_starts_the_app_on_sqlite_again(sequence: list[str], monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(movestack, "run_movedb", lambda *a, **k: (sequence.append("copy"), (12, None, "ERROR cut"))[1])
    with pytest.raises(Fail) as failed:
        movestack.cmd_move(movestack.parse_args(["dev", "--to", _target(tmp_path)]))
    assert failed.value.code == 12 and "run the same command again" in str(failed.value)
    assert sequence == ["backup", "provision admin-pw", "stop", "copy", "start ['webui-app-0']"]


def test_a_stopped_target_server_is_named_once_with_what_to_do(sequence: list[str], monkeypatch,
                                                               tmp_path: Path) -> None:
    """The copy's ERROR line carried up (its container scrubbed it), plus what only the stack command knows: the app
    runs again. One piece of advice, no URL, no password."""
    copy_error = f"owui-move: ERROR: {movedb.interrupted(lost('terminating connection', True), parse(URL))}"
    monkeypatch.setattr(movestack, "run_movedb", lambda *a, **k: (sequence.append("copy"), (
        12, None, f"owui-move: source sqlite ...\n{copy_error}\n"))[1])
    with pytest.raises(Fail) as failed:
        movestack.cmd_move(movestack.parse_args(["dev", "--to", _target(tmp_path)]))
    message = str(failed.value)
    assert failed.value.code == 12 and sequence[-2:] == ["copy", "start ['webui-app-0']"]
    assert message.startswith("the move into postgresql db:5432/openwebui failed (exit 12): the target server "
                              "(postgresql owui@db.internal:5433/openwebui) stopped answering during the copy")
    assert message.endswith("(it starts the target over). The app serves from its SQLite again")
    assert message.count("run the same command again") == 1
    no_secret(message)
    assert "admin-pw" not in message


def test_a_move_backs_up_first_and_leaves_the_app_stopped(sequence: list[str], monkeypatch, tmp_path: Path,
                                                          capsys) -> None:
    report = {"revision": "r", "tables": {"chat": {"rows": 1, "seconds": 0.1, "equal": True}}}
    monkeypatch.setattr(movestack, "run_movedb", lambda *a, **k: (sequence.append("copy"), (0, report, ""))[1])
    assert movestack.cmd_move(movestack.parse_args(["dev", "--to", _target(tmp_path)])) == 0
    assert sequence == ["backup", "provision admin-pw", "stop", "copy"]
    assert "scripts/up dev" in capsys.readouterr().out


def test_a_dry_run_creates_and_stops_nothing(sequence: list[str], monkeypatch, tmp_path: Path) -> None:
    found = {"tables": {"chat": {"rows": 1, "problems": []}}, "problems": [
        {"table": "chat", "column": "title", "row": "id='c'", "problem": "70000 bytes"}]}
    calls: list[list[str]] = []
    monkeypatch.setattr(movestack, "run_movedb", lambda stack, argv, *a, **k: (calls.append(argv), (11, found, ""))[1])
    assert movestack.cmd_move(movestack.parse_args(["dev", "--to", _target(tmp_path), "--dry-run"])) == 11
    assert sequence == [] and calls == [["--dry-run", "--offline-target", "--json"]]


def test_a_rollback_with_newer_writes_is_refused_without_stopping(sequence: list[str], monkeypatch,
                                                                  tmp_path: Path) -> None:
    compared = {"changed_tables": ["user"], "rows": {"user": [3, 3]}, "record": {}}
    monkeypatch.setattr(movestack, "run_movedb", lambda *a, **k: (sequence.append("compare"), (13, compared, ""))[1])
    with pytest.raises(Fail) as refused:
        movestack.cmd_rollback(movestack.parse_args(["dev", "--rollback", "--project-dir", str(tmp_path)]))
    assert refused.value.code == 13 and "in user" in str(refused.value) and "--rollback --force" in str(refused.value)
    assert sequence == ["compare"]  # never stopped
