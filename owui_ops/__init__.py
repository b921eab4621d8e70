"""owui_ops: the day-2 tools of the Open WebUI stack as one package (standard library, plus SQLAlchemy/Alembic
where the app image provides them). `python3 -m owui_ops --help` lists the commands; owui_ops.cli dispatches."""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def fingerprint(*extra: Path) -> str:
    """A short hash of the package's modules (and `extra` files): the stack's steps run again when it changes."""
    digest = hashlib.sha256()
    for path in [*sorted(PACKAGE_DIR.glob("*.py")), *extra]:
        digest.update(path.name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return digest.hexdigest()[:16]
