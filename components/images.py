"""Image references: parsing and the tag rules (which tags are pinned, which float)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

# The open-webui-next image's tags: `vX.Y.Z-slim` and `git-<sha>-slim` are pinned; `slim`, `main-slim`, `main`,
# `latest` follow a branch. Full release numbers (`0.12.4`, Debian's `1.22.1-9-deb12u11`) are pinned
# too; `1` or `1.2` are not (they move with releases). The policy pack applies the same rule.
_PINNED_TAG = re.compile(r"^(v?[0-9]+\.[0-9]+\.[0-9]+(-[A-Za-z0-9][A-Za-z0-9._-]*)?|git-[0-9a-f]{7,40}(-slim)?)\Z")
_FLOATING_TAGS = frozenset({"latest", "main", "slim", "main-slim", "dev", "nightly", "edge",
                            "stable", "cuda", "ollama"})
_REFERENCE = re.compile(
    r"^(?P<name>[a-z0-9]+([._-]{1,2}[a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(@(?P<digest>sha256:[0-9a-f]{64}))?\Z"
)


@dataclass(frozen=True)
class ImageRef:
    name: str
    tag: Optional[str]
    digest: Optional[str]

    @property
    def floating(self) -> bool:
        if self.digest:
            return False
        if self.tag is None or self.tag in _FLOATING_TAGS:
            return True
        return not _PINNED_TAG.match(self.tag)

    def describe(self) -> str:
        if self.digest:
            return f"digest {self.digest[:19]}…"
        return f"tag {self.tag}" if self.tag else "no tag, which means latest"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image_ref(reference: str) -> ImageRef:
    match = _REFERENCE.match(reference or "")
    if not match:
        raise ValueError(f"{reference!r} is not an image reference such as "
                         "registry.example.com/owner/open-webui-next:v1.2.3-slim")
    return ImageRef(match["name"], match["tag"], match["digest"])
