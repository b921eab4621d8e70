"""`scripts/owui move-database STACK --to TARGET` (issue 16): move a deployed stack's SQLite data to PostgreSQL or
MySQL/MariaDB, and `scripts/owui move-database STACK --rollback` to go back. Without a stack name (only options),
`python3 -m owui_ops move-database` is the copy itself (owui_ops/movedb.py), run inside a container.

The move, in order:
 1. The stack as the engine deployed it (deploy/: its outputs databaseType, dataVolume, image and its config,
    secrets decrypted, e.g. openwebui:databaseAdminPassword) and as Docker runs it (its containers by label):
    it must run on SQLite.
 2. The target: `--to` is a stack file (its openwebui:database, usually the stack's own file already edited for
    the switch) or target settings (JSON or key=value,... with the same keys), validated by the config model
    (components/config.py DatabaseSettings), so every error names its key.
 3. `--dry-run`: the copy's dry run in a one-shot container; reads the source only, creates nothing, and lists
    each value the target cannot hold (table, column, row). Exit 11 when there is one.
 4. A full backup of the stack (owui_ops.backup through the tools image, as `scripts/owui backup`).
 5. The target database and its user created as the program creates them: the same dynamic providers' create
    (components/providers/postgresql.py, mysql.py), marked as the stack's, with a one-time password. The next
    `up` takes them over as its own (a role/database marked as the stack's is adopted, the password reset to the
    stack's generated one), so the app never uses the one-time password.
 6. The app (and the backup job) stopped, so nothing is written to SQLite that the target would miss.
 7. The copy in a one-shot container (hardening from owui_ops/hardening.py, the stack's network and data
    volume): the app image's Python, with owui_ops from the tools image's package volume (owui_ops.steps). The
    tools image has neither SQLAlchemy nor Open WebUI's migrations, which the copy needs: the target is migrated
    to the source's head by Open WebUI's own Alembic scripts in that image (owui_ops.movedb).
 8. On failure the app is started again on its SQLite (which the copy only read) and the command says to run
    it again; on success it stays stopped and the command prints what to change to switch (`up` then starts it
    on the target; the SQLite file stays in the volume as the fallback).

The rollback: the app stopped; the server's tables compared with the SQLite file (owui_ops.movedb
--verify-only); when the server has newer writes it refuses and names the tables, unless `--force` (a backup of
the server database is taken first). Then the move record is marked rolled-back (the database guard then lets
`up` switch database.type back to sqlite) and, with `--up`, the stack's config is set and `up` runs.

Secrets (the admin password, the one-time password, the app's URL) only travel in the environment of this
process and of the containers (an --env-file, owui_ops.stack), never on a command line or in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any, Optional

from owui_ops.errors import Fail, die, log, remember_secret

SQLITE_URL = "sqlite:////app/backend/data/webui.db"
ADMIN_ENV = {"postgresql": "OWUI_PG_ADMIN_PASSWORD", "mysql": "OWUI_MYSQL_ADMIN_PASSWORD"}


def say(message: str) -> None:
    log("owui-move", message)


# ------------------------------------------------------------------------------------------------------------
# The stack as the engine sees it


class EngineView:
    """Outputs and config of the stack, through deploy/ (the same engine, backend and passphrase as `up`)."""

    def __init__(self, stack: str, project_dir: Path):
        from components.database_guard import CHECKOUT, stack_file
        from deploy.stack import DeployError, Engine

        self.project_dir = project_dir
        # The stack's own file, or a wrong project would be read (and `--up` would deploy it with no config).
        named = Path(stack_file(stack, project_dir))
        self.stack_file = named if named.is_absolute() else CHECKOUT / named
        if not self.stack_file.is_file():
            die(1, f"no stack file {named} in project {project_dir}: name the project with --project-dir")
        try:
            self.stack = Engine.create().stack(stack, work_dir=project_dir, on_output=lambda _line: None)
            self.outputs = self.stack.outputs()
            self.config = {key: value.value for key, value in self.stack.stack.get_all_config().items()}
        except DeployError as exc:
            die(1, f"cannot read stack {stack} through the engine: {exc}")
        except Exception as exc:  # noqa: BLE001 - the Automation API's errors
            die(1, f"cannot read stack {stack} through the engine (project {project_dir}): "
                   f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__}")
        secret = self.config.get("openwebui:databaseAdminPassword")
        if secret:
            remember_secret(secret, minimum=4)
        if not self.outputs:
            die(1, f"stack {stack} has no outputs: deploy it first (scripts/up {stack})")

    def output(self, key: str) -> Any:
        return self.outputs.get(key)


# ------------------------------------------------------------------------------------------------------------
# The target


def load_target(spec: str) -> tuple[dict[str, Any], Optional[Path]]:
    """`--to`: a stack file (its openwebui:database), JSON, or key=value,... -> (database settings, file)."""
    path = Path(spec)
    if path.is_file():
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        config = data.get("config") or {}
        found = config.get("openwebui:database")
        if found is None:
            found = {k.split(".", 1)[1]: v for k, v in config.items() if k.startswith("openwebui:database.")}
        if not isinstance(found, dict) or not found:
            die(1, f"{spec} has no openwebui:database settings")
        return dict(found), path.resolve()
    text = spec.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            die(1, f"--to is not valid JSON: {exc}")
        if not isinstance(value, dict):
            die(1, "--to JSON must be an object of openwebui:database keys")
        return value, None
    pairs: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            die(1, f"--to: {part!r} is neither a stack file nor key=value (e.g. type=postgresql,host=db,...)")
        pairs[key.strip()] = int(value) if value.strip().isdigit() else value.strip()
    return pairs, None


def target_settings(raw: dict[str, Any]) -> Any:
    """The config model's DatabaseSettings: the same validation, defaults and key names as `up`."""
    from pydantic import ValidationError

    from components.config import DatabaseSettings

    try:
        settings = DatabaseSettings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"openwebui:database.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else
            # the model's own checks name their keys already (database.host: ...)
            "openwebui:" + e["msg"].removeprefix("Value error, ") for e in exc.errors())
        die(1, f"the target settings are not valid: {problems}")
    if settings.type == "sqlite":
        die(1, "openwebui:database.type: the target must be postgresql or mysql (the stack runs on sqlite)")
    return settings


def admin_password(kind: str, view: EngineView) -> str:
    value = os.environ.get(ADMIN_ENV[kind]) or view.config.get("openwebui:databaseAdminPassword")
    if not value:
        die(1, f"no admin password for the target server: set the stack's secret config openwebui:"
               f"databaseAdminPassword (pulumi config set --secret databaseAdminPassword ...) or {ADMIN_ENV[kind]}")
    remember_secret(value, minimum=4)
    return str(value)


def provision(db: Any, admin: str, app_password: str) -> str:
    """The database and its user, by the program's own providers (see the module docstring, step 5)."""
    from components.providers._common import ProvisioningError

    try:
        if db.type == "postgresql":
            from components.providers.postgresql import (
                DEFAULT_ADMIN_PASSWORD_ENV,
                PostgresDatabaseProvider,
                PostgresRoleProvider,
                PostgresServer,
            )
            server = PostgresServer(host=db.host, port=db.effective_port or 5432,
                                    admin_user=db.admin_user or "postgres", ssl_mode=db.ssl_mode,
                                    ssl_root_cert=db.ssl_ca_file, connect_timeout=db.connect_timeout).as_props()
            role = PostgresRoleProvider("openwebui:databaseAdminPassword", DEFAULT_ADMIN_PASSWORD_ENV)
            database = PostgresDatabaseProvider("openwebui:databaseAdminPassword", DEFAULT_ADMIN_PASSWORD_ENV)
            role._admin_password = database._admin_password = admin
            role.create({**server, "name": db.user, "password": app_password, "database": db.name,
                         "adoptExisting": db.adopt_existing})
            database.create({**server, "name": db.name, "owner": db.user,
                             "revokePublicConnect": db.revoke_public_connect, "allowDrop": db.allow_drop,
                             "adoptExisting": db.adopt_existing})
        else:
            from components.providers.mysql import (
                DEFAULT_ADMIN_PASSWORD_ENV as MY_ENV,
            )
            from components.providers.mysql import (
                MysqlDatabaseProvider,
                MysqlServer,
                MysqlUserProvider,
            )
            my_server = MysqlServer(host=db.host, port=db.effective_port or 3306, admin_user=db.admin_user or "root",
                                    ssl_mode=db.ssl_mode, ssl_ca=db.ssl_ca_file,
                                    connect_timeout=db.connect_timeout).as_props()
            my_db = MysqlDatabaseProvider("openwebui:databaseAdminPassword", MY_ENV)
            my_user = MysqlUserProvider("openwebui:databaseAdminPassword", MY_ENV)
            my_db._admin_password = my_user._admin_password = admin
            # MySQL has no comment that marks a database or account as the stack's (the PostgreSQL providers
            # adopt what carries their marker): an empty database, or one an interrupted move left, is ours.
            adopt = db.adopt_existing or mysql_is_ours(my_server, db.name, admin)
            my_db.create({**my_server, "name": db.name, "allowDrop": db.allow_drop, "adoptExisting": adopt})
            my_user.create({**my_server, "name": db.user, "accountHost": db.user_host or "",
                            "password": app_password, "database": db.name,
                            "requireSsl": db.ssl_mode in ("require", "verify-ca", "verify-full"),
                            "allowAnyHost": db.user_host == "%", "adoptExisting": adopt})
    except ProvisioningError as exc:
        die(1, f"creating the target database failed: {exc}. The app was not stopped and nothing was moved; run "
               "the same command again once that is fixed")
    return f"{db.type} {db.host}:{db.effective_port}/{db.name} (user {db.user})"


def mysql_is_ours(server: dict[str, Any], name: str, admin: str) -> bool:
    """The database does not exist yet, is empty, or holds the marker of an interrupted move."""
    import pymysql

    from owui_ops.movedb import MARKER

    conn = pymysql.connect(host=server["host"], port=int(server["port"]), user=server["adminUser"], password=admin,
                           connect_timeout=int(server.get("connectTimeout") or 10),
                           ssl={"ca": server["sslCa"]} if server.get("sslCa") else None)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (name,))
            tables = {row[0] for row in cursor.fetchall()}
    finally:
        conn.close()
    return not tables or MARKER in tables


def container_url(db: Any, password: str) -> str:
    from components.db_url import build_database_url

    return build_database_url(db.type, host=db.effective_container_host, port=db.effective_port, name=db.name,
                              user=db.user, password=password, ssl_mode=db.ssl_mode, ssl_ca_path=db.ssl_ca_file,
                              connect_timeout=db.connect_timeout)


# ------------------------------------------------------------------------------------------------------------
# Containers


def ops_args(args: argparse.Namespace) -> argparse.Namespace:
    """What owui_ops.stack.Stack reads from the operator's options."""
    return argparse.Namespace(backup_dir=args.backup_dir, pre_migration_dir=None, tools_image=args.tools_image,
                              yes=args.yes, timeout=args.timeout)


def run_movedb(stack: Any, argv: list[str], env: dict[str, str], operation: str,
               backups: bool = True) -> tuple[int, Any, str]:
    from owui_ops.stack import BACKUP_MOUNT, app_tool_env, app_tool_mounts, last_json, one_shot

    full_env = app_tool_env(stack, {"DATA_DIR": "/app/backend/data", "HOME": "/tmp", "BACKUP_DIR": BACKUP_MOUNT,
                                    "ENABLE_DB_MIGRATIONS": "false", "OFFLINE_MODE": "true",
                                    "OWUI_STACK": stack.name, **env})
    full_env.pop("DATABASE_URL", None)
    mounts = [*app_tool_mounts(stack), *([f"{stack.backup_dir}:{BACKUP_MOUNT}"] if backups else [])]
    result = one_shot(stack, operation, stack.image, full_env, ["-m", "owui_ops", "move-database", *argv],
                      mounts=mounts, memory_mb=2048)
    return result.returncode, last_json(result.stdout), result.stderr


def stop_app(stack: Any) -> list[Any]:
    from owui_ops.dockercli import docker

    running = [c for c in [*stack.apps, *([stack.backup_job] if stack.backup_job else [])] if c.running]
    if running:
        say(f"stopping {', '.join(c.name for c in running)} (nothing may write while the data moves)")
        docker("stop", "-t", "30", *[c.id for c in running])
    return running


def start_again(stack: Any, stopped: list[Any], timeout: float) -> None:
    from owui_ops.dockercli import docker
    from owui_ops.operate import wait_healthy

    if stopped:
        say(f"starting {', '.join(c.name for c in stopped)} again")
        docker("start", *[c.id for c in stopped])
        wait_healthy([c for c in stopped if c.role == "app"], timeout)


def the_stack(name: str, args: argparse.Namespace, view: EngineView, kind: str) -> Any:
    from owui_ops.stack import Stack

    stack = Stack.find(name, ops_args(args))
    deployed = view.output("databaseType")
    if kind == "sqlite" and (deployed != "sqlite" or stack.database_type != "sqlite"):
        die(1, f"stack {name} runs on {stack.database_type} (the engine recorded {deployed}): move-database moves a "
               "stack's SQLite data")
    if kind == "server" and (deployed not in ("postgresql", "mysql") or stack.database_type == "sqlite"):
        die(1, f"stack {name} runs on {stack.database_type}: there is nothing to roll back")
    if view.output("dataVolume") and view.output("dataVolume") != stack.volume:
        die(1, f"the engine's data volume {view.output('dataVolume')} is not the app's ({stack.volume})")
    return stack


# ------------------------------------------------------------------------------------------------------------
# Commands


def cmd_move(args: argparse.Namespace) -> int:
    from owui_ops.stack import prepare_backup_dir, run_backup_tool

    raw, file = load_target(args.to)
    db = target_settings(raw)
    project = Path(args.project_dir) if args.project_dir else project_of(file)
    view = EngineView(args.stack, project)
    stack = the_stack(args.stack, args, view, "sqlite")
    where = f"{db.type} {db.host}:{db.effective_port}/{db.name}"
    if args.dry_run:
        # Nothing is created: the limits are those of the tables Open WebUI's migrations would create there.
        code, found, _ = run_movedb(stack, ["--dry-run", "--offline-target", "--json"],
                                    {"SOURCE_DATABASE_URL": SQLITE_URL,
                                     "TARGET_DATABASE_URL": container_url(db, secrets.token_urlsafe(16))},
                                    "move-dry-run", backups=False)
        if not isinstance(found, dict) or code not in (0, 11):
            die(code or 1, f"the dry run failed (exit {code})")
        report = {"stack": stack.name, "target": where, "dry_run": True, "tables": found["tables"],
                  "problems": found["problems"]}
        print_report(report, args.json)
        return 11 if found["problems"] else 0

    admin = admin_password(db.type, view)
    prepare_backup_dir(stack, stack.backup_dir)
    say(f"backing up stack {stack.name} into {stack.backup_dir}")
    code, manifest = run_backup_tool(stack, ["run"], operation="backup")
    if code != 0 or not isinstance(manifest, dict):
        die(code or 1, f"the backup before the move failed (backup-tool exit {code}); nothing was changed")
    password = secrets.token_urlsafe(24)
    remember_secret(password)
    say(f"target: {provision(db, admin, password)}, created as the stack's program creates it")
    stopped = stop_app(stack)
    try:
        code, moved, stderr = run_movedb(stack, ["--json"], {"SOURCE_DATABASE_URL": SQLITE_URL,
                                                             "TARGET_DATABASE_URL": container_url(db, password)},
                                         "move")
        if code != 0 or not isinstance(moved, dict):
            last = [line.split("ERROR: ", 1)[-1] for line in stderr.splitlines() if "ERROR" in line]
            raise Fail(code or 1, f"the move into {where} failed (exit {code}): {last[-1] if last else 'see above'}")
    except Fail as failure:
        start_again(stack, stopped, args.timeout)
        # The copy's own message says what to do when it knows (owui_ops.movedb.interrupted: a server that
        # stopped answering); the one thing it cannot know is that the app runs again.
        if failure.code == 11:
            tail = (", which the copy only read; fix it (`--dry-run` lists every such value) and run the same "
                    "command again")
        elif "run the same command again" in str(failure):
            tail = ""
        else:
            tail = ", which the copy only read; run the same command again (an interrupted target is started over)"
        die(failure.code, f"{str(failure).rstrip('.')}. The app serves from its SQLite again{tail}")
    report = {"stack": stack.name, "target": where, "backup": manifest["name"], "revision": moved["revision"],
              "tables": moved["tables"], "record": moved.get("record"), "copy_seconds": moved.get("copy_seconds"),
              "app_stopped": [c.name for c in stopped]}
    print_report(report, args.json)
    if args.restart:
        start_again(stack, stopped, args.timeout)
        say("WARNING: the app serves from SQLite again: what it writes now is not in the target, and `up` would "
            "switch without it. Before switching, drop the target database and move again")
    file_hint = str(file) if file else f"the stack file of {stack.name}"
    if db.type == "mysql" and not db.adopt_existing:
        # The MySQL providers adopt an existing, non-empty database only when told (see provision).
        raw = {**raw, "adoptExisting": True}
    print(f"""
Moved and verified. To switch stack {stack.name} to {db.type}:
  1. in {file_hint}, openwebui:database: {json.dumps(raw, sort_keys=True)}
  2. scripts/up {stack.name}    (the database guard sees the move; the app starts on {db.type})
The SQLite file stays in the data volume {stack.volume} as the fallback; going back:
  scripts/owui move-database {stack.name} --rollback""" + ("" if args.restart else f"""
The app stays stopped until then (`docker start {' '.join(c.name for c in stopped)}` serves from SQLite again,
but what it writes then is not in the target)."""))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from owui_ops.stack import prepare_backup_dir, run_backup_tool

    project = Path(args.project_dir) if args.project_dir else project_of(None)
    view = EngineView(args.stack, project)
    stack = the_stack(args.stack, args, view, "server")
    env = {"SOURCE_DATABASE_URL": SQLITE_URL, "TARGET_DATABASE_URL": stack.app.env["DATABASE_URL"]}

    def refusal(compared: dict[str, Any]) -> Fail:
        return Fail(13, f"the {stack.database_type} database has writes made since the move, in "
                        f"{', '.join(compared['changed_tables'])} (rows SQLite/server: "
                        f"{', '.join(f'{n} {r[0]}/{r[1]}' for n, r in compared['rows'].items())}); going back to "
                        f"SQLite would lose them. Nothing was changed. To go back anyway: scripts/owui move-database "
                        f"{stack.name} --rollback --force (the server database is backed up first and kept)")

    if not args.force:
        # While the app serves: a refusal costs no downtime. The marking below compares again once it is stopped.
        code, compared, _ = run_movedb(stack, ["--verify-only"], env, "move-compare")
        if not isinstance(compared, dict):
            die(code or 1, f"comparing the server with the SQLite file failed (exit {code}); nothing was changed")
        if compared["changed_tables"]:
            die(13, str(refusal(compared)))
    stopped = stop_app(stack)
    try:
        if args.force:
            prepare_backup_dir(stack, stack.backup_dir)
            code, manifest = run_backup_tool(stack, ["run"], operation="backup")
            if code != 0 or not isinstance(manifest, dict):
                raise Fail(code or 1, f"the backup of the {stack.database_type} database failed; nothing was changed")
            say(f"backup of the {stack.database_type} database before going back: {manifest['name']}")
        mark = ["--verify-only", "--mark-rolled-back", *(["--force"] if args.force else [])]
        code, marked, _ = run_movedb(stack, mark, env, "move-rollback")
        if not isinstance(marked, dict):
            raise Fail(code or 1, f"recording the rollback failed (exit {code})")
        if not marked.get("marked"):
            raise refusal(marked)
    except Fail as failure:
        start_again(stack, stopped, args.timeout)
        die(failure.code, str(failure))
    changed = marked["changed_tables"]
    if changed:
        say(f"WARNING: going back loses what was written on {stack.database_type} since the move, in "
            f"{', '.join(changed)}; it stays in the server database and its backup")
    report = {"stack": stack.name, "rolled_back": True, "changed_tables": changed, "record": marked["record"]}
    if args.up:
        say("setting openwebui:database.type to sqlite and running up")
        done = view.stack.cli("config", "set", "--path", "openwebui:database.type", "sqlite")
        if done.returncode != 0:
            die(1, f"pulumi config set failed: {done.stderr.strip()}")
        from deploy.stack import DeployError

        try:
            view.stack.up()
        except DeployError as exc:
            die(1, f"up after the rollback failed: {exc}")
        report["up"] = True
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print(f"rollback of {stack.name} recorded" + (" and deployed: the app runs on SQLite" if args.up else
              f"; now set openwebui:database.type: sqlite and run scripts/up {stack.name}"))
    return 0


def print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, sort_keys=True))
        return
    for name, table in report["tables"].items():
        if report.get("dry_run"):
            extra = f"{len(table['problems'])} problem(s)"
        else:
            extra = f"{table['seconds']}s  checksum {'equal' if table['equal'] else 'DIFFERENT'}"
        print(f"{name:<28} {table['rows']:>8} rows  {extra}")
    for p in report.get("problems", []):
        print(f"CANNOT MOVE {p['table']}.{p['column']} at {p['row']}: {p['problem']}")


def project_of(file: Optional[Path]) -> Path:
    """The Pulumi project a stack file belongs to: its directory or the one above it (stackConfigDir)."""
    from owui_ops.stack import ROOT

    if file is not None:
        for directory in (file.parent, file.parent.parent):
            if (directory / "Pulumi.yaml").is_file():
                return directory
    return ROOT


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/owui move-database", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("stack")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--to", help="the target: a stack file (its openwebui:database) or settings "
                                   "(JSON or key=value,...: type, host, port, containerHost, name, user, adminUser...)")
    what.add_argument("--rollback", action="store_true", help="go back to the SQLite file kept in the data volume")
    parser.add_argument("--dry-run", action="store_true", help="what would move and what cannot; creates nothing")
    parser.add_argument("--force", action="store_true", help="--rollback even when the server has newer writes")
    parser.add_argument("--up", action="store_true", help="--rollback: also set database.type and run up")
    parser.add_argument("--restart", action="store_true", help="start the app on SQLite again after the move")
    parser.add_argument("--project-dir", help="the Pulumi project (default: the stack file's, else the checkout)")
    parser.add_argument("--backup-dir", help="the stack's backup directory on the Docker host")
    parser.add_argument("--tools-image", help="the tools image with owui_ops (default: the stack's)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for health (300)")
    parser.add_argument("--yes", action="store_true", help="do not ask")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if args.rollback and args.dry_run:
        parser.error("--dry-run goes with --to")
    return args


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        from owui_ops import movedb  # inside a container: the copy itself

        return movedb.main(argv)
    args = parse_args(argv)
    try:
        return cmd_rollback(args) if args.rollback else cmd_move(args)
    except Fail as failure:
        say(f"ERROR: {failure}")
        return failure.code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
