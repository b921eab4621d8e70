#!/usr/bin/env python3
"""Move time for a data set of 100k messages, SQLite -> PostgreSQL, per table (not part of the test run).

    venv/bin/python -m bench.move_database [--chats 5000] [--messages-per-chat 20] [--batch-size 1000]

Builds a SQLite database with Open WebUI's own migrations in the app image (owui_ops migrate upgrade), fills it
with users, chats whose history holds their messages, and the chat_message rows Open WebUI 0.12.4 writes next to
them (models/chats.py insert_new_chat's dual write), then runs the copy as `scripts/owui move-database` runs it: a
container of the app image with owui_ops from the tools image's package volume (owui_ops.steps), into an empty
database on the PostgreSQL of scripts/db-servers, migrated there by Open WebUI's migrations. Prints the copy's own
per-table rows and seconds, the target migration and verification times, and the total; writes nothing but the
temporary directory and the database it drops afterwards. Needs Docker, the local images (images/build) and
`scripts/db-servers` (the admin password in OWUI_TEST_PG_ADMIN_PASSWORD, as scripts/env.sh sets it).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from components.db_url import build_database_url
from deploy import local_images
from owui_ops import hardening
from owui_ops.steps import APP_PYTHONPATH, OPS_MOUNT, ops_volume

APP_IMAGE = os.environ.get("OWUI_APP_IMAGE") or local_images.app()
TOOLS_IMAGE = os.environ.get("OWUI_TOOLS_IMAGE", "openwebui-local/tools:1.1.0")
ADMIN = os.environ.get("OWUI_TEST_PG_ADMIN_USER", "owui_admin")
ADMIN_PASSWORD = os.environ.get("OWUI_TEST_PG_ADMIN_PASSWORD", "owui-test-admin")

FILL = r"""
import json, sqlite3, sys, time
chats, per_chat = int(sys.argv[1]), int(sys.argv[2])
db = sqlite3.connect('/app/backend/data/webui.db')
now = int(time.time())
users = 50
db.executemany('INSERT INTO "user" (id, name, email, role, profile_image_url, last_active_at, updated_at, created_at) '
               'VALUES (?,?,?,?,?,?,?,?)',
               [(f'u-{i}', f'User {i} ü', f'user{i}@example.com', 'user', '/user.png', now, now, now)
                for i in range(users)])
db.executemany('INSERT INTO auth (id, email, password, active) VALUES (?,?,?,?)',
               [(f'u-{i}', f'user{i}@example.com', '$2b$12$' + 'A' * 53, 1) for i in range(users)])
text = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit — ✓ ' * 8
for c in range(chats):
    chat_id, user = f'chat-{c}', f'u-{c % users}'
    messages = {f'{chat_id}-m{m}': {'id': f'{chat_id}-m{m}', 'parentId': f'{chat_id}-m{m - 1}' if m else None,
                                    'role': 'user' if m % 2 == 0 else 'assistant', 'content': f'{m} {text}',
                                    'timestamp': now + m} for m in range(per_chat)}
    body = {'title': f'Chat {c}', 'history': {'messages': messages, 'currentId': f'{chat_id}-m{per_chat - 1}'}}
    db.execute('INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, pinned, meta) '
               'VALUES (?,?,?,?,?,?,?,?,?)', (chat_id, user, f'Chat {c}', json.dumps(body), now, now, 0, 0, '{}'))
    db.executemany('INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, done, created_at, '
                   'updated_at) VALUES (?,?,?,?,?,?,?,?,?)',
                   [(mid, chat_id, user, msg['role'], msg['parentId'], json.dumps(msg['content']), 1, now, now)
                    for mid, msg in messages.items()])
db.commit()
print(db.execute('SELECT count(*) FROM chat_message').fetchone()[0])
"""


def pg(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user=ADMIN, password=ADMIN_PASSWORD, dbname="postgres",
                            connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def app_run(data: Path, volume: str, env: dict[str, str], argv: list[str], name: str) -> subprocess.CompletedProcess:
    """A hardened app-image container, as owui_ops.stack.one_shot starts it; env through an --env-file."""
    env_file = data.parent / f"{name}.env"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        for key, value in {"DATA_DIR": "/app/backend/data", "HOME": "/tmp", "WEBUI_SECRET_KEY": "bench-only",
                           "ENABLE_DB_MIGRATIONS": "false", "OFFLINE_MODE": "true", "PYTHONPATH": APP_PYTHONPATH,
                           "BACKUP_DIR": "/app/backend/data/backups", **env}.items():
            handle.write(f"{key}={value}\n")
    try:
        return subprocess.run(["docker", "run", "--rm", "--name", f"owui-bench-{name}-{secrets.token_hex(3)}",
                               *hardening.run_flags(user=hardening.APP_USER, memory_mb=2048, cpus=1.0,
                                                    labels={hardening.ROLE_LABEL: "bench"}),
                               "--add-host", "host.docker.internal:host-gateway", "--env-file", str(env_file),
                               "-v", f"{data}:/app/backend/data", "-v", f"{volume}:{OPS_MOUNT}:ro",
                               "--entrypoint", "python3", APP_IMAGE, *argv],
                              capture_output=True, text=True, timeout=7200, stdin=subprocess.DEVNULL)
    finally:
        env_file.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument("--messages-per-chat", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="owui-bench-move-"))
    data = work / "data"
    data.mkdir()
    os.chown(data, 1000, 1000) if os.geteuid() == 0 else os.chmod(data, 0o777)
    database = f"owui_bench_move_{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    volume = ops_volume(TOOLS_IMAGE, "bench")
    sqlite_url = build_database_url("sqlite", sqlite_path="/app/backend/data/webui.db")
    try:
        started = time.monotonic()
        done = app_run(data, volume, {"DATABASE_URL": sqlite_url},
                       ["-m", "owui_ops", "migrate", "upgrade", "--no-backup"], "migrate")
        assert done.returncode == 0, done.stderr[-2000:]
        done = app_run(data, volume, {}, ["-c", FILL, str(options.chats), str(options.messages_per_chat)], "fill")
        assert done.returncode == 0, done.stderr[-2000:]
        messages = int(done.stdout.strip().splitlines()[-1])
        size = (data / "webui.db").stat().st_size
        print(f"source: {messages} messages in {options.chats} chats, SQLite {size / 2**20:.1f} MiB "
              f"(built in {time.monotonic() - started:.0f}s)")
        pg(f'CREATE ROLE "{database}" LOGIN PASSWORD \'{password}\'')
        pg(f'CREATE DATABASE "{database}" OWNER "{database}" ENCODING \'UTF8\' TEMPLATE template0')
        target = build_database_url("postgresql", host="host.docker.internal", port=5432, name=database,
                                    user=database, password=password, ssl_mode="disable", connect_timeout=10)
        started = time.monotonic()
        moved = app_run(data, volume, {"SOURCE_DATABASE_URL": sqlite_url, "TARGET_DATABASE_URL": target},
                        ["-m", "owui_ops", "move-database", "--json", "--batch-size", str(options.batch_size)],
                        "move")
        total = time.monotonic() - started
        if moved.returncode != 0:
            print(moved.stderr[-3000:].replace(password, "***"), file=sys.stderr)
            return 1
        report = json.loads(moved.stdout.strip().splitlines()[-1])
        tables = report["tables"]
        print(f"{'table':<28} {'rows':>8} {'copy s':>8}  checksum")
        for name, table in sorted(tables.items(), key=lambda kv: -kv[1]["seconds"]):
            if table["rows"] or table["seconds"] >= 0.05:
                print(f"{name:<28} {table['rows']:>8} {table['seconds']:>8.2f}  "
                      f"{'equal' if table['equal'] else 'DIFFERENT'}")
        print(f"copy (all {len(tables)} tables): {report['copy_seconds']:.1f}s; whole move (container start, "
              f"head check, SQLite backup, target migrations, copy, verification): {total:.1f}s; "
              f"batch size {options.batch_size}; all checksums equal: {all(t['equal'] for t in tables.values())}")
        return 0
    finally:
        pg(f'DROP DATABASE IF EXISTS "{database}"')
        pg(f'DROP ROLE IF EXISTS "{database}"')
        subprocess.run(["docker", "run", "--rm", "-v", f"{data}:/d", "--entrypoint", "sh", TOOLS_IMAGE, "-c",
                        "rm -rf /d/* /d/.[!.]*"], capture_output=True, stdin=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
