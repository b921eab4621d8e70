"""``python -m deploy {up,preview,refresh,destroy,plugins} STACK``: what scripts/up, preview and destroy run."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deploy import stack_file
from deploy.stack import DeployError, Engine
from deploy.toolchain import ROOT, EngineUnavailable


def report_up(stack_name: str, outputs: dict[str, Any]) -> None:
    ca_file = ROOT / f".state-{stack_name}-ca.pem"
    ca_file.write_text(outputs.get("caCertificate") or "", encoding="utf-8")
    url = outputs.get("url", "")
    print(f"""
Open WebUI is up: {url}
  Trust the stack's CA:   curl --cacert {ca_file.name} {url}/health
  Log in as:              {outputs.get('adminEmail', '')}
  Password:               scripts/pulumi stack output adminPassword --show-secrets --stack {stack_name}""")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__.splitlines()[0])
    parser.add_argument("operation", choices=("up", "preview", "refresh", "destroy", "plugins"))
    parser.add_argument("stack")
    parser.add_argument("--expect-no-changes", action="store_true",
                        help="preview: fail when the stack would change (drift or an unsettled program)")
    parser.add_argument("--refresh", action="store_true", help="refresh the state from Docker first")
    options = parser.parse_args(argv)
    if not stack_file.path(ROOT, options.stack).exists():
        print(f"error: no {stack_file.path(ROOT, options.stack).relative_to(ROOT)}", file=sys.stderr)
        return 1
    try:
        engine = Engine.create()
    except EngineUnavailable as exc:
        print(f"error: the Pulumi engine is not available: {exc}", file=sys.stderr)
        return 1
    for choice in engine.choices:
        print(f"[plugins] {choice.describe()}", file=sys.stderr)
    if options.operation == "plugins":
        return 0
    stack = engine.stack(options.stack)
    try:
        if options.operation == "preview":
            stack.preview(expect_no_changes=options.expect_no_changes, refresh=options.refresh)
        elif options.operation == "up":
            # The plain outputs as the engine reported them (deploy/up_result.py): no secret is read to print this.
            result = stack.up(refresh=options.refresh)
            report_up(options.stack, {key: value.value for key, value in result.outputs.items() if not value.secret})
        elif options.operation == "refresh":
            stack.refresh()
        else:
            stack.destroy()
            print(f"destroyed {options.stack}: the data volume (and any database on a server) is kept")
    except DeployError as exc:
        print(f"error: {options.operation} {options.stack} failed:\n{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
