"""Where the Pulumi engine and its plugins come from on this machine, and the environment the engine runs in."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLCHAIN = ROOT / "scripts" / "pulumi-toolchain"
# A cold machine compiles the CLI from Go modules (minutes); a cached one answers at once.
TOOLCHAIN_TIMEOUT_S = 60 * 60
STATE_HOME = Path(os.environ.get("OWUI_STATE_HOME", Path.home() / ".local" / "share" / "openwebui-pulumi"))
# The database providers' fallback variables for the server admin's password, emptied for the engine: the
# password can then only reach a provider through the stack's secret config.
ADMIN_PASSWORD_ENV = ("OWUI_PG_ADMIN_PASSWORD", "OWUI_MYSQL_ADMIN_PASSWORD")


class EngineUnavailable(Exception):
    pass


def parse_exports(text: str, current_path: str) -> dict[str, str]:
    """`export NAME=value` lines (shell-quoted; PATH ends in "$PATH") -> dict."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, value = words[1].split("=", 1)
            found[name] = value.replace("$PATH", current_path)
    return found


def toolchain_env() -> dict[str, str]:
    """PATH (the CLI with the dynamic-provider plugin, then the venv) and the engine switches."""
    try:
        done = subprocess.run([str(TOOLCHAIN), "--engine-lite", "--env"], capture_output=True, text=True,
                              timeout=TOOLCHAIN_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineUnavailable(f"{TOOLCHAIN.name}: {exc}") from None
    if done.returncode != 0:
        raise EngineUnavailable(f"{TOOLCHAIN.name} --engine-lite exited {done.returncode}: "
                                f"{done.stderr.strip()[-600:]}")
    exports = parse_exports(done.stdout, os.environ.get("PATH", ""))
    if "PATH" not in exports:
        raise EngineUnavailable(f"{TOOLCHAIN.name} printed no PATH: {done.stdout!r}")
    return exports


def cli_path(env: dict[str, str]) -> Path:
    found = shutil.which("pulumi", path=env["PATH"])
    if found is None:
        raise EngineUnavailable(f"no pulumi on the toolchain PATH {env['PATH']}")
    return Path(found)


def cli_root(env: dict[str, str], directory: Path) -> Path:
    """A directory with bin/pulumi -> the toolchain's CLI, as auto.PulumiCommand(root=...) expects. The CLI
    resolves the link and finds the dynamic-provider plugin beside the real binary."""
    (directory / "bin").mkdir(parents=True, exist_ok=True)
    link = directory / "bin" / "pulumi"
    if not link.exists():
        link.symlink_to(cli_path(env))
    return directory


def passphrase_env(state_home: Path) -> dict[str, str]:
    """The passphrase that encrypts the stack's secrets: the caller's own when set, else one made for this
    machine on first use and kept in a 0600 file (never a constant in the repository)."""
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return {k: os.environ[k] for k in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
                if k in os.environ}
    path = state_home / "passphrase"
    if not path.exists():
        state_home.mkdir(parents=True, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
    return {"PULUMI_CONFIG_PASSPHRASE_FILE": str(path)}


def engine_env(base: dict[str, str], *, backend: str, home: Path, extra_path: list[Path] | None = None,
               passphrase: dict[str, str] | None = None) -> dict[str, str]:
    """Everything the engine (and through it the plugins and the policy pack) runs with."""
    path = base["PATH"]
    if extra_path:
        path = os.pathsep.join([*(str(p) for p in extra_path), path])
    home.mkdir(parents=True, exist_ok=True)
    return {
        **base,
        "PATH": path,
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": backend,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        # Dynamic providers unpickle classes from components.*, in a process whose cwd is the work dir.
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        **(passphrase if passphrase is not None else passphrase_env(STATE_HOME)),
        **{name: "" for name in ADMIN_PASSWORD_ENV},
    }
