"""Time the engine-lite operations (Automation API, real CLI, file:// backend); prints a table for bench/.

    venv/bin/python -m tests.engine.measure [--runs N]

Needs scripts/pulumi-toolchain --engine-lite and the PostgreSQL server of scripts/db-servers. Every run uses a
fresh backend and removes what it created on the server.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pulumi_docker as docker  # noqa: F401  (imported by the real program; loaded once, outside the timings)

from components.providers.selfsigned import SelfSignedCertificate
from deploy.plugins import DOUBLES
from tests.engine.lite import ROOT, TOOLCHAIN, Engine, cli_root, toolchain_env
from tests.engine.servers import Pg, pg_from_env, unique
from tests.engine.test_engine_dynamic_providers import ADMIN_KEY, app_password, postgres_program
from tests.engine.test_engine_policy_pack import RUN_PACK, pack_config, real_program

Timings = dict[str, list[float]]


def timed(timings: Timings, label: str, action: Callable[[], object]) -> None:
    start = time.perf_counter()
    action()
    timings.setdefault(label, []).append(time.perf_counter() - start)


def measure_postgres(base: dict[str, str], root: Path, pg: Pg, timings: Timings) -> None:
    name = unique()
    pg.roles.append(name)
    pg.databases.append(name)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.create(base, root, Path(tmp))
        holder: dict[str, object] = {}

        def create() -> None:
            stack = engine.stack("bench", postgres_program(pg, name, app_password()))
            stack.set_secret(ADMIN_KEY, pg.admin_password)
            holder["stack"] = stack

        timed(timings, "stack init + secret config (pulumi stack init, config set)", create)
        stack = holder["stack"].stack  # type: ignore[attr-defined]
        timed(timings, "up, first (creates role, database, certificate)", stack.up)
        timed(timings, "preview, nothing to do", stack.preview)
        timed(timings, "up, nothing to do", stack.up)
        timed(timings, "refresh (reads role, database, certificate)", stack.refresh)
        timed(timings, "destroy", stack.destroy)
    pg.cleanup()
    pg.roles.clear()
    pg.databases.clear()


def measure_policy(base: dict[str, str], root: Path, timings: Timings) -> None:
    def small() -> None:
        SelfSignedCertificate("tls", hostname="chat.example.com", validity_days=30)

    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine.create(base, root, Path(tmp), extra_path=[DOUBLES])
        stack = engine.stack("small", small).stack
        timed(timings, "preview, 1 dynamic resource, no pack", stack.preview)
        timed(timings, "preview, 1 dynamic resource, with policy/run-pack",
              lambda: stack.preview(policy_packs=[str(RUN_PACK)], policy_pack_configs=[pack_config("dev")]))
        (engine.work_root / "dev").mkdir(parents=True, exist_ok=True)
        (engine.work_root / "dev" / "Pulumi.dev.yaml").write_text(
            (ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
        dev = engine.stack("dev", real_program).stack
        timed(timings, "preview, the program (dev stack file, contract doubles), no pack", dev.preview)
        timed(timings, "preview, the program (dev stack file, contract doubles), with policy/run-pack",
              lambda: dev.preview(policy_packs=[str(RUN_PACK)], policy_pack_configs=[pack_config("dev")]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    timings: Timings = {}
    for _ in range(runs):
        timed(timings, f"{TOOLCHAIN.name} --engine-lite --env (cached)", toolchain_env)
    base = toolchain_env()
    pg = pg_from_env()
    with tempfile.TemporaryDirectory() as cli:
        root = cli_root(base, Path(cli))
        root_version = subprocess.run([str(root / "bin" / "pulumi"), "version"], capture_output=True, text=True,
                                      env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}).stdout.strip()
        for _ in range(runs):
            measure_postgres(base, root, pg, timings)
            measure_policy(base, root, timings)
    load = os.getloadavg()
    print(f"# {runs} runs; pulumi SDK {importlib.metadata.version('pulumi')}, CLI {root_version}; "
          f"Python {platform.python_version()}; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {os.cpu_count()} cores")
    width = max(len(label) for label in timings)
    print(f"{'operation':<{width}}  median     min     max  (seconds)")
    for label, values in timings.items():
        print(f"{label:<{width}}  {statistics.median(values):6.2f}  {min(values):6.2f}  {max(values):6.2f}")


if __name__ == "__main__":
    main()
