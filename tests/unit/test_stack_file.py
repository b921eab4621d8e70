"""deploy/stack_file.py: plain config values from the stack file, where the CLI keeps it; never a secure value."""

from __future__ import annotations

from pathlib import Path

from deploy import stack_file


def project(tmp_path: Path, stack_yaml: str | None, config_dir: str | None = "stacks") -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: openwebui\nruntime: python\n"
                                          + (f"stackConfigDir: {config_dir}\n" if config_dir else ""))
    if stack_yaml is not None:
        directory = tmp_path / (config_dir or ".")
        directory.mkdir(exist_ok=True)
        (directory / "Pulumi.dev.yaml").write_text(stack_yaml)
    return tmp_path


def test_a_plain_value_comes_from_the_stack_config_dir(tmp_path: Path) -> None:
    work = project(tmp_path, "config:\n  openwebui:environment: staging\n  openwebui:docker:\n    host: ssh://h\n")
    assert stack_file.plain_value(work, "dev", "environment") == "staging"
    assert stack_file.plain_value(work, "dev", "docker") == {"host": "ssh://h"}
    assert stack_file.plain_value(work, "dev", "hostname") is None


def test_without_stack_config_dir_the_file_is_in_the_project(tmp_path: Path) -> None:
    work = project(tmp_path, "config:\n  openwebui:environment: prod\n", config_dir=None)
    assert stack_file.path(work, "dev") == tmp_path / "Pulumi.dev.yaml"
    assert stack_file.plain_value(work, "dev", "environment") == "prod"


def test_a_secure_value_or_a_missing_file_gives_none(tmp_path: Path) -> None:
    work = project(tmp_path, "config:\n  openwebui:adminPassword:\n    secure: v1:abc\n")
    assert stack_file.plain_value(work, "dev", "adminPassword") is None
    (tmp_path / "empty").mkdir()
    assert stack_file.plain_value(project(tmp_path / "empty", None), "dev", "environment") is None


def test_writing_plain_values_keeps_what_the_cli_wrote(tmp_path: Path) -> None:
    work = project(tmp_path, "encryptionsalt: v1:salt\nconfig:\n  openwebui:adminPassword:\n    secure: v1:abc\n"
                             "  openwebui:hostname: old.example\n")
    written = stack_file.write_plain_values(work, "dev", {"environment": "dev", "proxy": {"httpsPort": 8443}})
    assert written == stack_file.path(work, "dev")
    assert stack_file.plain_value(work, "dev", "environment") == "dev"
    assert stack_file.plain_value(work, "dev", "proxy") == {"httpsPort": 8443}
    assert stack_file.plain_value(work, "dev", "hostname") is None  # plain values are replaced as a whole
    text = written.read_text()
    assert "encryptionsalt: v1:salt" in text and "secure: v1:abc" in text
