"""Which plugin serves each provider package: the real one whenever it is installed, a contract double only
where it cannot be had (plugins/, docs/provider-contract.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from deploy.toolchain import ROOT, cli_path

DOUBLES = ROOT / "plugins" / "bin"
PACKAGES = ("docker", "random", "command")


@dataclass(frozen=True)
class PluginChoice:
    package: str
    version: str
    real: bool
    where: str

    def describe(self) -> str:
        kind = "real plugin" if self.real else "contract double"
        return f"{self.package} {self.version}: {kind} ({self.where})"


def pinned_versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if name.startswith("pulumi-") and version:
            pins[name.removeprefix("pulumi-")] = version.split()[0]
    return pins


def installed_plugins(env: dict[str, str]) -> dict[str, set[str]]:
    """`pulumi plugin ls --json`: resource plugin name -> installed versions."""
    done = subprocess.run([str(cli_path(env)), "plugin", "ls", "--json"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120, check=False)
    found: dict[str, set[str]] = {}
    if done.returncode == 0 and done.stdout.strip():
        for plugin in json.loads(done.stdout) or []:
            if plugin.get("kind") == "resource":
                found.setdefault(plugin["name"], set()).add(str(plugin.get("version", "")).lstrip("v"))
    return found


def choose(env: dict[str, str]) -> list[PluginChoice]:
    """A real plugin when the engine can load one: installed in PULUMI_HOME at the pinned version, or a
    `pulumi-resource-<package>` on PATH that is not ours. Otherwise our double."""
    pins = pinned_versions()
    installed = installed_plugins(env)
    path_without_doubles = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                           if Path(p).resolve() != DOUBLES.resolve())
    choices = []
    for package in PACKAGES:
        version = pins[package]
        on_path = shutil.which(f"pulumi-resource-{package}", path=path_without_doubles)
        if version in installed.get(package, set()):
            choices.append(PluginChoice(package, version, True, f"installed in {env.get('PULUMI_HOME', '~/.pulumi')}"))
        elif on_path:
            choices.append(PluginChoice(package, version, True, on_path))
        else:
            choices.append(PluginChoice(package, version, False, str(DOUBLES / f"pulumi-resource-{package}")))
    return choices


def needs_doubles(choices: list[PluginChoice]) -> bool:
    return any(not c.real for c in choices)


def doubles_dir(choices: list[PluginChoice], directory: Path) -> Path:
    """A directory with launchers for just the packages that need a double: the engine takes a plugin found on
    PATH before an installed one, so plugins/bin itself must never shadow a real plugin."""
    directory.mkdir(parents=True, exist_ok=True)
    for choice in choices:
        link = directory / f"pulumi-resource-{choice.package}"
        if not choice.real and not link.exists():
            link.symlink_to(DOUBLES / link.name)
        elif choice.real and link.is_symlink():
            link.unlink()
    return directory
