#!/usr/bin/env python3
"""Backup and restore times for a generated data set of at least 1 GB (not part of the test run).

    venv/bin/python bench/backup_restore.py [--uploads-mib 1024] [--chats 100000] [--postgres]

Builds a stack the way the program does (tests/ops/fakestack.py: labels, network, data volume, migrated
database, the app running), fills it with random upload files in the data directory and many chat rows, then
times the operator commands end to end:
  scripts/owui backup    (one consistent backup: database dump + data archive, into the backup directory)
  scripts/owui restore   (into a destroyed and re-deployed stack: stop, restore, migrate, start, healthy)
each plain and with gpg encryption, and prints sizes, times and the app's downtime during the restore.
Needs Docker and the local images (images/build); --postgres also scripts/db-servers.
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

# Run from the repository root as `venv/bin/python -m bench.backup_restore` (the root's packages on the path).
ROOT = Path(__file__).resolve().parents[1]

from deploy import local_images  # noqa: E402
from tests.ops.fakestack import FakeStack, docker  # noqa: E402

MIB = 1024 * 1024

FILL_ROWS = """
import json, os, sqlite3, sys, time, uuid
n_chats, n_users = int(sys.argv[1]), int(sys.argv[2])
db = sqlite3.connect('/app/backend/data/webui.db')
now = int(time.time())
users = [(f'u-{i}', f'User {i}', f'user{i}@example.com', 'user', now, now, now) for i in range(n_users)]
db.executemany('INSERT INTO "user" (id, name, email, role, created_at, updated_at, last_active_at) '
               'VALUES (?, ?, ?, ?, ?, ?, ?)', users)
text = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. ' * 30
batch = []
for i in range(n_chats):
    body = {'messages': [{'role': 'user', 'content': text + str(i)}, {'role': 'assistant', 'content': text}]}
    batch.append((str(uuid.uuid4()), f'u-{i % n_users}', f'chat {i}', now, now, 0, json.dumps(body), 0, '{}'))
    if len(batch) == 5000:
        db.executemany('INSERT INTO chat (id, user_id, title, created_at, updated_at, archived, chat, pinned, meta) '
                       'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', batch)
        batch = []
if batch:
    db.executemany('INSERT INTO chat (id, user_id, title, created_at, updated_at, archived, chat, pinned, meta) '
                   'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', batch)
files = []
for name in sorted(os.listdir('/app/backend/data/uploads')):
    files.append((name.split('_', 1)[0], 'u-0', name, '/app/backend/data/uploads/' + name, now, now, '{}'))
db.executemany('INSERT INTO file (id, user_id, filename, path, created_at, updated_at, meta) '
               'VALUES (?, ?, ?, ?, ?, ?, ?)', files)
db.commit()
print(json.dumps({'chats': n_chats, 'users': n_users, 'files': len(files)}))
"""



def owui(*argv: str, env: dict[str, str] | None = None) -> tuple[dict, float]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "owui_ops", *argv], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"owui {argv[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), elapsed


def du(stack: FakeStack) -> int:
    out = docker("run", "--rm", "-v", f"{stack.volume}:/data", "--entrypoint", "du", stack.tools_image,
                 "-sb", "/data").stdout
    return int(out.split()[0])


def counts(stack: FakeStack, pg: "PgTarget | None") -> tuple[int, int, str]:
    if pg:
        chats = pg.scalar("SELECT count(*) FROM chat")
        files = pg.scalar("SELECT count(*) FROM file")
    else:
        out = docker("run", "--rm", "--user", "1000:1000", "-v", f"{stack.volume}:/app/backend/data",
                     "--entrypoint", "sqlite3", stack.tools_image, "/app/backend/data/webui.db",
                     "SELECT (SELECT count(*) FROM chat) || ' ' || (SELECT count(*) FROM file)").stdout.split()
        chats, files = int(out[0]), int(out[1])
    digest = docker("run", "--rm", "-v", f"{stack.volume}:/data", "--entrypoint", "sh", stack.tools_image, "-c",
                    "cd /data/uploads && cat $(ls | sort) | sha256sum").stdout.split()[0]
    return chats, files, digest


class PgTarget:
    """A fresh database and role on scripts/db-servers' PostgreSQL."""

    def __init__(self) -> None:
        import psycopg2
        from psycopg2 import sql

        self.sql = sql
        self.admin = dict(host="127.0.0.1", port=5432, user=os.environ.get("OWUI_TEST_PG_ADMIN_USER", "owui_admin"),
                          password=os.environ.get("OWUI_TEST_PG_ADMIN_PASSWORD", "owui-test-admin"), dbname="postgres")
        self.name = f"owui_bench_{secrets.token_hex(3)}"
        self.password = secrets.token_urlsafe(18)
        self.psycopg2 = psycopg2
        self.run(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(self.name),
                                                                    sql.Literal(self.password)))
        self.create()

    def run(self, statement) -> None:
        conn = self.psycopg2.connect(**self.admin)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
        conn.close()

    def create(self) -> None:
        self.run(self.sql.SQL("CREATE DATABASE {} OWNER {}").format(self.sql.Identifier(self.name),
                                                                     self.sql.Identifier(self.name)))

    def drop(self) -> None:
        self.run(self.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(self.sql.Identifier(self.name)))

    def remove(self) -> None:
        self.drop()
        self.run(self.sql.SQL("DROP ROLE IF EXISTS {}").format(self.sql.Identifier(self.name)))

    def url(self) -> str:
        return f"postgresql://{self.name}:{self.password}@host.docker.internal:5432/{self.name}"

    def scalar(self, query: str) -> int:
        conn = self.psycopg2.connect(**{**self.admin, "dbname": self.name})
        with conn.cursor() as cur:
            cur.execute(query)
            value = cur.fetchone()[0]
        conn.close()
        return value

    def fill(self, chats: int, users: int, uploads: list[str]) -> None:
        import json as _json
        import uuid

        conn = self.psycopg2.connect(**{**self.admin, "user": self.name, "password": self.password,
                                        "dbname": self.name})
        now = int(time.time())
        text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 30
        with conn, conn.cursor() as cur:
            cur.executemany('INSERT INTO "user" (id, name, email, role, created_at, updated_at, last_active_at) '
                            "VALUES (%s, %s, %s, 'user', %s, %s, %s)",
                            [(f"u-{i}", f"User {i}", f"user{i}@example.com", now, now, now) for i in range(users)])
            rows = [(str(uuid.uuid4()), f"u-{i % users}", f"chat {i}", now, now,
                     _json.dumps({"messages": [{"role": "user", "content": text + str(i)},
                                               {"role": "assistant", "content": text}]})) for i in range(chats)]
            from psycopg2.extras import execute_values

            execute_values(cur, "INSERT INTO chat (id, user_id, title, created_at, updated_at, archived, chat, "
                                "pinned, meta) VALUES %s", rows,
                           template="(%s, %s, %s, %s, %s, false, %s, false, '{}')", page_size=5000)
            execute_values(cur, "INSERT INTO file (id, user_id, filename, path, created_at, updated_at, meta) "
                                "VALUES %s",
                           [(n.split("_", 1)[0], "u-0", n, f"/app/backend/data/uploads/{n}", now, now)
                            for n in uploads], template="(%s, %s, %s, %s, %s, %s, '{}')")
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads-mib", type=int, default=1024, help="random upload files in the data dir (MiB)")
    parser.add_argument("--file-mib", type=int, default=8, help="size of each upload file (MiB)")
    parser.add_argument("--chats", type=int, default=100_000, help="chat rows (~3.5 KB of JSON each)")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true", help="the database on PostgreSQL instead of SQLite")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="owui-bench-"))
    pg = PgTarget() if args.postgres else None
    stack = FakeStack(name=f"bench{secrets.token_hex(3)}", work=work,
                      database_url=pg.url() if pg else "sqlite:////app/backend/data/webui.db",
                      image=local_images.app(), tools_image=local_images.name("tools"),
                      backup_dir=work / "backups")
    tools = ["--backup-dir", str(stack.backup_dir), "--tools-image", stack.tools_image]
    key = {"BACKUP_ENCRYPTION_KEY": "bench " + secrets.token_hex(16)}
    lines: list[str] = []

    def report(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    try:
        stack.create()
        stack.migrate()
        started = time.monotonic()
        n_files = args.uploads_mib // args.file_mib
        docker("run", "--rm", "--user", "1000:1000", "-v", f"{stack.volume}:/app/backend/data", "--entrypoint", "sh",
               stack.tools_image, "-c",
               f"mkdir -p /app/backend/data/uploads && for i in $(seq 1 {n_files}); do "
               f"head -c {args.file_mib * MIB} /dev/urandom "
               "> /app/backend/data/uploads/f$i-$(printf %05d $i)_file$i.bin; "
               "done")
        uploads = sorted(docker("run", "--rm", "-v", f"{stack.volume}:/data", "--entrypoint", "ls", stack.tools_image,
                                "/data/uploads").stdout.split())
        if pg:
            pg.fill(args.chats, args.users, uploads)
        else:
            docker("run", "--rm", "--user", "1000:1000", "-v", f"{stack.volume}:/app/backend/data",
                   "--entrypoint", "python3", stack.tools_image, "-c", FILL_ROWS, str(args.chats), str(args.users))
        before = counts(stack, pg)
        data_bytes = du(stack)
        db_bytes = pg.scalar(f"SELECT pg_database_size('{pg.name}')") if pg else None
        report(f"data set: {args.chats} chats, {args.users} users, {len(uploads)} upload files of {args.file_mib} MiB "
               f"(random, incompressible); data volume {data_bytes / MIB:.0f} MiB"
               + (f", PostgreSQL database {db_bytes / MIB:.0f} MiB" if db_bytes else " (SQLite file included)")
               + f"; generated in {time.monotonic() - started:.0f}s")
        stack.start_app()

        for label, env in (("plain", {}), ("gpg AES256", key)):
            manifest, took = owui("backup", stack.name, "--json", *tools, env=env)
            sizes = ", ".join(f"{f['name']} {f['size'] / MIB:.0f} MiB" for f in manifest["files"])
            report(f"backup  {label:<11} {took:6.1f}s wall (owui-backup itself {manifest['duration_seconds']:.1f}s); "
                   f"{manifest['size'] / MIB:.0f} MiB: {sizes}")
            # Destroy the stack's data and re-deploy it empty, then restore into it.
            stack.destroy_data()
            if pg:
                pg.drop()
                pg.create()
            stack.create_volume()
            stack.migrate()
            stack.start_app()
            result, took = owui("restore", stack.name, manifest["name"], "--yes", "--no-safety-backup", "--json",
                                *tools, env=env)
            after = counts(stack, pg)
            assert after == before, f"restored data differs: {after} != {before}"
            report(f"restore {label:<11} {took:6.1f}s wall; app down {result['downtime_seconds']:.1f}s "
                   "(stop, restore, migrate, config guard, start, healthy); data identical")
        report(f"database: {'PostgreSQL 15 (pg_dump -Fc / pg_restore)' if pg else 'SQLite (online backup API)'}; "
               f"machine: {os.cpu_count()} cores; gzip level 3")
    finally:
        stack.teardown()
        shutil.rmtree(work, ignore_errors=True)
        if pg:
            pg.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
