"""The swarm services' start wrapper (components/swarm_service.py FILE_ENV_SCRIPT), run by the real /bin/sh: each
secret file's content reaches the process as its variable, never its arguments; the `_FILE` names are gone; with a
drain time the process keeps running that long after SIGTERM and then gets it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from components.swarm_service import file_env, wrapped

PROBE = "import os, signal, sys, time\n" \
        "signal.signal(signal.SIGTERM, lambda *_: (print('term', flush=True), sys.exit(0)))\n" \
        "print(os.environ.get('DATABASE_URL'), 'DATABASE_URL_FILE' in os.environ, 'OWUI_FILE_ENV' in os.environ, " \
        "flush=True)\n" \
        "time.sleep(60)\n"


def _start(tmp_path: Path, extra: dict[str, str]) -> subprocess.Popen[str]:
    secret = tmp_path / "database_url"
    secret.write_text("postgresql://app:s3cr3t-pw@db/x\n")
    env = {k: v.replace("/run/secrets", str(tmp_path)) for k, v in file_env({"DATABASE_URL": "database_url"}).items()}
    return subprocess.Popen(wrapped(["python3", "-c", PROBE]), env={"PATH": os.environ["PATH"], **env, **extra},
                            stdout=subprocess.PIPE, text=True)


def test_the_file_becomes_the_variable_and_only_in_the_process(tmp_path: Path) -> None:
    process = _start(tmp_path, {})
    try:
        assert process.stdout is not None
        assert process.stdout.readline().split() == ["postgresql://app:s3cr3t-pw@db/x", "False", "False"]
        args = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"s3cr3t-pw" not in args
    finally:
        process.kill()
        process.wait()


def test_a_drain_time_delays_the_stop_signal(tmp_path: Path) -> None:
    process = _start(tmp_path, {"OWUI_DRAIN_SECONDS": "2"})
    assert process.stdout is not None
    process.stdout.readline()
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.stdout.readline().strip() == "term"
    assert time.monotonic() - sent >= 2
    assert process.wait(timeout=10) == 0
