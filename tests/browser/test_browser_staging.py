"""The staging shape (external PostgreSQL, one app container) through a real browser: the same
journey as on dev, with the CSP enforced."""

from __future__ import annotations

import pytest

from tests.browser.conftest import deployed
from tests.browser.flows import Journey
from tests.prerequisites import require
from tests.slot import Slot

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.docker, pytest.mark.realdb]

SLOT = Slot("staging-browser", 19643, 19680, "172.30.141.0/24")


@pytest.fixture(scope="module")
def staging(docker_engine, tmp_path_factory):
    require(["pg_isready", "-h", "127.0.0.1"], "the PostgreSQL test server")
    values = SLOT.values("staging", tmp_path_factory.mktemp("backups"))
    with deployed(SLOT, values, tmp_path_factory) as deployment:
        yield deployment


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
