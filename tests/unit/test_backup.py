"""The scheduled backup container under mocks: hardened, secrets kept secret, mounts as documented."""

from __future__ import annotations

from typing import Any

import pytest

from components.backup import data_mount_read_only, local_copy_target
from tests.conftest import (
    RecordingMocks,
    env_of,
    is_secret_input,
    label,
    run_program,
    stack_config,
    unsecret,
)

KEY = "correct horse battery staple 42"


def with_backup(stack: str = "dev", **backup: Any) -> dict[str, Any]:
    values = stack_config(stack)
    values["backup"] = {"enabled": True, **backup}
    return values


def backup_container(mocks: RecordingMocks):
    found = mocks.containers("backup")
    assert len(found) == 1, [c.name for c in mocks.containers()]
    return found[0]


def mounts(container) -> dict[str, dict[str, Any]]:
    return {m["target"]: m for m in unsecret(container.inputs["mounts"])}


def plain_strings(value: Any) -> list[str]:
    """Every string in an input tree, skipping what Pulumi carries as a secret."""
    if is_secret_input(value):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in plain_strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in plain_strings(v)]
    return []


def test_no_backup_container_unless_enabled():
    assert run_program("dev", stack_config("dev")).containers("backup") == []


def test_backup_container_is_hardened_like_every_role():
    mocks = run_program("dev", with_backup(intervalMinutes=60, keepCount=3, keepDays=2))
    job = backup_container(mocks)
    inputs = job.inputs
    assert inputs["user"] == "1000:1000"
    assert inputs["readOnly"] is True
    assert inputs["capabilities"]["drops"] == ["ALL"]
    assert "no-new-privileges:true" in inputs["securityOpts"]
    assert inputs["memory"] == 512 and float(inputs["cpus"]) == 0.5
    assert inputs["restart"] == "unless-stopped"
    # The ops package from the tools image itself: nothing of this checkout is mounted (see the mounts test).
    assert inputs["healthcheck"]["tests"] == ["CMD", "python3", "-m", "owui_ops", "backup-tool", "health"]
    assert inputs["command"] == ["python3", "-m", "owui_ops", "backup-tool", "loop"]
    assert "ports" not in inputs
    assert label(job, "openwebui.stack") == "dev"
    # The same pids limit as the other long-running containers.
    assert any(r.name == "backup-job-pids-limit" for r in mocks.resources)
    env = env_of(job)
    assert env["BACKUP_INTERVAL_MINUTES"] == "60"
    assert env["BACKUP_KEEP_COUNT"] == "3" and env["BACKUP_KEEP_DAYS"] == "2"
    assert env["OWUI_APP_IMAGE"] == stack_config("dev")["image"]
    assert env["DATABASE_URL"].startswith("sqlite:////app/backend/data/")


def test_encryption_key_and_database_url_are_secret_everywhere():
    values = with_backup()
    values["backupEncryptionKey"] = KEY
    mocks = run_program("dev", values, secret_keys=("backupEncryptionKey",))
    job = backup_container(mocks)
    assert is_secret_input(job.inputs["envs"])
    assert env_of(job)["BACKUP_ENCRYPTION_KEY"] == KEY
    for resource in mocks.resources:
        assert not any(KEY in s for s in plain_strings(resource.inputs)), resource.name
    # Not on any command line either.
    assert KEY not in " ".join(job.inputs["command"])


def test_no_key_means_no_encryption_variable():
    env = env_of(backup_container(run_program("dev", with_backup())))
    assert "BACKUP_ENCRYPTION_KEY" not in env


def test_sqlite_stack_mounts_data_writable_for_the_wal_index_and_nothing_from_the_checkout():
    job = backup_container(run_program("dev", with_backup(directory="/srv/owui-backups")))
    found = mounts(job)
    data = found["/app/backend/data"]
    assert data["type"] == "volume" and data["source"] == "openwebui-dev-data"
    assert not data.get("readOnly")
    backups = found["/backups"]
    assert backups["type"] == "bind" and backups["source"] == "/srv/owui-backups/dev"
    assert not backups.get("readOnly")
    # Only the data volume and the backup directory: the job needs no file of the machine running pulumi.
    assert set(found) == {"/app/backend/data", "/backups"}


def test_host_directory_is_prepared_for_the_non_root_user_without_shell_interpolation():
    mocks = run_program("dev", with_backup(directory="/srv/owui-backups"))
    prepare = mocks.named("backup-directory")
    assert "/srv/owui-backups" not in prepare.inputs["create"]
    env = prepare.inputs["environment"]
    assert (env["OWUI_DIRS"], env["OWUI_OWNER"], env["OWUI_STACK"]) == ("/srv/owui-backups/dev", "1000:1000", "dev")
    # Made on the Docker host by a tools container (owui_ops.steps.backup_dirs), not on this machine's disk.
    assert env["OWUI_TOOLS_IMAGE"] == "openwebui-local/tools:1.1.0"
    assert prepare.inputs["create"].endswith("/scripts/run-backup-dirs")
    assert "delete" not in prepare.inputs  # destroy never removes backups


def test_copy_to_a_path_is_mounted_and_an_rsync_target_passed_through():
    job = backup_container(run_program("dev", with_backup(copyTo="/mnt/offsite/owui")))
    assert mounts(job)["/copy"]["source"] == "/mnt/offsite/owui"
    assert env_of(job)["BACKUP_COPY_TO"] == "/copy"
    job = backup_container(run_program("dev", with_backup(copyTo="nas.example.com::owui")))
    assert "/copy" not in mounts(job)
    assert env_of(job)["BACKUP_COPY_TO"] == "nas.example.com::owui"


def test_server_database_stack_reaches_the_server_and_gets_the_url_as_secret(tls_pair):
    from tests.conftest import stack_secrets

    secrets, secret_keys = stack_secrets("staging", tls_pair)
    values = {**with_backup("staging"), **secrets}
    mocks = run_program("staging", values, secret_keys=secret_keys)
    job = backup_container(mocks)
    assert job.inputs["networksAdvanced"][0]["name"]
    assert {"host": "host.docker.internal", "ip": "host-gateway"} in job.inputs["hosts"]
    assert env_of(job)["DATABASE_URL"].startswith("postgresql://")
    # Chroma (the default vector store) keeps a live SQLite file in the data volume.
    assert not mounts(job)["/app/backend/data"].get("readOnly")


@pytest.mark.parametrize(("database", "vector_db", "read_only"), [
    ("sqlite", "chroma", False),
    ("sqlite", "qdrant", False),
    ("postgresql", "chroma", False),
    ("postgresql", "pgvector", True),
    ("mysql", "qdrant", True),
])
def test_data_mount_is_read_only_only_without_live_sqlite_files(database, vector_db, read_only):
    assert data_mount_read_only(database, vector_db) is read_only


def test_local_copy_target():
    assert local_copy_target("/mnt/x") == "/mnt/x"
    assert local_copy_target("host::module") is None
    assert local_copy_target("rsync://host/module") is None
    assert local_copy_target(None) is None


def test_backup_starts_after_the_migration():
    mocks = run_program("dev", with_backup())
    names = [r.name for r in mocks.resources]
    assert names.index("migration-upgrade") < names.index("backup-job")
