"""The local images' names, asked of the one place that makes them: `images/build --print-names` (each recipe's
REPO and tag rule). Tests and benches take their image references from here instead of writing them out.

OWUI_NEW_VERSION / OWUI_OLD_VERSION choose the Open WebUI releases the upgrade tests and benches use (the same
variables images/measure-times reads)."""

from __future__ import annotations

import functools
import os
import subprocess

from deploy.toolchain import ROOT

BUILD = ROOT / "images" / "build"
NEW_VERSION = os.environ.get("OWUI_NEW_VERSION", "0.12.4")
OLD_VERSION = os.environ.get("OWUI_OLD_VERSION", "0.12.0")


@functools.cache
def name(image: str, version: str = "") -> str:
    """`images/build --print-names IMAGE [VERSION]`: the reference the build gives that image."""
    done = subprocess.run([str(BUILD), "--print-names", image, *([version] if version else [])],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"images/build --print-names {image} {version}: {done.stderr.strip()[-300:]}")
    return done.stdout.strip().splitlines()[-1]


def app(version: str = NEW_VERSION) -> str:
    """The local Open WebUI image of that release (default: the one the stacks deploy)."""
    return name("open-webui", version)


def old_app() -> str:
    """The release the upgrade tests start from."""
    return app(OLD_VERSION)
