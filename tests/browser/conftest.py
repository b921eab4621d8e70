"""Fixtures for the browser suite: one event loop and one headless Debian chromium per session,
and the stacks it runs against (deployed through tests/e2e/harness.py, removed afterwards)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit

import pytest

from tests.browser.flows import Target, chromium_path, launch, server_key_pin
from tests.browser.isolated_net import isolated_executable
from tests.e2e.checks import Client
from tests.e2e.conftest import docker_engine  # noqa: F401  (the fixture, shared with tests/e2e)
from tests.e2e.harness import RealDeployment, containers_of, remove_stack
from tests.engine.servers import pg_from_env
from tests.prerequisites import unavailable
from tests.slot import Slot


@pytest.fixture(scope="session")
def aio() -> Iterator[asyncio.AbstractEventLoop]:
    """Playwright's async objects belong to one loop; every test runs its coroutines on this one."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def playwright(aio) -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        unavailable("Debian's chromium is not installed", "apt-get install chromium (scripts/setup)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        unavailable("the playwright package is not installed", "requirements.txt (scripts/setup)")
    manager = async_playwright()
    driver = aio.run_until_complete(manager.start())
    yield driver
    aio.run_until_complete(manager.__aexit__(None, None, None))


class Browsers:
    """Launches chromium pinned to the server keys of the stacks the test reaches."""

    def __init__(self, aio: asyncio.AbstractEventLoop, driver: Any):
        self.aio, self.driver = aio, driver
        self.launched: list[Any] = []
        self.isolations: list[Any] = []

    def for_targets(self, *targets: Target) -> Any:
        pins = [server_key_pin(t.url, t.ca_file) for t in targets]
        executable, isolation = isolated_executable(
            chromium_path(), [urlsplit(t.url).port or 443 for t in targets])
        if isolation is not None:
            self.isolations.append(isolation)
        browser = self.aio.run_until_complete(launch(self.driver, pins, executable))
        self.launched.append(browser)
        return browser

    def close(self) -> None:
        for browser in self.launched:
            self.aio.run_until_complete(browser.close())
        for isolation in self.isolations:
            isolation.stop()


@pytest.fixture
def browsers(aio, playwright) -> Iterator[Browsers]:
    found = Browsers(aio, playwright)
    yield found
    found.close()


# --- stacks -------------------------------------------------------------------------------------

@contextlib.contextmanager
def deployed(slot: Slot, values: dict[str, Any], tmp_path_factory: Any) -> Iterator[RealDeployment]:
    """The slot's stack from nothing, deployed (see deploy()), destroyed and cleaned up afterwards."""
    database = slot.database if values["database"]["type"] == "postgresql" else None
    secret_keys = ("databaseAdminPassword",) if "databaseAdminPassword" in values else ()
    cleanup_stack(slot.stack, slot.network, slot.volume, database)
    deployment = deploy(slot.stack, values, tmp_path_factory, secret_keys=secret_keys)
    yield deployment
    deployment.destroy()
    cleanup_stack(slot.stack, slot.network, slot.volume, database)


def cleanup_stack(stack: str, network: str, volume: str, database: Optional[str] = None) -> None:
    """Remove what a stack left: containers, network, data volume, and its PostgreSQL database
    and role on the test server (scripts/db-servers) when it had one."""
    remove_stack(stack, network, volume)
    if database:
        server = pg_from_env()
        server.run(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        server.run(f'DROP ROLE IF EXISTS "{database}"')


def deploy(stack: str, values: dict[str, Any], tmp_path_factory: Any,
           secret_keys: tuple[str, ...] = ()) -> RealDeployment:
    """`up` a stack and wait until it answers; the deployment gets .target, .client, .url."""
    deployment = RealDeployment(stack, values, secret_keys=secret_keys)
    started = time.monotonic()
    deployment.up()
    deployment.deploy_seconds = time.monotonic() - started
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca_file.write_text(deployment.ca_certificate)
    deployment.url = values["publicUrl"]
    deployment.client = Client(deployment.url, ca_file)
    deployment.client.wait_healthy()
    # "As configured": the SameSite value the deployed app was given (components/app_env.py).
    app_env = dict(e.split("=", 1) for e in containers_of(stack, "app")[0]["Config"]["Env"])
    deployment.target = Target(url=deployment.url, ca_file=ca_file,
                               admin_email=values["admin"]["email"],
                               admin_password=deployment.admin_password,
                               same_site=app_env["WEBUI_AUTH_COOKIE_SAME_SITE"].capitalize())
    print(f"{stack}: deployed and healthy in {deployment.deploy_seconds:.1f}s")
    return deployment



def add_users(deployment: RealDeployment, count: int, prefix: str) -> list[tuple[str, str]]:
    """`count` ordinary accounts (email, password), added by the admin through the API."""
    token = deployment.client.token(deployment.target.admin_email, deployment.admin_password)
    users = []
    for index in range(count):
        email, password = f"{prefix}-{index}@example.com", f"Crowd-password-{index}-x9"
        response = deployment.client.add_user(token, email, password)
        assert response.status_code == 200, response.text[:300]
        users.append((email, password))
    return users
