"""The dev stack (SQLite) through a real browser: what a person does, what many people behind one
address do, and proof that the same checks fail on a proxy with a tightened limit or a broken
websocket upgrade."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser.conftest import add_users, deployed
from tests.browser.flows import Journey, Target, crowd, wrong_password_burst
from tests.slot import Slot

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.docker]

SLOT = Slot("dev-browser", 19543, 19580, "172.30.140.0/24")
# Ports of the deliberately broken proxies the negative controls put in front of the same app.
BROKEN_PORTS = {"tight": 19590, "no-upgrade": 19592, "strict-csp": 19594}
# Enough for the 20 simultaneous sign-ins below, and still a limit a burst of wrong passwords hits.
AUTH_RATE, AUTH_BURST = 60, 25
USERS = 20


@pytest.fixture(scope="module")
def dev(docker_engine, tmp_path_factory):
    values = SLOT.values("dev", tmp_path_factory.mktemp("backups"))
    values["proxy"].update({"authRatePerMinute": AUTH_RATE, "authBurst": AUTH_BURST})
    with deployed(SLOT, values, tmp_path_factory) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def upload_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("upload") / "browser-upload-notes.txt"
    path.write_text("Notes uploaded by the browser suite.\n" * 20)
    return path


def test_journey_with_enforced_csp(dev, browsers, aio, tmp_path, upload_file):
    """Sign in through the form, new chat, websocket over wss://, upload, admin settings, sign out:
    no unexpected response >= 400, no console error, cookies as configured, no sign-up link."""
    headers = dev.client.get("/auth").headers
    assert "Content-Security-Policy" in headers, "the CSP must be enforced, not report-only"
    journey = Journey(browsers.for_targets(dev.target), dev.target, tmp_path)
    problems = aio.run_until_complete(journey.run(upload_file))
    print(f"journey timings: {journey.timings}; notices shown: {journey.toasts}; "
          f"screenshots in {tmp_path}")
    assert problems == []
    assert [p.name for p in journey.screenshots] == [
        "01-sign-in-page.png", "02-signed-in.png", "03-new-chat.png", "04-uploaded.png",
        "05-admin-settings.png", "06-signed-out.png"]


def test_immutable_chunks_cached_for_a_year_and_not_connection_limited(dev):
    index = dev.client.get("/").text
    chunk = next(part.split('"')[0] for part in index.split('"/_app/immutable/')[1:])
    response = dev.client.get("/_app/immutable/" + chunk)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # The security headers are still there (an add_header in a location would have dropped them).
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response.headers
    # Pages and the API are not cached.
    assert "immutable" not in dev.client.get("/api/config").headers.get("Cache-Control", "")


def test_many_users_behind_one_address_sign_in_at_once(dev, browsers, aio):
    """20 people behind one address (browser contexts on this machine) load the sign-in page and
    sign in at the same time: no 503 and no 429 anywhere (the sign-ins fit the configured burst),
    every page complete."""
    users = add_users(dev, USERS, "crowd")
    seen = aio.run_until_complete(crowd(browsers.for_targets(dev.target), dev.target, users))
    print(f"{USERS} users at once: {seen}")
    assert seen["problems"] == []
    assert seen["signed_in"] == USERS and seen["auth_429"] == 0
    assert not {"503", "429"} & set(seen["statuses"])


def test_wrong_password_burst_still_gets_429_from_the_proxy(dev, browsers, aio):
    # Let the sign-ins above drain from the limit's bucket first (burst / rate).
    time.sleep((AUTH_BURST + 1) * 60 / AUTH_RATE)
    attempts = AUTH_BURST + 15
    answers = aio.run_until_complete(wrong_password_burst(
        browsers.for_targets(dev.target), dev.target, attempts))
    statuses = sorted(status for status, _ in answers)
    print(f"{attempts} wrong passwords at once: {statuses}")
    refused = [content for status, content in answers if status == 429]
    # The first request and the burst reach the app (and are refused by it, 400), plus what
    # refills while they arrive; nginx answers the rest with its own 429 page (HTML; the app's
    # own 429 would be JSON).
    assert AUTH_BURST + 1 <= attempts - len(refused) <= AUTH_BURST + 4, statuses
    assert set(statuses) <= {400, 401, 403, 429}
    assert all(content.startswith("text/html") for content in refused), answers


@pytest.mark.parametrize("breakage", ["tight", "no-upgrade", "strict-csp"])
def test_the_journey_fails_on_a_broken_proxy(dev, browsers, aio, tmp_path, upload_file, breakage):
    """Negative controls: the same journey against an nginx in front of the same app, rendered
    with a server-wide `limit_conn perip 10` (the old kind of limit, tightened), without the
    websocket Upgrade headers, or with a CSP that refuses inline scripts, must report the
    breakage (the last proves the CSP is enforced and its violations are caught)."""
    from tests.browser.broken_proxy import broken_proxy

    with broken_proxy(SLOT.network, tmp_path, breakage, BROKEN_PORTS[breakage]) as (url, ca_file):
        target = Target(url=url, ca_file=ca_file, admin_email=dev.target.admin_email,
                        admin_password=dev.target.admin_password)
        journey = Journey(browsers.for_targets(target), target, tmp_path)
        problems = aio.run_until_complete(journey.run(upload_file, until="signed-in"))
    print("\n".join(problems))
    if breakage == "tight":
        assert any(" 429 on GET " in p and "/_app/immutable/" in p for p in problems), problems
    elif breakage == "no-upgrade":
        assert any("no Socket.IO websocket connected" in p for p in problems), problems
    else:
        # Chromium 156: "Executing inline script violates the following Content Security
        # Policy directive 'script-src ...'".
        assert any("console error:" in p and "inline script" in p
                   and "Content Security Policy directive" in p for p in problems), problems
