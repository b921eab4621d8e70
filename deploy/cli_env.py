"""``python -m deploy.cli_env ARGS``: the pulumi CLI with the engine environment deploy/ uses (scripts/pulumi)."""

from __future__ import annotations

import os
import sys

from deploy.stack import Engine


def main() -> None:
    engine = Engine.create()
    os.execvpe(engine.command.command, [engine.command.command, *sys.argv[1:]], {**os.environ, **engine.env})


if __name__ == "__main__":
    main()
