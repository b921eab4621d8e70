"""Deploy time of the dev stack through the Pulumi engine against docker-compose with an equivalent file.

    venv/bin/python -m bench.deploy_vs_compose [--runs 3] [--no-engine] [--no-write]

Per run, one after the other on the same ports (28443/28080, subnet 172.30.130.0/24), cleaned up in between:
  engine        `up` through the Pulumi engine (deploy/, as scripts/up; plugins as deploy/plugins.py picks them):
                from nothing until GET https://localhost:28443/health answers 200 through nginx with the
                stack's CA verified; includes the one-shot migration step (scripts/run-migration) and the
                program's waits (app healthy, then nginx healthy); then a `preview` and a second `up` with
                nothing changed.
  compose+migr  docker-compose up -d of a generated equivalent file (bench/compose_file.py) with a one-shot
                migration service; the same /health poll; then `docker-compose up -d` again (no-op).
  compose       the same file without the one-shot service: the app migrates itself at start.
Optionally (a') `preview` of the prod stack file vs an empty program. Prints medians and ratios and writes
them to bench/results.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from bench.benchlib import (
    ROOT,
    Slot,
    dev_values,
    fresh_dir,
    machine,
    remove_deployment,
    summary,
    today,
    wait_https_health,
    write_section,
)
from bench.compose_file import render
from deploy import local_images
from tests.e2e.harness import RealDeployment

IMAGE = local_images.app()
ENGINE = Slot("bench", 28443, 28080, "172.30.130.0/24")
# Same ports and subnet (never up at the same time), other names, so cleanup cannot touch the other one.
COMPOSE = Slot("bench-compose", 28443, 28080, "172.30.130.0/24")
PROJECT = "owui-bench-compose"
APP_UID = 1000

Timings = dict[str, list[float]]
NOOP_ACTIONS: dict[str, list[str]] = {}


def record(timings: Timings, key: str, seconds: float) -> None:
    timings.setdefault(key, []).append(seconds)


def engine_run(work: Path, timings: Timings) -> None:
    remove_deployment(ENGINE)
    backups = fresh_dir(work / "engine-backups")
    deployment = RealDeployment(ENGINE.stack, dev_values(ENGINE, IMAGE, backups))
    ca_file = work / "engine-ca.pem"
    try:
        started = time.monotonic()
        result = deployment.up()
        returned = time.monotonic()
        # What scripts/up prints from: the outputs `up` read back (deploy/__main__.py report_up).
        ca_file.write_text(result.outputs["caCertificate"].value)
        healthy = wait_https_health(ENGINE.url, ca_file)
        record(timings, "engine: deploy to healthy HTTPS", healthy - started)
        record(timings, "engine: `up` returned", returned - started)
        spans, steps = deployment.stack.step_spans(), deployment.stack.step_seconds()
        # Where the rest of the engine's time goes: before the program's first resource (CLI, passphrase, policy
        # pack, the program's imports), the plugin starts before the ownership step, and after the last outputs
        # (the engine's end; `up` no longer reads the stack back: deploy/up_result.py).
        record(timings, "engine:   until the first resource", min(start for start, _ in spans.values()) - started)
        record(timings, "engine:   until the ownership step started", spans["data-owner-take-over"][0] - started)
        path = [spans[name] for name in ("data-owner-take-over", "migration-upgrade", "webui-app-0")]
        record(timings, "engine:   between those steps (ownership, migration, app)",
               sum(later[0] - earlier[1] for earlier, later in zip(path, path[1:], strict=False)))
        record(timings, "engine:   after the last outputs", returned - max(done for _, done in spans.values()))
        record(timings, "engine:   data-volume ownership step", steps["data-owner-take-over"])
        record(timings, "engine:   migration step", steps["migration-upgrade"])
        record(timings, "engine:   app container until healthy", steps["webui-app-0"])
        record(timings, "engine:   nginx container until healthy", steps["proxy-nginx"])

        started = time.monotonic()
        deployment.preview(expect_no_changes=True)
        record(timings, "engine: preview, nothing to change", time.monotonic() - started)
        started = time.monotonic()
        deployment.up()
        record(timings, "engine: no-op `up`", time.monotonic() - started)
        if deployment.changed():
            raise RuntimeError(f"the no-op up changed something: {deployment.changed()}")
    finally:
        deployment.destroy()
        remove_deployment(ENGINE)


def compose(file: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker-compose", "-p", PROJECT, "-f", str(file), *args], capture_output=True,
                          text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"docker-compose {args[0]} failed: {proc.stderr.strip()[-2000:]}")
    return proc


def compose_down(file: Path) -> None:
    if file.exists():
        subprocess.run(["docker-compose", "-p", PROJECT, "-f", str(file), "down", "-v", "--remove-orphans"],
                       capture_output=True, text=True, timeout=300)
    remove_deployment(COMPOSE)  # by label and name, in case the file is gone


def compose_run(work: Path, timings: Timings, one_shot_migration: bool) -> None:
    label = "compose+migr" if one_shot_migration else "compose"
    backups = fresh_dir(work / "compose-backups")
    # scripts/run-migration does this for the engine's deployment: the migration runs as the app's user.
    os.chown(backups, APP_UID, APP_UID)
    backups.chmod(0o750)
    generated = render(COMPOSE.stack, dev_values(COMPOSE, IMAGE, backups), volume=COMPOSE.volume,
                       one_shot_migration=one_shot_migration, backup_dir=backups)
    file, ca_file = work / "docker-compose.yml", work / "compose-ca.pem"
    # The file holds throwaway secrets: readable by root only, removed after the run.
    file.touch(mode=0o600)
    file.write_text(generated.text)
    ca_file.write_text(generated.ca_certificate_pem)
    compose_down(file)
    try:
        started = time.monotonic()
        compose(file, "up", "-d")
        returned = time.monotonic()
        healthy = wait_https_health(COMPOSE.url, ca_file)
        record(timings, f"{label}: deploy to healthy HTTPS", healthy - started)
        record(timings, f"{label}: `up -d` returned", returned - started)
        started = time.monotonic()
        said = compose(file, "up", "-d").stderr
        record(timings, f"{label}: no-op `up -d`", time.monotonic() - started)
        # What compose did on the second `up` (e.g. "Starting ...migrate_1" re-runs a one-shot service).
        NOOP_ACTIONS[label] = sorted({re.sub(r"\s+\.\.\..*", "", line).strip()
                                      for line in said.splitlines() if line.strip()})
    finally:
        compose_down(file)
        file.unlink(missing_ok=True)


def engine_previews(runs: int, timings: Timings) -> str:
    """(a') `preview` of the prod stack file vs an empty program, real CLI and engine, plugins as deployed."""
    from pulumi import automation as auto

    from components.providers.selfsigned import generate_certificate
    from deploy.plugins import DOUBLES
    from tests.conftest import stack_secrets
    from tests.engine.lite import Engine, EngineUnavailable, cli_root, toolchain_env
    from tests.engine.test_engine_policy_pack import RUN_PACK, pack_config, real_program

    try:
        base = toolchain_env()
    except EngineUnavailable as exc:
        return f"engine previews skipped: {exc}"
    with tempfile.TemporaryDirectory() as tmp:
        root = cli_root(base, Path(tmp) / "cli")
        engine = Engine.create(base, root, Path(tmp) / "engine", extra_path=[DOUBLES])
        empty = engine.stack("empty", lambda: None).stack
        (engine.work_root / "prod").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "stacks" / "Pulumi.prod.yaml", engine.work_root / "prod" / "Pulumi.prod.yaml")
        prod = engine.stack("prod", real_program)
        values, secret_keys = stack_secrets("prod", generate_certificate("chat.example.com", 90))
        for key, value in values.items():
            if key in secret_keys:
                prod.set_secret(f"openwebui:{key}", value)
            else:
                prod.stack.set_config(f"openwebui:{key}", auto.ConfigValue(value))
        with_pack: Callable[[], object] = lambda: prod.stack.preview(  # noqa: E731
            policy_packs=[str(RUN_PACK)], policy_pack_configs=[pack_config("prod")])
        empty.preview()  # first start of CLI and plugins outside the timings
        for _ in range(runs):
            for key, action in (("engine: preview, empty program", empty.preview),
                                ("engine: preview, prod stack file", prod.stack.preview),
                                ("engine: preview, prod stack file + policy pack", with_pack)):
                started = time.monotonic()
                action()
                record(timings, key, time.monotonic() - started)
    return ""


def ratio(timings: Timings, a: str, b: str) -> str:
    if a not in timings or b not in timings:
        return "n/a"
    return f"{statistics.median(timings[a]) / statistics.median(timings[b]):.2f}"


NOTES = """\
How to read it:
- Docker runs the first health check one `interval` (app 5 s, nginx 2 s: components/config.py) after a container
  starts. The app's check, while the app is in its start period, waits for it to serve (components/app_process.py),
  so "healthy" is noticed within ~0.25 s of readiness rather than at the next interval; the docker provider then
  sees it at its next 1 s poll. The engine starts the app and nginx after the migration and waits for both to be
  healthy (`wait=True`) before `up` returns; compose starts both after its migration service.
- engine includes the one-shot steps: data-volume ownership (components/volume_owner.py) and migration
  (scripts/run-migration: a tools container for the backup directory and the ops volume, then one app-image
  container running `owui_ops migrate apply`: backup, upgrade, verify, config guard, status); "compose+migr" runs
  the same `migrate apply` as a one-shot service; plain "compose" has the app migrate itself at start
  (ENABLE_DB_MIGRATIONS=true).
- docker-compose is Debian's v1.29.2 (no `docker compose` v2 plugin, no `--wait` here): `up -d` blocks on the
  depends_on conditions, then /health is polled the same way for all three.
- The engine's no-op `up` runs the program, diffs every resource and changes nothing (the stack settles); compose
  v1 starts the exited one-shot migration container again on every `up -d` (the line above says so).
- The plugins are those deploy/plugins.py picks: the real ones where installed, else the contract doubles.
- engine previews: stacks/Pulumi.prod.yaml with throwaway secret config; the pack is policy/run-pack with
  policy/config/prod.json.
"""


def report(timings: Timings, runs: int, note: str) -> str:
    width = max(len(k) for k in timings)
    lines = [f"# {runs} runs, {today()}; {machine()}",
             f"{'measurement':<{width}}  median     min     max  (seconds)"]
    lines += [f"{key:<{width}}  {summary(values)}" for key, values in timings.items()]
    lines += ["",
              "ratios of medians:",
              f"  engine / compose+migr, deploy to healthy HTTPS:  "
              f"{ratio(timings, 'engine: deploy to healthy HTTPS', 'compose+migr: deploy to healthy HTTPS')}",
              f"  engine / compose, deploy to healthy HTTPS:       "
              f"{ratio(timings, 'engine: deploy to healthy HTTPS', 'compose: deploy to healthy HTTPS')}",
              f"  engine no-op `up` / engine preview:              "
              f"{ratio(timings, 'engine: no-op `up`', 'engine: preview, nothing to change')}",
              f"  engine no-op `up` / compose+migr no-op `up -d`:  "
              f"{ratio(timings, 'engine: no-op `up`', 'compose+migr: no-op `up -d`')}",
              f"  engine preview prod / empty program:             "
              f"{ratio(timings, 'engine: preview, prod stack file', 'engine: preview, empty program')}"]
    for label, actions in NOOP_ACTIONS.items():
        lines.append(f"{label}: what the second `up -d` did: {'; '.join(actions) or 'nothing printed'}")
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n\n" + NOTES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-engine", action="store_true", help="skip the Automation API previews")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    options = parser.parse_args()
    if shutil.which("docker-compose") is None:
        raise SystemExit("docker-compose is not installed (Debian: apt-get install docker-compose)")
    timings: Timings = {}
    work = Path(tempfile.mkdtemp(prefix="owui-bench-", dir="/var/tmp"))
    try:
        # Interleaved, so load from other work on the machine spreads over all three.
        for run in range(options.runs):
            for name, action in (("engine", lambda: engine_run(work, timings)),
                                 ("compose+migr", lambda: compose_run(work, timings, True)),
                                 ("compose", lambda: compose_run(work, timings, False))):
                print(f"run {run + 1}/{options.runs}: {name} ...", flush=True)
                action()
        note = "" if options.no_engine else engine_previews(options.runs, timings)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(timings, options.runs, note)
    print(text)
    if not options.no_write:
        write_section("deploy_vs_compose", "## Deploy: the Pulumi engine vs docker-compose "
                      "(`venv/bin/python -m bench.deploy_vs_compose`)\n\n```\n" + text + "\n```\n")


if __name__ == "__main__":
    main()
