"""Failures and secret hygiene shared by every ops command.

A command fails by raising Fail(exit code, message); its entry point prints the message (scrubbed) and exits
with the code. Every secret a command learns (a database password, a backup key) is remembered here, in its
raw and URL-encoded forms, and `scrub` replaces each with *** in anything printed: error text from pg_dump,
mysql or docker included.
"""

from __future__ import annotations

import datetime as dt
import sys
import urllib.parse
from typing import NoReturn, Optional


class Fail(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def die(code: int, message: str) -> NoReturn:
    raise Fail(code, message)


_SECRETS: list[str] = []


def secret_forms(value: str) -> tuple[str, str, str]:
    """The forms a secret takes in text: raw, percent-encoded (in a URL) and form-encoded."""
    return value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)


def remember_secret(value: Optional[str], *, minimum: int = 1) -> None:
    """Scrub `value` (and its percent-encoded forms) from everything printed from now on. `minimum`: the
    operator CLI skips very short values it reads from containers, which would garble unrelated output."""
    if value and len(value) >= minimum:
        for form in secret_forms(value):
            if form and form not in _SECRETS:
                _SECRETS.append(form)


def scrub(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return scrub(f"{type(exc).__name__}: {text[0] if text else ''}")


def log(tool: str, message: str, *, stamp: bool = False) -> None:
    """One scrubbed line on stderr, `tool: message` (with a UTC time stamp for long-running jobs)."""
    prefix = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ ") if stamp else ""
    print(f"{prefix}{tool}: {scrub(message)}", file=sys.stderr, flush=True)
