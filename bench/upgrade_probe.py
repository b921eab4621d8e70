"""What clients see while the dev stack is upgraded: a 10 requests/second probe through nginx.

    venv/bin/python -m bench.upgrade_probe [--runs 1] [--rate 10] [--no-write]

Per run (stack "bench-upgrade", ports 28444/28081, subnet 172.30.131.0/24, removed afterwards):
  1. deploy the dev stack with the local Open WebUI 0.12.0 image through the Pulumi engine (deploy/);
     sign in as the stack's admin, create a chat;
  2. steady state: the probe alone for 10 s (what "no failures" looks like on this machine);
  3. image upgrade: `up(image=...0.12.4)` (migration step with its backup, then the new app container beside the
     old one until healthy, then the old one removed) with the probe running from the start of `up` until 10 s
     after it returned;
  4. a replacement without a schema change: `up(app.extraEnv=...)` (no migration; the app container only).
The probe sends requests at fixed times (open loop: a slow answer does not delay the next request), alternating
GET /health and GET /api/v1/chats/ with the admin's token, each with the stack CA verified and a 10 s timeout.
A request fails when it errors or answers other than 200. Prints the figures; writes them to bench/results.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import requests

from bench.benchlib import (
    Slot,
    dev_values,
    docker,
    fresh_dir,
    machine,
    remove_deployment,
    today,
    wait_https_health,
    write_section,
)
from deploy import local_images
from tests.e2e.harness import RealDeployment

OLD, NEW = local_images.old_app(), local_images.app()
SLOT = Slot("bench-upgrade", 28444, 28081, "172.30.131.0/24")
TIMEOUT_S = 10.0
AFTER_S = 10.0
STEADY_S = 10.0


@dataclass(frozen=True)
class Sample:
    path: str
    started: float
    ended: float
    status: Optional[int]
    error: Optional[str]

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Probe:
    """Open-loop prober: request i is sent at start + i/rate by a worker pool, whatever came back before."""

    url: str
    ca_file: Path
    token: str
    rate: float = 10.0
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _one(self, path: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if path.startswith("/api/") else {}
        started = time.monotonic()
        status, error = None, None
        try:
            status = self._session().get(self.url + path, headers=headers, verify=str(self.ca_file),
                                         timeout=TIMEOUT_S).status_code
        except requests.RequestException as err:
            error = type(err).__name__
        with self._lock:
            self.samples.append(Sample(path, started, time.monotonic(), status, error))

    def run_while(self, action: Callable[[], None], after: float) -> tuple[float, float, float]:
        """Probe from just before `action` until `after` seconds after it returned; returns
        (window start, action end, window end). All requests have answered or timed out on return."""
        self.samples.clear()
        self._stop.clear()
        # Enough workers that requests hanging for the full timeout never hold back the schedule.
        pool = ThreadPoolExecutor(max_workers=int(self.rate * TIMEOUT_S) + 10)
        begin = time.monotonic()

        def schedule() -> None:
            index = 0
            while not self._stop.is_set():
                delay = begin + index / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._one, "/health" if index % 2 == 0 else "/api/v1/chats/")
                index += 1

        scheduler = threading.Thread(target=schedule, daemon=True)
        scheduler.start()
        try:
            action()
            done = time.monotonic()
            time.sleep(after)
        finally:
            self._stop.set()
            scheduler.join()
            end = time.monotonic()
            pool.shutdown(wait=True)
        return begin, done, end


@dataclass
class Figures:
    name: str
    duration: float  # the `up` itself (0 for the steady state)
    window: float
    total: int
    failed: int
    failures: dict[str, int]
    longest: float
    p99: float
    slow: int  # answers (any) that took over 1 s
    gap: float  # longest time without any successful answer
    gap_by_path: dict[str, float]
    steps: dict[str, float]
    nginx_connect_timeouts: int = 0
    order: list[str] = field(default_factory=list)  # the engine's steps for the app container, in order

    def line(self) -> str:
        kinds = ", ".join(f"{k} x{v}" for k, v in sorted(self.failures.items())) or "-"
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in self.steps.items()) or "-"
        gaps = ", ".join(f"{p} {g:.1f}s" for p, g in self.gap_by_path.items())
        return (f"{self.name}\n"
                f"  `up` took {self.duration:.1f} s (steps: {steps}); probe window {self.window:.1f} s\n"
                f"  app container order: {' -> '.join(self.order) or '-'}\n"
                f"  requests {self.total}, failed {self.failed} ({kinds}), slower than 1 s {self.slow}\n"
                f"  longest response {self.longest:.2f} s, p99 {self.p99:.2f} s\n"
                f"  longest gap without a successful response {self.gap:.2f} s ({gaps})\n"
                f"  nginx error log: {self.nginx_connect_timeouts} upstream connect timeouts (then retried)")


def longest_gap(samples: list[Sample], begin: float, end: float) -> float:
    marks = [begin, *sorted(s.ended for s in samples if s.ok), end]
    return max(b - a for a, b in zip(marks, marks[1:], strict=False))


def figures(name: str, samples: list[Sample], begin: float, done: float, end: float,
            steps: dict[str, float]) -> Figures:
    failures: dict[str, int] = {}
    for sample in samples:
        if not sample.ok:
            kind = f"{sample.path} {sample.status or sample.error}"
            failures[kind] = failures.get(kind, 0) + 1
    times = sorted(s.seconds for s in samples)
    paths = sorted({s.path for s in samples})
    return Figures(
        name=name, duration=done - begin, window=end - begin, total=len(samples),
        failed=sum(not s.ok for s in samples), failures=failures,
        longest=times[-1] if times else 0.0,
        p99=statistics.quantiles(times, n=100)[98] if len(times) >= 2 else (times or [0.0])[0],
        slow=sum(t > 1.0 for t in times),
        gap=longest_gap(samples, begin, end),
        gap_by_path={p: longest_gap([s for s in samples if s.path == p], begin, end) for p in paths},
        steps=steps)


def connect_timeouts(since: float) -> int:
    """nginx's "upstream timed out ... while connecting to upstream" lines since a wall-clock time."""
    ids = docker("ps", "-q", "--filter", f"label=openwebui.stack={SLOT.stack}",
                 "--filter", "label=openwebui.role=proxy").stdout.split()
    logs = docker("logs", "--since", f"{since:.0f}", *ids[:1]) if ids else None
    text = (logs.stdout + logs.stderr) if logs else ""
    return sum("while connecting to upstream" in line and "timed out" in line for line in text.splitlines())


def probed(name: str, probe: Probe, action: Callable[[], None], deployment: Optional[RealDeployment] = None,
           after: float = AFTER_S) -> Figures:
    """Run `action` under the probe; the figures, with the engine's steps it took and nginx's timeouts."""
    wall = time.time() - 1
    window = probe.run_while(action, after)
    steps = deployment.stack.step_seconds() if deployment is not None else {}
    found = figures(name, probe.samples, *window, steps)
    if deployment is not None:
        found.order = [f"{getattr(op, 'value', op)} {name}" for op, name in deployment.changed()
                       if "webui-app" in name]
    found.nginx_connect_timeouts = connect_timeouts(wall)
    return found


def one_run(work: Path, rate: float) -> list[Figures]:
    remove_deployment(SLOT)
    backups = fresh_dir(work / "backups")
    values = dev_values(SLOT, OLD, backups)
    deployment = RealDeployment(SLOT.stack, values)
    ca_file = work / "ca.pem"
    results = []
    try:
        deployment.up()
        ca_file.write_text(deployment.ca_certificate)
        wait_https_health(SLOT.url, ca_file)
        session = requests.Session()
        signin = session.post(f"{SLOT.url}/api/v1/auths/signin", verify=str(ca_file), timeout=30, json={
            "email": values["admin"]["email"], "password": deployment.admin_password})
        if signin.status_code != 200:
            raise RuntimeError(f"admin sign-in failed: HTTP {signin.status_code}")
        token = signin.json()["token"]
        chat = session.post(f"{SLOT.url}/api/v1/chats/new", verify=str(ca_file), timeout=30,
                            headers={"Authorization": f"Bearer {token}"},
                            json={"chat": {"title": "before the upgrade", "messages": []}})
        if chat.status_code != 200:
            raise RuntimeError(f"creating a chat failed: HTTP {chat.status_code}")
        probe = Probe(SLOT.url, ca_file, token, rate)

        results.append(probed(f"steady state, no change ({STEADY_S:.0f} s)", probe, lambda: None,
                              after=STEADY_S))

        revision = deployment.revision
        upgrade = probed("image upgrade 0.12.0 -> 0.12.4", probe, lambda: deployment.up(image=NEW), deployment)
        if deployment.revision == revision:
            raise RuntimeError("the image upgrade did not move the database revision")
        upgrade.name += f" (revision {revision} -> {deployment.revision})"
        results.append(upgrade)

        extra = {**values["app"], "extraEnv": {"BENCH_NONCE": str(time.time_ns())}}
        replacement = probed("app replacement without schema change (app.extraEnv)", probe,
                             lambda: deployment.up(app=extra), deployment)
        if "migration-upgrade" in replacement.steps:
            raise RuntimeError("an app.extraEnv change re-ran the migration")
        results.append(replacement)
    finally:
        deployment.destroy()
        remove_deployment(SLOT)
    return results


NOTES = """\
How to read it:
- "failed" counts errors and non-200 answers; a request nginx retried on another address and then answered with
  200 counts as a success, with its full (slow) time.
- Answers of ~5 s are nginx's proxy_connect_timeout (5 s, components/templates/nginx.conf.tmpl): for up to 5 s
  after the old app container is removed, nginx's cached DNS answer for the app alias (resolver valid=5s) still
  holds its address, a connect to it hangs until the timeout, and proxy_next_upstream retries on the new container.
- During the image upgrade the old (0.12.0) app keeps serving while the migration step moves the shared SQLite
  database to 0.12.4's revision, until the new container is healthy; /api/v1/chats/ kept answering 200 here.
- `up` goes through the Pulumi engine with the plugins deploy/plugins.py picks; "order" is the engine's own
  sequence for the app container: the replacement is created (and healthy) before the replaced one is deleted.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="owui-bench-upgrade-", dir="/var/tmp"))
    blocks = []
    try:
        for run in range(options.runs):
            print(f"run {run + 1}/{options.runs} ...", flush=True)
            blocks += [f"run {run + 1}: " + f.line() for f in one_run(work, options.rate)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = (f"# {today()}; {machine()}\n# probe: {options.rate:g} requests/s, GET /health and GET /api/v1/chats/ "
            f"alternating, timeout {TIMEOUT_S:.0f} s, window = `up` + {AFTER_S:.0f} s\n" + "\n".join(blocks)
            + "\n\n" + NOTES)
    print(text)
    if not options.no_write:
        write_section("upgrade_probe", "## Upgrade under a probe (`venv/bin/python -m bench.upgrade_probe`)\n\n"
                      "```\n" + text + "\n```\n")


if __name__ == "__main__":
    main()
