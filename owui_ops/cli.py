"""`python3 -m owui_ops <command> ...` (scripts/owui on the operator's machine; `python3 -m owui_ops` in the
tools image and, from the package volume, in app images).

Commands are imported only when chosen: the volume probe runs with whatever python3 an app image has and must
not import SQLAlchemy or anything else it may lack.
"""

from __future__ import annotations

import importlib
import sys
from typing import Optional

from owui_ops import dockerhost

# command -> (module, what it does). The operator's commands take the stack's name; the others run in containers.
COMMANDS = {
    "backup": ("owui_ops.operate", "one backup of a stack now"),
    "backups": ("owui_ops.operate", "list a stack's backups"),
    "restore": ("owui_ops.operate", "restore a backup into a stack"),
    "rollback": ("owui_ops.operate", "back to the previous image"),
    "status": ("owui_ops.operate", "versions, revision, backups, certificate, health"),
    "backup-tool": ("owui_ops.backup", "in the tools image: run|loop|list|prune|verify|restore|health|prepare-dir"),
    "migrate": ("owui_ops.migrate", "in the app image: status|backup|upgrade"),
    "config-guard": ("owui_ops.config_guard", "in the app image: pin the settings the stack owns"),
    "volume-owner": ("owui_ops.volume_owner", "in the app image: owner|probe|take-over|check"),
    "step": ("owui_ops.steps", "the stack's one-shot steps: migration|volume-owner"),
    # With a stack name: the operator's move (owui_ops.movestack); with options only: the copy in a container.
    "move-database": ("owui_ops.movestack", "move a stack's SQLite data to PostgreSQL/MySQL (--to), or --rollback"),
    "docker": ("owui_ops.dockerhost", "the docker CLI against DOCKER_HOST, over SSH with OWUI_DOCKER_SSH_OPTS"),
}
# The operator's commands parse their own command name (scripts/owui backup <stack> ...).
OPERATOR = ("backup", "backups", "restore", "rollback", "status")


def usage() -> str:
    width = max(len(c) for c in COMMANDS)
    return "usage: python3 -m owui_ops <command> ...\n\n" + "\n".join(
        f"  {command:<{width}}  {what}" for command, (_, what) in COMMANDS.items())


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(usage(), file=sys.stderr if argv and argv[0] not in ("-h", "--help") else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    # A step's DOCKER_HOST may be ssh://: every docker CLI this process starts goes through the provider's own
    # connection then (owui_ops/dockerhost.py); unix:// and unset are left as they are.
    dockerhost.activate()
    module = importlib.import_module(COMMANDS[argv[0]][0])
    run = module.main
    return int(run(argv) if argv[0] in OPERATOR else run(argv[1:]))
