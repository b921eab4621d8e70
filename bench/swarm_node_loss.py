"""What clients see when a swarm node with an app replica stops: the 10 requests/second probe through nginx.

    venv/bin/python -m bench.swarm_node_loss [--no-write]

The swarm stack with its state off the node, on three nodes (tests/e2e/test_swarm_shared_state.py deploys it the same
way: PostgreSQL, Redis, uploads in the S3 store, two app replicas on two nodes, nginx on node 1); before the loss, a
file is uploaded and a chat saved. Then, with the probe running (bench/upgrade_probe.py: open loop, GET /health and
GET /api/v1/chats/ alternately, 10 s timeout): the dockerd of a worker node that runs an app replica is stopped
(scripts/swarm-nodes stop N: its tasks die with it), and the probe runs on until the swarm has two app tasks running
on the nodes left, plus 10 s. Counted: requests, failed ones (error or not 200), the longest gap without a successful
answer, and how long until the replacement task ran. Afterwards: is the file still served and the chat still there
(0 data lost)? Prints the figures; writes them to bench/results.md (section swarm-node-loss).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.benchlib import machine, today, write_section
from bench.upgrade_probe import Figures, Probe, figures
from tests.swarm_node import ROOT, running_tasks

TEST = "tests/e2e/test_swarm_shared_state.py"
SETTLE_S = 10.0
RESCHEDULE_TIMEOUT_S = 300.0


@dataclass
class NodeLoss:
    stopped_node: int
    rescheduled_after: float  # seconds from the stop until two app tasks ran again, none on the stopped node
    figures: Figures
    tasks_before: list[tuple[int, str]]
    tasks_after: list[tuple[int, str]]

    def text(self) -> str:
        return (f"stopped node {self.stopped_node} (app tasks before on nodes "
                f"{sorted(n for n, _ in self.tasks_before)}, after on {sorted(n for n, _ in self.tasks_after)}); "
                f"replacement running {self.rescheduled_after:.1f} s after the stop\n{self.figures.line()}")


def lose_a_node(url: str, ca_file: Path, token: str, app_service: str) -> NodeLoss:
    """Stop a worker node that runs an app task while the probe runs; returns once the swarm runs two app tasks on
    the nodes left (and SETTLE_S more). The node stays stopped: the caller starts it again."""
    before = running_tasks(app_service)
    victim = next(node for node, _ in before if node != 1)
    probe = Probe(url, ca_file, token)
    moments: dict[str, float] = {}

    def stop_and_wait() -> None:
        time.sleep(5.0)  # the probe's steady state first
        moments["stopped"] = time.monotonic()
        subprocess.run([str(ROOT / "scripts" / "swarm-nodes"), "stop", str(victim)], check=True, timeout=120,
                       capture_output=True)
        deadline = time.monotonic() + RESCHEDULE_TIMEOUT_S
        while time.monotonic() < deadline:
            tasks = running_tasks(app_service)
            if len(tasks) == len(before) and victim not in {node for node, _ in tasks}:
                moments["rescheduled"] = time.monotonic()
                return
            time.sleep(1.0)
        raise AssertionError(f"no replacement for node {victim}'s app task within {RESCHEDULE_TIMEOUT_S:.0f} s")

    window = probe.run_while(stop_and_wait, after=SETTLE_S)
    found = figures(f"swarm node {victim} stopped under the 10 req/s probe", probe.samples, *window, {})
    return NodeLoss(victim, moments["rescheduled"] - moments["stopped"], found, before, running_tasks(app_service))


def section(loss: NodeLoss, data: dict[str, Any]) -> str:
    kept = ", ".join(f"{k}: {v}" for k, v in data.items())
    return (f"## Swarm: a node with an app replica stopped under the probe ({today()})\n\n"
            "`venv/bin/python -m bench.swarm_node_loss`: three swarm nodes (scripts/swarm-nodes --nodes 3), the "
            "swarm stack with PostgreSQL, Redis and uploads in the S3 store (SeaweedFS), two app replicas on two "
            "nodes, nginx on node 1; a worker's dockerd stopped while GET /health and GET /api/v1/chats/ are sent "
            "at 10 requests/s through nginx.\n\n"
            f"```\n{loss.text()}\ndata after the loss: {kept}\n```\n\n{machine()}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    options = parser.parse_args()
    # The e2e test's deployment (one place for the stack, its nodes and servers): the test hands its figures over
    # in the file OWUI_BENCH_NODE_LOSS names.
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "node-loss.md"
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                               f"{TEST}::test_a_node_stopped_under_the_probe_loses_no_data"],
                              cwd=ROOT, capture_output=True, text=True, check=False,
                              env={**os.environ, "OWUI_BENCH_NODE_LOSS": str(report)})
        if done.returncode or not report.exists():
            raise SystemExit(f"the node-loss run failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
        text = report.read_text()
    print(text)
    if not options.no_write:
        write_section("swarm-node-loss", text)


if __name__ == "__main__":
    main()
