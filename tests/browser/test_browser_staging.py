"""The staging shape (external PostgreSQL, one app container) through a real browser: the same
journey as on dev, with the CSP enforced."""

from __future__ import annotations

import pytest

from tests.browser.conftest import cleanup_stack, deploy
from tests.browser.flows import Journey
from tests.conftest import stack_config
from tests.engine.servers import pg_from_env
from tests.prerequisites import require

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.docker, pytest.mark.realdb]

STACK = "staging-browser"
NETWORK, VOLUME = "openwebui-staging-browser", "openwebui-staging-browser-data"
HTTPS_PORT, HTTP_PORT = 19643, 19680
DATABASE = "openwebui_browser_staging"


@pytest.fixture(scope="module")
def staging(docker_engine, tmp_path_factory):
    require(["pg_isready", "-h", "127.0.0.1"], "the PostgreSQL test server")
    values = stack_config("staging")
    values.update({
        "environment": "staging",
        "publicUrl": f"https://localhost:{HTTPS_PORT}",
        "databaseAdminPassword": pg_from_env().admin_password,
        "database": {**values["database"], "name": DATABASE, "user": DATABASE},
        "proxy": {**values["proxy"], "httpsPort": HTTPS_PORT, "httpPort": HTTP_PORT},
        "network": {"subnet": "172.30.141.0/24", "name": NETWORK},
        "storage": {"volumeName": VOLUME},
        "migration": {"backupDir": str(tmp_path_factory.mktemp("backups"))},
    })
    cleanup_stack(STACK, NETWORK, VOLUME, DATABASE)
    deployment = deploy(STACK, values, tmp_path_factory, secret_keys=("databaseAdminPassword",))
    yield deployment
    deployment.destroy()
    cleanup_stack(STACK, NETWORK, VOLUME, DATABASE)


def test_journey_on_postgresql_with_enforced_csp(staging, browsers, aio, tmp_path, tmp_path_factory):
    assert "Content-Security-Policy" in staging.client.get("/auth").headers
    upload = tmp_path_factory.mktemp("upload") / "staging-upload-notes.txt"
    upload.write_text("Notes uploaded by the browser suite to staging.\n" * 20)
    journey = Journey(browsers.for_targets(staging.target), staging.target, tmp_path)
    problems = aio.run_until_complete(journey.run(upload))
    print(f"journey timings: {journey.timings}; notices shown: {journey.toasts}; "
          f"screenshots in {tmp_path}")
    assert problems == []
    assert len(journey.screenshots) == 6
