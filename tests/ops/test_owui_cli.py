"""scripts/owui against stacks made the way the program makes them: users, a chat and an uploaded file made
through Open WebUI's API; backed up; the stack's data destroyed and re-deployed; restored; everything back.
Also status and a rollback after a real upgrade (0.12.0 -> 0.12.4, the schema moves)."""

from __future__ import annotations

import json
import secrets
import subprocess
from typing import Any

import pytest

from components.providers.selfsigned import generate_certificate
from tests.ops.conftest import Images, ServerDatabase
from tests.ops.fakestack import ROOT, FakeStack, docker

BOB = {"name": "Bob", "email": "bob@example.com", "password": "Bob-password-" + secrets.token_hex(4), "role": "user"}
UPLOAD = b"uploaded file content " + secrets.token_hex(16).encode()


def owui(*argv: str, expect: int = 0) -> tuple[Any, str]:
    # scripts/owui is `python3 -m owui_ops` with the checkout on the path.
    result = subprocess.run([str(ROOT / "scripts" / "owui"), *argv], capture_output=True, text=True,
                            timeout=900, stdin=subprocess.DEVNULL)
    assert result.returncode == expect, f"owui {' '.join(argv)} exited {result.returncode}:\n{result.stderr[-4000:]}"
    output = result.stdout.strip()
    try:
        return json.loads(output), result.stdout + result.stderr
    except ValueError:
        return output, result.stdout + result.stderr


def make_user_data(stack: FakeStack) -> dict[str, str]:
    """Bob (added by the admin) writes a chat and uploads a file, through the API."""
    admin = stack.admin_api()
    admin.post("/api/v1/auths/add", json=BOB)
    bob = bob_api(stack)
    chat = bob.post("/api/v1/chats/new", json={"chat": {"title": "Holiday plans 🏖", "messages": [
        {"role": "user", "content": "Where should we go?"}]}})
    uploaded = bob.post("/api/v1/files/?process=false", files={"file": ("plans.txt", UPLOAD, "text/plain")})
    return {"chat": chat["id"], "file": uploaded["id"]}


def bob_api(stack: FakeStack):
    token = stack.api().post("/api/v1/auths/signin", json={"email": BOB["email"], "password": BOB["password"]})
    return stack.api(token["token"])


def check_user_data(stack: FakeStack, ids: dict[str, str]) -> None:
    bob = bob_api(stack)  # Bob's own password works again
    assert [c["title"] for c in bob.get("/api/v1/chats/")] == ["Holiday plans 🏖"]
    assert bob.get(f"/api/v1/files/{ids['file']}/content") == UPLOAD
    users = {u["email"] for u in stack.admin_api().get("/api/v1/users/all")["users"]}
    assert {"admin@example.com", BOB["email"]} <= users


def redeploy_empty(stack: FakeStack, *, new_secrets: bool) -> None:
    """`pulumi destroy` (data included) and `pulumi up` again: a new volume, migrated, a new app (new secrets)."""
    stack.destroy_data()
    stack.create_volume()
    if new_secrets:
        stack.secret_key = secrets.token_urlsafe(32)
        stack.admin_password = "Adm1n-" + secrets.token_urlsafe(12)
    stack.migrate()
    stack.start_app()
    if stack.job_settings:
        stack.start_backup_job(**stack.job_settings)


def tool_args(stack: FakeStack) -> list[str]:
    return ["--backup-dir", str(stack.backup_dir), "--tools-image", stack.tools_image]


# ---------------------------------------------------------------------------------------------------------------


def test_sqlite_stack_backup_status_destroy_restore(make_stack):
    key = "stack backup key " + secrets.token_hex(8)
    stack = make_stack()
    stack.migrate()
    stack.start_app()
    certificate = generate_certificate("localhost", 90)
    stack.start_proxy(certificate["certificate_pem"], certificate["private_key_pem"])
    stack.start_backup_job(interval_minutes=60, key=key)
    ids = make_user_data(stack)

    manifest, log1 = owui("backup", stack.name, "--json")  # backup dir, tools image and key from the job
    assert manifest["encrypted"] is True and manifest["database"]["revision"] == "0bd252b206fb"
    assert (stack.backup_dir / manifest["name"] / "manifest.json").is_file()
    listed, log2 = owui("backups", stack.name, "--json")
    assert manifest["name"] in [b["name"] for b in listed]
    assert all(b["size"] > 0 and b["age_seconds"] < 600 for b in listed)
    table, _ = owui("backups", stack.name)
    assert manifest["name"] in table and "yes" in table  # encrypted column

    status, log3 = owui("status", stack.name, "--json")
    assert status["problems"] == []
    assert status["image"] == stack.image
    assert status["database"]["current"] == status["database"]["heads"] == ["0bd252b206fb"]
    assert status["last_backup"]["name"] in [b["name"] for b in listed]
    assert 88 < status["certificate"]["days_left"] <= 90
    assert {c["role"] for c in status["containers"]} == {"app", "backup", "proxy"}

    redeploy_empty(stack, new_secrets=True)
    with pytest.raises(AssertionError):
        bob_api(stack)  # gone with the data

    result, log4 = owui("restore", stack.name, manifest["name"], "--yes", "--json")
    assert result["revision"] == ["0bd252b206fb"] and result["healthy"]
    assert result["admin_password_reset"] is True  # the new stack's admin password holds after the restore
    assert result["safety_backup"] and result["safety_backup"] != manifest["name"]
    stack.refresh_app_port()
    check_user_data(stack, ids)
    # The job was stopped for the restore and is running again.
    assert docker("inspect", "--format", "{{.State.Running}}", f"owui-t-{stack.name}-backup").stdout.strip() == "true"

    for text in (log1, log2, log3, log4):
        for secret in (key, stack.admin_password, stack.secret_key, BOB["password"]):
            assert secret not in text


def test_restore_refuses_a_backup_that_does_not_verify_and_leaves_the_app_running(make_stack):
    stack = make_stack()
    stack.migrate()
    stack.start_app(wait=False)  # running is enough here
    manifest, _ = owui("backup", stack.name, "--json", *tool_args(stack))
    data = stack.backup_dir / manifest["name"] / "data.tar.gz"
    data.write_bytes(data.read_bytes()[:-10])
    _, log = owui("restore", stack.name, manifest["name"], "--yes", *tool_args(stack), expect=5)
    assert "does not verify" in log and "nothing was changed" in log
    [app] = stack.app_containers()
    assert docker("inspect", "--format", "{{.State.Running}}", app).stdout.strip() == "true"
    _, log = owui("restore", stack.name, "no-such-backup", "--yes", *tool_args(stack), expect=1)
    assert "no backup 'no-such-backup'" in log


@pytest.mark.realdb
def test_postgresql_stack_destroy_restore(make_stack, pg_database: ServerDatabase):
    stack = make_stack(pg_database.container_url())
    stack.migrate()
    stack.start_app()
    ids = make_user_data(stack)
    manifest, _ = owui("backup", stack.name, "--json", *tool_args(stack))
    assert manifest["database"]["type"] == "postgresql"

    pg_database.recreate()
    redeploy_empty(stack, new_secrets=False)
    with pytest.raises(AssertionError):
        bob_api(stack)

    result, log = owui("restore", stack.name, manifest["name"], "--yes", "--json", *tool_args(stack))
    assert result["revision"] == ["0bd252b206fb"]
    stack.refresh_app_port()
    check_user_data(stack, ids)
    assert pg_database.password not in log


def test_rollback_after_a_real_upgrade(make_stack, images: Images):
    stack = make_stack(image=images.previous_app)
    stack.migrate()
    stack.start_app()
    ids = make_user_data(stack)
    before, _ = owui("backup", stack.name, "--json", *tool_args(stack))  # records the image that ran
    old_head = before["database"]["revision"]

    # The upgrade, as the migration step does it: pre-migration backup (in migration.backupDir, not the
    # scheduled backups' directory), upgrade to the new head, new app.
    stack.image = images.app
    pre_migration = stack.work / "pre-migration"
    upgraded = stack.migrate(image=images.app, backup_dir=pre_migration)
    new_head = upgraded["current"][0]
    assert new_head != old_head
    stack.remove_containers(role="app")
    stack.start_app(images.app)
    bob_api(stack).post("/api/v1/chats/new", json={"chat": {"title": "written after the upgrade", "messages": []}})

    plan, log = owui("rollback", stack.name, "--yes", "--no-up", "--json", *tool_args(stack),
                     "--pre-migration-dir", str(pre_migration))
    assert (plan["from"], plan["to"], plan["schema_moved"]) == (images.app, images.previous_app, True)
    assert plan["previous_head"] == [old_head] and plan["database_revision"] == [new_head]
    assert plan["backup"].endswith("-pre-migration.sqlite3")  # the newest backup at the old head
    assert plan["restore"]["revision"] == [old_head]
    assert plan["pulumi"][0] == f"pulumi config set openwebui:image {images.previous_app} --stack {stack.name}"
    assert plan["pulumi"][1].startswith(f"pulumi up --yes --stack {stack.name} --policy-pack policy")
    [app] = stack.app_containers()
    assert docker("inspect", "--format", "{{.State.Running}}", app).stdout.strip() == "false"

    # What `pulumi up` with the old image then does: the old image's app on the restored database.
    stack.image = images.previous_app
    stack.remove_containers(role="app")
    stack.start_app(images.previous_app)
    check_user_data(stack, ids)
    titles = [c["title"] for c in bob_api(stack).get("/api/v1/chats/")]
    assert "written after the upgrade" not in titles  # the rollback said it would be lost
    status, _ = owui("status", stack.name, "--json", *tool_args(stack), expect=1)  # no proxy here: one problem
    assert status["database"]["current"] == status["database"]["heads"] == [old_head]
    assert status["image"] == images.previous_app
    assert [p for p in status["problems"] if not p.startswith("certificate")] == []


def test_rollback_without_a_known_previous_image_says_how(make_stack):
    stack = make_stack()
    stack.migrate()
    stack.start_app(wait=False)
    _, log = owui("rollback", stack.name, "--yes", "--no-up", *tool_args(stack), expect=1)
    assert f"scripts/owui rollback {stack.name} --to IMAGE" in log
