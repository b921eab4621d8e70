"""The ops-package volume (owui_ops/steps.py ops_volume): filled and checked once per tools image, then found by
its mark without a container; a volume whose mark is missing (a fill that never ended) or whose content volume
is gone is filled and checked again. Against the real daemon, with a tools image of the test's own (a label on
the built one: another image id, so other volumes of the suite are never touched)."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator

import pytest

from owui_ops import steps
from owui_ops.steps import OPS_MOUNT, ops_volume
from tests.ops.conftest import Images
from tests.ops.fakestack import docker

pytestmark = pytest.mark.docker


@pytest.fixture
def own_tools_image(images: Images) -> Iterator[str]:
    tag = f"openwebui-test/tools-ops-volume:{secrets.token_hex(4)}"
    subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=f"FROM {images.tools}\nLABEL test={tag}\n",
                   text=True, check=True, capture_output=True)
    image_id = docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
    name = f"openwebui-ops-{image_id.split(':', 1)[-1][:12]}"
    yield tag
    docker("volume", "rm", "-f", name, f"{name}-ready", check=False)
    docker("image", "rm", tag, check=False)


def _runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    real = steps.docker

    def recording(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(steps, "docker", recording)
    return calls


def _package_importable(volume: str, app_image: str) -> bool:
    done = docker("run", "--rm", "--network", "none", "--user", "1000:1000", *steps.app_python(volume), app_image,
                  "-c", "import owui_ops.cli", check=False)
    return done.returncode == 0


def test_filled_once_then_found_by_its_mark(own_tools_image: str, images: Images,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _runs(monkeypatch)
    name = ops_volume(own_tools_image, "opsvol")
    assert [c[0] for c in calls].count("run") == 1, calls
    assert docker("volume", "inspect", name, f"{name}-ready", check=False).returncode == 0
    assert _package_importable(name, images.app)

    calls.clear()
    assert ops_volume(own_tools_image, "opsvol") == name
    assert [c[0] for c in calls] == ["image", "volume"], calls  # no container, no volume created

    # The mark lost (as after a fill that never ended): filled and checked again, the mark made again.
    docker("volume", "rm", f"{name}-ready")
    calls.clear()
    assert ops_volume(own_tools_image, "opsvol") == name
    assert [c[0] for c in calls].count("run") == 1 and ("volume", "inspect", name, f"{name}-ready") in calls
    assert docker("volume", "inspect", f"{name}-ready", check=False).returncode == 0

    # The content volume gone, its mark still there: created and filled again, not trusted by the mark alone.
    docker("volume", "rm", name)
    calls.clear()
    assert ops_volume(own_tools_image, "opsvol") == name
    assert [c[0] for c in calls].count("run") == 1, calls
    assert _package_importable(name, images.app), f"{OPS_MOUNT} is empty after the refill"
