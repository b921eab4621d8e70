"""The app's health check (components/app_process.py) run as Docker runs it: an exec in a container of the app
image, as the app user, against a stand-in server that answers /health after a delay."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest

from components import app_process
from components.hardening import ContainerProfile, hardened_container_args
from deploy import local_images
from tests.prerequisites import require

IMAGE = local_images.app()
# Serves /health with {"status": <argv[2]>} on 127.0.0.1:8080, starting argv[1] seconds after the container.
SERVER = """\
import http.server, json, sys, time
time.sleep(float(sys.argv[1]))
body = json.dumps({"status": sys.argv[2] == "true"}).encode()
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", 8080), Health).serve_forever()
"""


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=check)


@pytest.fixture
def app_container() -> Iterator[object]:
    require(["docker", "image", "inspect", IMAGE], f"the app image {IMAGE}")
    names: list[str] = []

    def start(delay: float, status: str = "true") -> str:
        name = f"owui-health-test-{uuid.uuid4().hex[:8]}"
        docker("run", "-d", "--name", name, "--user", "1000:1000", "--read-only", "--network", "none",
               "--entrypoint", "python3", IMAGE, "-c", SERVER, str(delay), status)
        names.append(name)
        return name

    yield start
    for name in names:
        docker("rm", "-f", name, check=False)


def check(container: str, *args: int) -> int:
    """Exit status of the health command, made with (start period, wait) as given, in the container."""
    return docker("exec", container, *app_process.health_command(*args), check=False).returncode


@pytest.mark.docker
def test_a_young_app_is_waited_for_and_an_old_one_asked_once(app_container) -> None:
    container = app_container(delay=4)
    # Past its start period (0 s) the check asks once: the server is not up yet, so it fails at once.
    assert check(container, 0, 20) == 1
    # Within its start period the same check waits until the app serves.
    assert check(container, 120, 20) == 0
    assert check(container, 0, 20) == 0


@pytest.mark.docker
def test_an_answer_without_status_true_fails_even_while_waiting(app_container) -> None:
    container = app_container(delay=0, status="false")
    assert check(container, 120, 2) == 1


def test_docker_gives_the_waiting_check_its_whole_wait() -> None:
    # Docker kills a check running past the health timeout: the wait plus one answer (3 s) must fit in it.
    assert app_process.HEALTH_TIMEOUT_SECONDS >= app_process.STARTUP_WAIT_SECONDS + 3
    profile = ContainerProfile(role="app", environment="dev", stack="t", image_ref=IMAGE, user="1000:1000",
                               memory_mb=512, cpus=1.0, health_command=app_process.HEALTH_COMMAND,
                               health_start_period=app_process.START_PERIOD,
                               health_timeout_seconds=app_process.HEALTH_TIMEOUT_SECONDS)
    health = hardened_container_args(profile)["healthcheck"]
    assert health.timeout == "30s" and health.start_period == "2m0s"
