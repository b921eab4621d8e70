"""Issue 16 end to end: a dev stack's SQLite data moved to the real PostgreSQL and switched to by `up`, through the
real engine, with the real Open WebUI 0.12.4 on both sides, then rolled back.

Through the app's HTTP API (upstream's routers, read in the 0.12.4 image: routers/auths.py add_user, chats.py
create_new_chat, which also writes chat_message, files.py upload_file, knowledge.py, models.py, functions.py,
configs.py set_banners): users, chats with messages, a file, a knowledge base, a model, a function and a changed
setting. Then:
  - `up` with database.type postgresql is refused at preview, naming openwebui:database.type and the command,
    and creates nothing (no database on the server, the same containers serving);
  - `scripts/owui move-database STACK --dry-run --to <MariaDB settings>` names the table, column and row of a
    value MariaDB cannot hold, and creates nothing there;
  - `scripts/owui move-database STACK --to <stack file>` moves (backup first, checksums equal per table);
  - `up` switches: the same users log in, the same chats with the same messages, the file is served, sign-up stays
    off, the SQLite file is still in the volume;
  - `--rollback` refuses while the server has writes the SQLite file lacks (the sign-ins), names the tables, and
    with --force --up goes back to SQLite through the engine;
  - a move whose target server (a PostgreSQL cluster of the test's own) is stopped half-way: the app serves from
    its SQLite again, byte-identical, the message names the server and what to do; the server started again, the
    same command completes and `up` switches.

MariaDB: Open WebUI 0.12.4 cannot run on MySQL (tests/real/test_move_database.py's docstring: its migrations fail
on MySQL), and the open-webui-next image is not available here, so no app runs on MariaDB. What runs against the
real MariaDB: the stack-level dry run, and the stack's data moved there by `scripts/owui move-database` (its
database at head made by the stand-in for the next image's migrations that tests/real uses, adopted with
adoptExisting, the account made by the providers) with every table's checksum equal.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
import pytest

from deploy.stack import DeployError
from owui_ops.errors import secret_forms
from tests.e2e.checks import Client
from tests.e2e.conftest import require
from tests.e2e.harness import RealDeployment, containers_of, docker
from tests.engine.servers import Pg, PrivatePostgres
from tests.real.test_move_database import head_schema_for_mysql
from tests.slot import Slot

pytestmark = [pytest.mark.e2e, pytest.mark.docker, pytest.mark.realdb]

ROOT = Path(__file__).resolve().parents[2]
SLOT = Slot("move16-e2e", 19643, 19680, "172.30.160.0/24")
STACK, VOLUME, NETWORK = SLOT.stack, SLOT.volume, SLOT.network
# The database the move creates on each test server (the stack is on SQLite until then).
DATABASE = SLOT.database
PG_ADMIN = os.environ.get("OWUI_TEST_PG_ADMIN_PASSWORD", "owui-test-admin")
MY_ADMIN = os.environ.get("OWUI_TEST_MYSQL_ADMIN_PASSWORD", "owui-test-admin")
PASSWORDS = {"ann@example.com": "Ann-password-123", "bob@example.com": "Bob-password-456"}
LONG_TITLE = "x" * 70000  # > 65535 bytes: more than a MySQL TEXT column holds
FILTER = '''"""
title: Moved filter
"""
class Filter:
    def inlet(self, body: dict) -> dict:
        return body
'''
PG_TARGET = {"type": "postgresql", "host": "127.0.0.1", "port": 5432, "containerHost": "host.docker.internal",
             "name": DATABASE, "user": DATABASE, "adminUser": "owui_admin", "sslMode": "require",
             "revokePublicConnect": True}


def pg_sql(sql: str, database: str = "postgres") -> list[tuple]:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", user="owui_admin", password=PG_ADMIN, dbname=database,
                                  connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def my_sql(sql: str) -> list[tuple]:
    import pymysql

    connection = pymysql.connect(host="127.0.0.1", user="owui_admin", password=MY_ADMIN, connect_timeout=5,
                                 autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())
    finally:
        connection.close()


def _cleanup() -> None:
    for container in containers_of(STACK, all_states=True):
        docker("rm", "-f", container["Id"], check=False)
    docker("network", "rm", NETWORK, check=False)
    docker("volume", "rm", "-f", VOLUME, check=False)
    pg_sql(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    pg_sql(f'DROP ROLE IF EXISTS "{DATABASE}"')
    my_sql(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    my_sql(f"DROP USER IF EXISTS '{DATABASE}'@'172.30.160.0/255.255.255.0'")


def owui(deployment: RealDeployment, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """scripts/owui as the operator runs it, pointed at this deployment's backend and passphrase."""
    env = {**os.environ, "PULUMI_BACKEND_URL": deployment.engine.env["PULUMI_BACKEND_URL"],
           "PULUMI_CONFIG_PASSPHRASE": deployment.engine.env["PULUMI_CONFIG_PASSPHRASE"]}
    for key in ("OWUI_PG_ADMIN_PASSWORD", "OWUI_MYSQL_ADMIN_PASSWORD"):
        env.pop(key, None)  # the admin password comes from the stack's secret config, through the engine
    result = subprocess.run([str(ROOT / "scripts" / "owui"), *args], capture_output=True, text=True, env=env,
                            timeout=timeout, stdin=subprocess.DEVNULL, cwd=ROOT)
    print(f"$ scripts/owui {' '.join(a[:80] for a in args)} -> {result.returncode}\n{result.stderr[-3000:]}")
    assert PG_ADMIN not in result.stdout + result.stderr or len(PG_ADMIN) < 4
    return result


def last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON in {text[-2000:]}")


def api(client: Client, method: str, path: str, token: str, **kw: Any) -> Any:
    response = getattr(client.session, method)(client.url + path, headers=client.auth(token), verify=client.ca_file,
                                               timeout=60, **kw)
    assert response.status_code == 200, f"{method.upper()} {path}: {response.status_code} {response.text[:500]}"
    return response.json() if "json" in response.headers.get("content-type", "") else response.content


def seed(client: Client, admin: str) -> dict[str, Any]:
    """What users make through the HTTP API; returns what to find again after the move."""
    for email, password in PASSWORDS.items():
        response = client.add_user(admin, email, password, name=email.split("@")[0].title())
        assert response.status_code == 200, response.text
    ann = client.token("ann@example.com", PASSWORDS["ann@example.com"])
    for n, title in enumerate(["Trip plan ✓", "Recipes — 日本", LONG_TITLE]):
        messages = {f"m{n}-{i}": {"id": f"m{n}-{i}", "parentId": f"m{n}-{i - 1}" if i else None,
                                  "childrenIds": [f"m{n}-{i + 1}"] if i < 3 else [],
                                  "role": "user" if i % 2 == 0 else "assistant",
                                  "content": f"message {i} of {title[:20]} \"quoted\"", "timestamp": 1_700_000_000 + i}
                    for i in range(4)}
        api(client, "post", "/api/v1/chats/new", ann, json={"chat": {
            "title": title, "models": ["none"], "messages": list(messages.values()),
            "history": {"messages": messages, "currentId": f"m{n}-3"}}})
    file = api(client, "post", "/api/v1/files/?process=false", ann,
               files={"file": ("notes.txt", b"moved notes \xe2\x9c\x93\n", "text/plain")})
    # Users may not create knowledge by default (workspace permissions): the admin does.
    api(client, "post", "/api/v1/knowledge/create", admin, json={"name": "Docs", "description": "moved knowledge"})
    api(client, "post", "/api/v1/models/create", admin, json={
        "id": "moved-model", "base_model_id": None, "name": "Moved model",
        "meta": {"description": "a model that moves"}, "params": {"temperature": 0.2}})
    api(client, "post", "/api/v1/functions/create", admin, json={
        "id": "moved_filter", "name": "Moved filter", "content": FILTER, "meta": {"description": "moves"}})
    api(client, "post", "/api/v1/configs/banners", admin, json={"banners": [{
        "id": "b1", "type": "info", "title": "Moved", "content": "the banner moved", "dismissible": True,
        "timestamp": 1_700_000_000}]})
    return {"file_id": file["id"], **snapshot(client, admin, ann, file["id"])}


def snapshot(client: Client, admin: str, ann: str, file_id: str) -> dict[str, Any]:
    chats = api(client, "get", "/api/v1/chats/", ann)
    return {
        "chats": sorted((c["id"], c["title"]) for c in chats),
        "messages": {c["id"]: api(client, "get", f"/api/v1/chats/{c['id']}", ann)["chat"]["history"]["messages"]
                     for c in chats},
        "file": api(client, "get", f"/api/v1/files/{file_id}/content", ann),
        "knowledge": sorted(k["name"] for k in api(client, "get", "/api/v1/knowledge/", admin)["items"]),
        "models": sorted(m["id"] for m in api(client, "get", "/api/v1/models/all", admin)),
        "functions": sorted(f["id"] for f in api(client, "get", "/api/v1/functions/", admin)),
        "banners": api(client, "get", "/api/v1/configs/banners", admin),
    }


def app_ids() -> list[str]:
    return sorted(c["Id"] for c in containers_of(STACK, "app"))


@pytest.fixture(scope="module")
def moved_stack(docker_engine, tmp_path_factory):
    require(["pg_isready", "-h", "127.0.0.1"], "the PostgreSQL test server")
    backups = tmp_path_factory.mktemp("backups")
    values = SLOT.values("dev", backups)
    values["proxy"].update({"authRatePerMinute": 60, "authBurst": 20})
    _cleanup()
    deployment = RealDeployment(STACK, values, secret_keys=("databaseAdminPassword",))
    started = time.monotonic()
    deployment.up()
    print(f"dev deploy: {time.monotonic() - started:.1f}s")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_text(deployment.ca_certificate)
    deployment.client = Client(SLOT.url, ca_file)
    deployment.client.wait_healthy()
    deployment.backups = backups
    yield deployment
    try:
        deployment.destroy()
    finally:
        _cleanup()


def test_move_to_postgresql_switch_and_roll_back(moved_stack: RealDeployment) -> None:
    deployment, client = moved_stack, moved_stack.client
    clock = time.monotonic()

    def lap(what: str) -> None:
        nonlocal clock
        print(f"[{what}: {time.monotonic() - clock:.1f}s]")
        clock = time.monotonic()

    admin_email = deployment.values["admin"]["email"]
    admin = client.token(admin_email, deployment.admin_password)
    before = seed(client, admin)
    assert len(before["chats"]) == 3 and before["file"] == "moved notes ✓\n".encode()
    serving = app_ids()
    stack_file = deployment.stack.work_dir / f"Pulumi.{STACK}.yaml"

    lap("seed")
    # 1. The switch without a move: refused at preview with the command; nothing created or removed.
    deployment.values.update({"database": dict(PG_TARGET), "databaseAdminPassword": PG_ADMIN})
    with pytest.raises(DeployError) as refused:
        deployment.preview()
    message = str(refused.value)
    assert "openwebui:database.type" in message and "has data in SQLite" in message
    assert f"scripts/owui move-database {STACK} --to {stack_file}" in message
    # `up` itself (the Automation API skips the preview): the guard's check comes before any step that waits
    # for it, so the database password, the server's database and the migration never start.
    with pytest.raises(DeployError, match="openwebui:database.type"):
        deployment.stack.up()
    # Only the default providers record the new config (the dynamic one gets the whole config, _common.py).
    assert [step for step in deployment.changed() if not step[1].startswith("default")] == []
    assert pg_sql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") == []
    assert pg_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{DATABASE}'") == []
    assert app_ids() == serving and client.get("/health").status_code == 200

    lap("refused preview")
    # 2. The dry run against MariaDB names what it cannot hold, and creates nothing there.
    my_target = json.dumps({"type": "mysql", "host": "127.0.0.1", "port": 3306, "containerHost": "host.docker.internal",
                            "name": DATABASE, "user": DATABASE, "adminUser": "owui_admin", "sslMode": "disable",
                            "userHost": "172.30.160.0/255.255.255.0"})
    dry = owui(deployment, "move-database", STACK, "--to", my_target, "--dry-run", "--json",
               "--project-dir", str(deployment.stack.work_dir))
    assert dry.returncode == 11, dry.stdout[-2000:]
    long_chat = next(chat_id for chat_id, title in before["chats"] if title == LONG_TITLE)
    assert last_json(dry.stdout)["problems"] == [{"table": "chat", "column": "title", "row": f"id={long_chat!r}",
                                                  "problem": "70000 bytes, the MySQL column holds 65535"}]
    assert last_json(dry.stdout)["tables"]["chat_message"]["rows"] == 12
    assert my_sql(f"SHOW DATABASES LIKE '{DATABASE}'") == []
    assert app_ids() == serving
    lap("dry run")

    # 2b. The move into the real MariaDB: its database at Open WebUI's head made by a stand-in for the
    #     open-webui-next image's migrations (0.12.4's cannot make a MySQL schema), adopted by the move as told.
    copied = Path(tempfile.mkdtemp(prefix="owui-move16-"))
    docker("cp", f"{serving[0]}:/app/backend/data/webui.db", str(copied / "webui.db"))
    my_sql(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    head_schema_for_mysql(f"mysql+pymysql://owui_admin:{quote(MY_ADMIN, safe='')}@127.0.0.1:3306/{DATABASE}",
                          copied / "webui.db")
    shutil.rmtree(copied)
    mariadb_move = ("move-database", STACK, "--to", json.dumps({**json.loads(my_target), "adoptExisting": True}),
                    "--project-dir", str(deployment.stack.work_dir), "--backup-dir", str(deployment.backups),
                    "--json")
    # The real move stops at the value the dry run named, half-way; the app serves from SQLite again.
    stopped_at = owui(deployment, *mariadb_move)
    assert stopped_at.returncode == 11 and f"chat.title at id={long_chat!r}: 70000 bytes" in stopped_at.stderr
    assert "fix it" in stopped_at.stderr
    client.wait_healthy()
    assert my_sql(f"SELECT count(*) FROM `{DATABASE}`.owui_move_in_progress") == [(0,)]  # the interrupted marker
    # The title made shorter through the app; the same command again completes into the interrupted target.
    ann = client.token("ann@example.com", PASSWORDS["ann@example.com"])
    api(client, "post", f"/api/v1/chats/{long_chat}", ann, json={"chat": {"title": "Long no more"}})
    before.update(snapshot(client, admin, ann, before["file_id"]))
    to_mariadb = owui(deployment, *mariadb_move)
    assert to_mariadb.returncode == 0, to_mariadb.stdout[-2000:]
    mariadb = last_json(to_mariadb.stdout)["tables"]
    assert all(t["equal"] for t in mariadb.values()), mariadb
    assert my_sql(f"SELECT count(*) FROM `{DATABASE}`.chat_message") == [(12,)]
    assert my_sql(f"SELECT JSON_VALUE(chat, '$.history.currentId') FROM `{DATABASE}`.chat WHERE id = "
                  f"'{long_chat}'") == [("m2-3",)]
    assert my_sql(f"SELECT stack, state FROM `{DATABASE}`.owui_move_record") == [(STACK, "moved")]

    lap("move to MariaDB")
    # 3. The move: backup first, the app stopped, the target created and migrated, every table verified.
    started = time.monotonic()
    moved = owui(deployment, "move-database", STACK, "--to", str(stack_file), "--backup-dir",
                 str(deployment.backups), "--json")
    print(f"move-database: {time.monotonic() - started:.1f}s")
    assert moved.returncode == 0, moved.stdout[-2000:]
    report = last_json(moved.stdout)
    assert report["tables"] and all(t["equal"] for t in report["tables"].values()), report["tables"]
    assert {n: report["tables"][n]["target_rows"] for n in ("chat", "chat_message", "file", "knowledge", "model",
                                                             "function")} == \
        {"chat": 3, "chat_message": 12, "file": 1, "knowledge": 1, "model": 1, "function": 1}
    assert report["tables"]["user"]["target_rows"] == 3 and report["backup"]
    assert (deployment.backups / report["backup"]).exists()
    assert "scripts/up" in moved.stdout and "--rollback" in moved.stdout
    assert pg_sql("SELECT stack, state FROM owui_move_record", DATABASE) == [(STACK, "moved")]
    assert all(c["State"]["Status"] == "exited" for c in containers_of(STACK, "app", all_states=True))

    lap("move")
    # 4. `up` switches: the guard sees the move; the same data through the real app on PostgreSQL.
    deployment.up()
    client.wait_healthy()
    [app] = containers_of(STACK, "app")
    assert any(e.startswith("DATABASE_URL=postgresql://") for e in app["Config"]["Env"])
    docker("exec", app["Id"], "test", "-s", "/app/backend/data/webui.db")  # the fallback is kept
    admin = client.token(admin_email, deployment.admin_password)
    ann = client.token("ann@example.com", PASSWORDS["ann@example.com"])
    assert client.token("bob@example.com", PASSWORDS["bob@example.com"])
    after = snapshot(client, admin, ann, before["file_id"])
    assert after == {k: v for k, v in before.items() if k != "file_id"}
    assert client.signup("intruder@example.com").status_code in (400, 401, 403)
    assert pg_sql("SELECT count(*) FROM chat_message", DATABASE) == [(12,)]

    lap("switch + checks")
    # 5. Rollback: the sign-ins wrote to PostgreSQL, so it is refused, naming the tables; --force goes back.
    project = ("--project-dir", str(deployment.stack.work_dir))
    [app] = containers_of(STACK, "app")
    refused_rollback = owui(deployment, "move-database", STACK, "--rollback", *project, "--backup-dir",
                            str(deployment.backups))
    assert refused_rollback.returncode == 13
    assert "writes made since the move" in refused_rollback.stderr and "user" in refused_rollback.stderr
    assert "--rollback --force" in refused_rollback.stderr
    # Refused while the app serves: it was never stopped.
    assert [c["State"]["StartedAt"] for c in containers_of(STACK, "app")] == [app["State"]["StartedAt"]]
    lap("refused rollback")
    back = owui(deployment, "move-database", STACK, "--rollback", "--force", "--up", *project, "--backup-dir",
                str(deployment.backups), "--json")
    assert back.returncode == 0, back.stdout[-2000:]
    assert "user" in last_json(back.stdout)["changed_tables"]
    lap("forced rollback + up")
    deployment.values["database"] = {"type": "sqlite"}
    deployment.values.pop("databaseAdminPassword")
    client.wait_healthy()
    [app] = containers_of(STACK, "app")
    assert any(e.startswith("DATABASE_URL=sqlite") for e in app["Config"]["Env"])
    admin = client.token(admin_email, deployment.admin_password)
    ann = client.token("ann@example.com", PASSWORDS["ann@example.com"])
    assert snapshot(client, admin, ann, before["file_id"])["messages"] == before["messages"]
    assert client.signup("intruder2@example.com").status_code in (400, 401, 403)
    # The server database is kept (never dropped), its record says rolled back.
    assert pg_sql("SELECT state FROM owui_move_record", DATABASE) == [("rolled-back",)]
    lap("checks on sqlite")
    deployment.preview(expect_no_changes=True)
    lap("preview")


# The done-when's interruption for real: the target's PostgreSQL stopped while the stack's move copies. A cluster of
# this test's own (tests/engine/servers.py PrivatePostgres): the shared server serves every other suite meanwhile.
STOPPED_DB = f"{DATABASE}_stop"
HELD_TABLE = "chat_message"


class StopServerMidCopy(threading.Thread):
    """Stops the target's server while the move copies: once the move's marker table is committed (the target
    emptied, the copy under way) it takes HELD_TABLE's lock, so the copy cannot fill it (or, if already past it,
    verify it) and waits; when a statement of the move waits on that lock, the stack's SQLite file is hashed (the
    app is stopped then) and the server stopped at once (`pg_ctl stop -m immediate`, as a crash or kill does)."""

    def __init__(self, server: PrivatePostgres, database: str, sqlite_file: Path) -> None:
        super().__init__(daemon=True)
        self.server, self.database, self.sqlite_file = server, database, sqlite_file
        self.done = threading.Event()
        self.waiting: str = ""  # the move's statement that waited on the lock
        self.sqlite_sha: str = ""
        self.error: str = ""
        self.stopped_at = 0.0

    def _connect(self) -> Any:
        while not self.done.is_set():
            try:
                return Pg(**self.server.settings).connect(dbname=self.database)
            except psycopg2.OperationalError:  # the move has not created the database yet
                time.sleep(0.1)
        return None

    def run(self) -> None:
        deadline = time.monotonic() + 600
        try:
            watch = self._connect()
            if watch is None:
                return
            with watch.cursor() as cursor:
                while True:
                    if self.done.is_set() or time.monotonic() > deadline:
                        return
                    cursor.execute("SELECT to_regclass('owui_move_in_progress') IS NOT NULL")
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.02)
            hold = Pg(**self.server.settings).connect(dbname=self.database)
            hold.autocommit = False
            hold.cursor().execute(f"LOCK TABLE {HELD_TABLE} IN ACCESS EXCLUSIVE MODE")
            with watch.cursor() as cursor:
                while not self.done.is_set() and time.monotonic() < deadline:
                    cursor.execute("SELECT a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                                   "WHERE NOT l.granted AND l.relation = %s::regclass", (HELD_TABLE,))
                    found = cursor.fetchone()
                    if found:
                        self.waiting = found[0]
                        break
                    time.sleep(0.05)
            if self.waiting:
                self.sqlite_sha = hashlib.sha256(self.sqlite_file.read_bytes()).hexdigest()
                self.server.stop("immediate")
                self.stopped_at = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = f"{type(exc).__name__}: {exc}"


def volume_file(volume: str, name: str) -> Path:
    """A file of a local Docker volume, read from the host (the tests run as root beside the daemon)."""
    return Path(docker("volume", "inspect", volume, "--format", "{{.Mountpoint}}").strip()) / name


def test_target_server_stopped_mid_move_then_started_and_the_rerun_switches(moved_stack: RealDeployment) -> None:
    """The stack serves from SQLite (the test above ends with its rollback; alone, the fixture's fresh deploy).
    The target server stops half-way: the command names it and says what to do, with no password or URL; the app
    serves from its SQLite again, the file byte-identical to what it was with the app stopped; the server started
    again, the same command completes with equal checksums and `up` switches to it."""
    deployment, client = moved_stack, moved_stack.client
    clock = time.monotonic()

    def lap(what: str) -> None:
        nonlocal clock
        print(f"[{what}: {time.monotonic() - clock:.1f}s]")
        clock = time.monotonic()

    [app] = containers_of(STACK, "app")
    assert any(e.startswith("DATABASE_URL=sqlite") for e in app["Config"]["Env"])
    admin_email = deployment.values["admin"]["email"]
    admin = client.token(admin_email, deployment.admin_password)
    messages = {f"s-{i}": {"id": f"s-{i}", "parentId": f"s-{i - 1}" if i else None,
                           "childrenIds": [f"s-{i + 1}"] if i < 5 else [],
                           "role": "user" if i % 2 == 0 else "assistant",
                           "content": f"before the server stopped, {i}", "timestamp": 1_700_000_100 + i}
                for i in range(6)}
    api(client, "post", "/api/v1/chats/new", admin, json={"chat": {
        "title": "Server stopped", "models": ["none"], "messages": list(messages.values()),
        "history": {"messages": messages, "currentId": "s-5"}}})

    def seen(token: str) -> dict[str, Any]:
        chats = api(client, "get", "/api/v1/chats/", token)
        return {c["id"]: (c["title"], api(client, "get", f"/api/v1/chats/{c['id']}", token)["chat"]["history"])
                for c in chats}

    before = seen(admin)
    sqlite_file = volume_file(VOLUME, "webui.db")
    with PrivatePostgres(for_containers=True) as server:
        target = {"type": "postgresql", "host": "127.0.0.1", "port": server.port,
                  "containerHost": "host.docker.internal", "name": STOPPED_DB, "user": STOPPED_DB,
                  "adminUser": server.ADMIN_USER, "sslMode": "disable"}
        deployment.configure(database=target, databaseAdminPassword=server.admin_password)
        stack_file = deployment.stack.work_dir / f"Pulumi.{STACK}.yaml"
        move = ("move-database", STACK, "--to", str(stack_file), "--backup-dir", str(deployment.backups), "--json")
        try:
            lap("seed")
            stopper = StopServerMidCopy(server, STOPPED_DB, sqlite_file)
            stopper.start()
            started = time.monotonic()
            cut = owui(deployment, *move)
            stopper.done.set()
            stopper.join(timeout=30)
            assert not stopper.error and stopper.waiting, (stopper.error, cut.stderr[-3000:])
            print(f"server stopped {stopper.stopped_at - started:.1f}s into the move, while it waited in: "
                  f"{stopper.waiting[:100]}; the command returned {time.monotonic() - stopper.stopped_at:.1f}s later")
            assert not server.running()
            # The message: the server named, what to do, the app serving again; no password or URL in any form.
            assert cut.returncode == 12, cut.stderr[-3000:]
            error = [line for line in cut.stderr.splitlines() if "ERROR:" in line][-1]
            assert f"the move into postgresql 127.0.0.1:{server.port}/{STOPPED_DB} failed (exit 12): the target " \
                   f"server (postgresql {STOPPED_DB}@host.docker.internal:{server.port}/{STOPPED_DB}) stopped " \
                   "answering during the copy" in error, error
            assert "when the server answers again" in error and error.count("run the same command again") == 1
            assert error.endswith("The app serves from its SQLite again")
            for secret in secret_forms(server.admin_password):
                assert secret not in cut.stdout + cut.stderr
            assert "://" not in cut.stdout + cut.stderr and "DATABASE_URL" not in cut.stdout + cut.stderr
            # Serving from SQLite again, the file as it was with the app stopped, the same data.
            lap("move cut by the stopped server")
            client.wait_healthy()
            assert hashlib.sha256(sqlite_file.read_bytes()).hexdigest() == stopper.sqlite_sha
            [again] = containers_of(STACK, "app")
            assert again["Id"] == app["Id"] and any(e.startswith("DATABASE_URL=sqlite") for e in again["Config"]["Env"])
            assert seen(client.token(admin_email, deployment.admin_password)) == before
            lap("serving from SQLite again")

            server.start()
            target_sql = Pg(**server.settings)
            # Half-way: the marker left for the re-run, no move record, nothing the app could switch to.
            assert target_sql.run("SELECT count(*) FROM owui_move_in_progress", dbname=STOPPED_DB) == [(0,)]
            assert target_sql.run("SELECT to_regclass('owui_move_record')", dbname=STOPPED_DB) == [(None,)]
            with pytest.raises(DeployError, match="openwebui:database.type"):
                deployment.preview()
            lap("server started again")

            moved = owui(deployment, *move)
            assert moved.returncode == 0, moved.stdout[-2000:]
            tables = last_json(moved.stdout)["tables"]
            assert all(t["equal"] for t in tables.values()), tables
            assert tables["chat_message"]["target_rows"] >= len(messages)
            lap("re-run")
            deployment.up()
            client.wait_healthy()
            [switched] = containers_of(STACK, "app")
            assert any(e.startswith("DATABASE_URL=postgresql://") and f":{server.port}/{STOPPED_DB}" in e
                       for e in switched["Config"]["Env"])
            assert seen(client.token(admin_email, deployment.admin_password)) == before
            lap("switch")
        finally:
            # The stack's database resources live on this server: destroy while it runs (the fixture's own
            # destroy then finds nothing).
            deployment.destroy()
