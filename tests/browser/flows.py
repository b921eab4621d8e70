"""What a person does in Open WebUI with a real browser, and what the browser saw meanwhile.

Each flow returns a list of problems (empty when everything held) instead of asserting, so the same
flow proves a stack good and, against a deliberately broken proxy, proves that it can fail.

The browser is Debian's chromium driven by Playwright (`executable_path`; nothing is downloaded).
It trusts exactly the stack's server key: Python verifies the certificate chain against the stack's
CA and the host name first, then Chromium gets that key's hash in
`--ignore-certificate-errors-spki-list` (Chromium's switch for pinning a test server's key).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
SIGNIN_PATH = "/api/v1/auths/signin"
AUTH_LIMITED = ("/api/v1/auths/signin", "/api/v1/auths/signup", "/api/v1/auths/ldap")
# Responses >= 400 the web app asks for on purpose, as (method, path regex, status, why).
EXPECTED_ERRORS: tuple[tuple[str, str, int, str], ...] = (
    # Before sign-in the app asks who is signed in; "nobody" is 401 (routers/auths.py
    # get_session_user via utils/auth.py get_current_user).
    ("GET", r"^/api/v1/auths/$", 401, "session probe before sign-in"),
    # The sidebar asks for the channel list; with channels off (ENABLE_CHANNELS, default false)
    # the answer is 403 (routers/channels.py check_channels_access).
    ("GET", r"^/api/v1/channels/$", 403, "channel list while channels are off"),
)


# Error messages the app shows (toasts) that are known and not the proxy's: (regex, why).
KNOWN_APP_ERRORS: tuple[tuple[str, str], ...] = (
    # The local image is Open WebUI's slim variant (no torch, USE_SLIM_DOCKER=true); with the
    # default VECTOR_DB=chroma it refuses to index an uploaded file (routers/retrieval.py
    # index_file). The file is stored and listed all the same.
    (r"Slim requires PostgreSQL/pgvector for vector storage", "slim image without pgvector"),
)


def chromium_path() -> Optional[str]:
    return next((p for p in CHROMIUM_PATHS if Path(p).exists()), None)


def server_key_pin(url: str, ca_file: Path) -> str:
    """base64 SHA-256 of the server's public key, after verifying its chain and name with the CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection((parts.hostname, parts.port or 443), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            der = tls.getpeercert(binary_form=True)
    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@dataclass
class Target:
    """One stack as the browser reaches it."""

    url: str
    ca_file: Path
    admin_email: str
    admin_password: str
    # SameSite of the app's cookies as Playwright spells it ("Strict", "Lax", "None"); the
    # fixtures read it from the deployed app's WEBUI_AUTH_COOKIE_SAME_SITE.
    same_site: str = "Strict"

    @property
    def websocket_prefix(self) -> str:
        return self.url.replace("https://", "wss://") + "/ws/socket.io/"


@dataclass
class Seen:
    """Everything one browser context saw."""

    responses: list[tuple[str, str, int]] = field(default_factory=list)  # method, url, status
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    websockets: list[dict[str, Any]] = field(default_factory=list)
    in_flight: set[Any] = field(default_factory=set)
    expected_seen: list[str] = field(default_factory=list)
    last_activity: float = field(default_factory=time.monotonic)
    mark: int = 0  # responses before this index were already judged

    def attach(self, context: Any) -> None:
        context.on("request", self._started)
        context.on("response", self._answered)
        context.on("console", lambda m: self.console_errors.append(
            f"{m.text} ({m.location.get('url', '')})") if m.type == "error" else None)
        context.on("weberror", lambda e: self.page_errors.append(str(e.error)))
        context.on("requestfailed", self._failed)
        context.on("page", self._page)

    def _started(self, request: Any) -> None:
        self.in_flight.add(request)
        self.last_activity = time.monotonic()

    def _answered(self, response: Any) -> None:
        # Answered counts as done: the app leaves some bodies unread (e.g. its time-zone POST),
        # and Playwright reports those requests finished only when the body is read.
        self.responses.append((response.request.method, response.url, response.status))
        self.in_flight.discard(response.request)
        self.last_activity = time.monotonic()

    async def settled(self, quiet: float = 0.7, seconds: float = 30) -> None:
        """Until no HTTP request has waited for an answer for `quiet` seconds (websockets do not
        count).
        Playwright's "networkidle" is not used: it waits for every connection of the page."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.in_flight and time.monotonic() - self.last_activity >= quiet:
                return
            await asyncio.sleep(0.1)
        pending = sorted(f"{r.method} {r.url}" for r in self.in_flight)
        raise TimeoutError(f"requests still open after {seconds}s: {pending[:10]}")

    def _failed(self, request: Any) -> None:
        self.in_flight.discard(request)
        self.last_activity = time.monotonic()
        failure = request.failure or ""
        # A request the page itself cancels (navigation away, an aborted fetch) is not a failure.
        if "ERR_ABORTED" not in failure:
            self.failed_requests.append(f"{request.method} {request.url}: {failure}")

    def _page(self, page: Any) -> None:
        page.on("websocket", self._websocket)

    def _websocket(self, ws: Any) -> None:
        record: dict[str, Any] = {"url": ws.url, "received": [], "closed": False, "error": None}
        ws.on("framereceived", lambda payload: record["received"].append(
            payload if isinstance(payload, str) else "<binary>"))
        ws.on("close", lambda _ws: record.update(closed=True))
        ws.on("socketerror", lambda err: record.update(error=err))
        self.websockets.append(record)

    def connected_websockets(self, prefix: str) -> list[dict[str, Any]]:
        """Socket.IO websockets under `prefix` whose server said 'connected' (packet `40`)."""
        return [ws for ws in self.websockets if ws["url"].startswith(prefix)
                and any(frame.startswith("40") for frame in ws["received"])]

    def problems(self, step: str, target: Target,
                 also_expected: Callable[[str, str, int], bool] = lambda m, p, s: False) -> list[str]:
        """Unexpected responses >= 400, console and page errors, failed requests (then cleared)."""
        found = []
        for method, url, status in self.responses[self.mark:]:
            if status < 400:
                continue
            path = urlsplit(url).path
            if also_expected(method, path, status) or any(
                    method == m and re.match(p, path) and status == s
                    for m, p, s, _ in EXPECTED_ERRORS):
                self.expected_seen.append(f"{status} {method} {path}")
                continue
            found.append(f"{step}: {status} on {method} {url}")
        self.mark = len(self.responses)
        # Chromium logs each response >= 400 as a console error naming the URL; those of the
        # expected responses are expected too. Every other console error is a problem.
        expected_urls = [e.split(" ", 2)[2] for e in self.expected_seen]
        self.console_errors[:] = [
            text for text in self.console_errors
            if not (text.startswith("Failed to load resource: the server responded with a status")
                    and any(urlsplit(text.rsplit("(", 1)[-1].rstrip(")")).path == path
                            for path in expected_urls))]
        found += [f"{step}: console error: {text}" for text in self.console_errors]
        found += [f"{step}: page error: {text}" for text in self.page_errors]
        found += [f"{step}: request failed: {text}" for text in self.failed_requests]
        self.console_errors.clear()
        self.page_errors.clear()
        self.failed_requests.clear()
        return found


async def launch(playwright: Any, pins: list[str], executable: Optional[str] = None) -> Any:
    return await playwright.chromium.launch(
        executable_path=executable or chromium_path(), headless=True,
        args=[f"--ignore-certificate-errors-spki-list={','.join(pins)}"])


async def new_context(browser: Any, timeout: float = 30) -> tuple[Any, Seen]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(timeout * 1000)
    context.set_default_navigation_timeout(timeout * 1000)
    seen = Seen()
    seen.attach(context)
    return context, seen


def cookie_problems(cookies: list[dict[str, Any]], target: Target, step: str) -> list[str]:
    found = []
    for cookie in cookies:
        if urlsplit(target.url).hostname not in cookie["domain"]:
            continue
        flags = (cookie["secure"], cookie["httpOnly"], cookie["sameSite"])
        if flags != (True, True, target.same_site):
            found.append(f"{step}: cookie {cookie['name']} has secure, httpOnly, sameSite = {flags}")
    return found


async def signup_link_problems(page: Any, step: str) -> list[str]:
    offered = await page.get_by_text(re.compile(r"sign\s*up", re.I)).count()
    return [f"{step}: the sign-in page offers sign-up"] if offered else []


async def sign_in(page: Any, target: Target, email: str, password: str) -> None:
    await page.goto(target.url + "/auth")
    await page.locator("input[type=email]").fill(email)
    await page.locator("input[type=password]").fill(password)
    await page.locator("button[type=submit]").click()


async def wait_socket(seen: Seen, target: Target, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if seen.connected_websockets(target.websocket_prefix):
            return True
        await asyncio.sleep(0.2)
    return False


class Journey:
    """Sign in, new chat, websocket, upload, admin settings, sign out; a screenshot per step."""

    def __init__(self, browser: Any, target: Target, out_dir: Path):
        self.browser, self.target, self.out_dir = browser, target, out_dir
        self.problems: list[str] = []
        self.toasts: list[str] = []
        self.timings: dict[str, float] = {}
        self.screenshots: list[Path] = []

    async def _step_done(self, page: Any, seen: Seen, context: Any, step: str) -> None:
        path = self.out_dir / f"{len(self.screenshots) + 1:02d}-{step}.png"
        await page.screenshot(path=str(path))
        for text in await error_toasts(page):
            if text not in self.toasts:
                self.toasts.append(text)
                if not any(re.search(known, text) for known, _why in KNOWN_APP_ERRORS):
                    self.problems.append(f"{step}: error shown to the user: {text}")
        self.screenshots.append(path)
        self.problems += seen.problems(step, self.target)
        self.problems += cookie_problems(await context.cookies(), self.target, step)

    async def run(self, upload: Path, until: str = "signed-out") -> list[str]:
        """The problems seen; `until` names the last step to take (the negative controls stop
        early: a broken proxy shows at sign-in, and each later step would wait out its timeout)."""
        target = self.target
        context, seen = await new_context(self.browser)
        try:
            page = await context.new_page()
            started = time.monotonic()
            await page.goto(target.url + "/auth")
            await page.locator("input[type=password]").wait_for()
            await seen.settled()
            self.problems += await signup_link_problems(page, "sign-in-page")
            await self._step_done(page, seen, context, "sign-in-page")

            await sign_in(page, target, target.admin_email, target.admin_password)
            await page.wait_for_url(re.compile(re.escape(target.url) + r"/?(\?.*)?$"))
            await page.locator("#chat-input").wait_for()
            # The websocket first: on a broken proxy the page still renders, the socket never opens.
            if not await wait_socket(seen, target):
                self.problems.append("signed-in: no Socket.IO websocket connected over "
                                     f"{target.websocket_prefix} ({seen.websockets})")
            await dismiss_release_notes(page)
            token = [c for c in await context.cookies() if c["name"] == "token"]
            if not token:
                self.problems.append("signed-in: no token cookie after sign-in")
            await seen.settled()
            self.timings["sign-in"] = time.monotonic() - started
            await self._step_done(page, seen, context, "signed-in")
            if until == "signed-in":
                return self.problems

            # The collapsed sidebar's pencil or the open sidebar's entry, whichever is shown.
            await page.locator("a[aria-label='New Chat']:visible").first.click()
            await page.locator("#chat-input").wait_for()
            await seen.settled()
            await self._step_done(page, seen, context, "new-chat")

            async with page.expect_response(lambda r: urlsplit(r.url).path == "/api/v1/files/"
                                            and r.request.method == "POST") as answer:
                # The chat input's attachment field (the "+" menu's "Upload Files" opens it).
                await page.locator("input[type=file]:not(#camera-input)").first.set_input_files(
                    str(upload))
            response = await answer.value
            if response.status != 200:
                self.problems.append(f"upload: POST /api/v1/files/ answered {response.status}")
            await page.get_by_text(upload.name).first.wait_for()
            # Until the file item stops spinning: stored and indexed (or its indexing refused),
            # so the step's screenshot and notices show the outcome (common/Spinner.svelte).
            await page.locator("path[class*='spinner_ajPY']").first.wait_for(state="hidden")
            await seen.settled()
            await self._step_done(page, seen, context, "uploaded")

            await page.goto(target.url + "/admin/settings")
            await page.wait_for_url(re.compile(r"/admin/settings"))
            # Admin-only sections of the settings (a non-admin is sent elsewhere).
            await page.get_by_text("Authentication", exact=True).first.wait_for()
            await page.get_by_text("Connections", exact=True).first.wait_for()
            await seen.settled()
            await self._step_done(page, seen, context, "admin-settings")

            await sign_out(page, target)
            await page.wait_for_url(re.compile(r"/auth"))
            await page.locator("input[type=password]").wait_for()
            if [c for c in await context.cookies() if c["name"] == "token"]:
                self.problems.append("signed-out: the token cookie is still set")
            self.problems += await signup_link_problems(page, "signed-out")
            await self._step_done(page, seen, context, "signed-out")
            self.timings["journey"] = time.monotonic() - started
        except Exception as err:  # a step that never completes is a problem, with the evidence
            self.problems.append(f"journey stopped: {type(err).__name__}: {str(err)[:400]}")
            self.problems += seen.problems("at the stop", target)
            try:
                path = self.out_dir / "stopped.png"
                await context.pages[-1].screenshot(path=str(path))
                self.screenshots.append(path)
            except Exception:
                pass
        finally:
            await context.close()
        return self.problems


async def error_toasts(page: Any) -> list[str]:
    """Texts of the error and warning notices on screen (svelte-sonner toasts; the app shows an
    HTTP error of a background step as a warning, e.g. the upload's indexing)."""
    return [text.strip() for text in await page.locator(
        "[data-sonner-toast][data-type='error'], [data-sonner-toast][data-type='warning']"
    ).all_inner_texts()]


async def dismiss_release_notes(page: Any) -> None:
    """The first sign-in after an upgrade (or ever) opens "What's New"; a person closes it."""
    button = page.get_by_role("button", name=re.compile("Okay, Let's Go", re.I))
    try:
        await button.wait_for(timeout=5_000)
    except Exception:
        return
    await button.click()
    await button.wait_for(state="hidden")


async def sign_out(page: Any, target: Target) -> None:
    """Through the user menu, as a person would."""
    await page.goto(target.url + "/")
    await page.locator("#chat-input").wait_for()
    await page.locator("button[aria-label='User menu']:visible").first.click()
    await page.get_by_text(re.compile(r"^\s*sign out\s*$", re.I)).first.click()


async def crowd(browser: Any, target: Target, users: list[tuple[str, str]]) -> dict[str, Any]:
    """One browser context per (email, password), all from this machine's one address, loading
    the sign-in page and signing in at once. What they saw: problems other than the auth
    endpoints' configured limits, how many signed in, statuses by code."""
    # Twenty pages rendering at once on a two-core machine are slow; the limits are what is
    # judged here, not the speed.
    contexts = [await new_context(browser, timeout=180) for _ in users]

    async def one(context: Any, seen: Seen, email: str, password: str) -> bool:
        page = await context.new_page()
        await page.goto(target.url + "/auth")
        await page.locator("input[type=password]").wait_for()
        await page.locator("input[type=email]").fill(email)
        await page.locator("input[type=password]").fill(password)
        async with page.expect_response(lambda r: urlsplit(r.url).path == SIGNIN_PATH) as answer:
            await page.locator("button[type=submit]").click()
        if (await answer.value).status != 200:
            return False
        await page.locator("#chat-input").wait_for()
        await seen.settled(seconds=180)
        return True

    def auth_limit(method: str, path: str, status: int) -> bool:
        return status == 429 and path in AUTH_LIMITED

    started = time.monotonic()
    results = await asyncio.gather(*(one(c, s, e, p) for (c, s), (e, p) in zip(contexts, users, strict=True)),
                                   return_exceptions=True)
    elapsed = time.monotonic() - started
    problems: list[str] = []
    statuses: dict[str, int] = {}
    signed_in = auth_429 = 0
    for index, (result, (context, seen)) in enumerate(zip(results, contexts, strict=True)):
        if isinstance(result, BaseException):
            problems.append(f"user {index}: {type(result).__name__}: {str(result)[:300]}")
        elif result:
            signed_in += 1
        for _method, url, status in seen.responses:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            auth_429 += status == 429 and urlsplit(url).path in AUTH_LIMITED
        problems += seen.problems(f"user {index}", target, also_expected=auth_limit)
        await context.close()
    return {"problems": problems, "signed_in": signed_in, "auth_429": auth_429,
            "statuses": statuses, "seconds": round(elapsed, 1), "requests": sum(statuses.values())}


async def wrong_password_burst(browser: Any, target: Target, attempts: int) -> list[list[Any]]:
    """`attempts` sign-ins with wrong passwords sent at once from a page of the stack, each for a
    different unknown address (so only the proxy's per-address limit can stop them, not the app's
    own per-account one, routers/auths.py signin_rate_limiter): [status, content type] of each."""
    context, _seen = await new_context(browser)
    try:
        page = await context.new_page()
        await page.goto(target.url + "/auth")
        return await page.evaluate("""async (attempts) => Promise.all(
            Array.from({length: attempts}, (_, i) => fetch('/api/v1/auths/signin', {
                method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({email: `nobody-${i}-${Date.now()}@example.com`,
                                      password: 'wrong-password-' + Math.random()})})
              .then(r => [r.status, r.headers.get('content-type') || ''])))""", attempts)
    finally:
        await context.close()
