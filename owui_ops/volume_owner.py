"""Who owns the data directory, and giving it to the app's user: run inside the app image.

    volume-owner owner DIR              "uid:gid" of DIR, or "absent" (the image probe)
    volume-owner probe UID GID DIR      JSON: entries under DIR (DIR included) not owned by UID:GID
    volume-owner take-over UID GID DIR  lchown every such entry to UID:GID; JSON counts
    volume-owner check UID GID DIR      exit 0 when DIR itself is owned by UID:GID

(`python3 -m owui_ops volume-owner ...`.) Only the standard library: it runs with whatever python3 the app image
has (upstream's and ours), from the package's read-only volume (owui_ops.steps).
take-over needs CAP_CHOWN and nothing else when the tree belongs to root (as a root-run upstream
container leaves it): root reads and searches its own directories through their owner bits, so no
DAC capability is needed. A directory it still cannot read is reported and makes it fail.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Iterator


def walk(top: str, errors: list[str]) -> Iterator[str]:
    """Every path under top (top first), without following symlinks; unreadable dirs into errors."""
    yield top
    for root, dirs, files in os.walk(top, onerror=lambda e: errors.append(f"{e.filename}: {e.strerror}")):
        for name in dirs + files:
            yield os.path.join(root, name)


def foreign(top: str, uid: int, gid: int, errors: list[str]) -> Iterator[tuple[str, os.stat_result]]:
    for path in walk(top, errors):
        try:
            st = os.lstat(path)
        except OSError as err:
            errors.append(f"{path}: {err.strerror}")
            continue
        if (st.st_uid, st.st_gid) != (uid, gid):
            yield path, st


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "owner":
        try:
            st = os.stat(argv[1])
        except FileNotFoundError:
            print("absent")
            return 0
        print(f"{st.st_uid}:{st.st_gid}")
        return 0
    if len(argv) != 4 or argv[0] not in ("probe", "take-over", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    command, uid, gid, top = argv[0], int(argv[1]), int(argv[2]), argv[3]
    if command == "check":
        st = os.stat(top)
        return 0 if (st.st_uid, st.st_gid) == (uid, gid) else 1
    errors: list[str] = []
    owners: dict[str, int] = {}
    changed = 0
    # The whole tree is read before anything changes hands: a directory chowned to the app user first
    # (mode 0700, say) could no longer be listed by a root without DAC capabilities. Deepest first.
    for path, st in reversed(list(foreign(top, uid, gid, errors))):
        key = f"{st.st_uid}:{st.st_gid}"
        owners[key] = owners.get(key, 0) + 1
        if command == "take-over":
            try:
                os.lchown(path, uid, gid)
                changed += 1
            except OSError as err:
                errors.append(f"{path}: {err.strerror}")
    result: dict[str, object] = {"foreign": sum(owners.values()), "owners": owners, "unreadable": errors[:20],
              "errors": len(errors)}
    if command == "take-over":
        result["changed"] = changed
    print(json.dumps(result, sort_keys=True))
    return 1 if command == "take-over" and errors else 0
