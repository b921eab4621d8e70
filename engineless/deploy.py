"""Direct mode: deploy a stack's resources on the local Docker engine without the Pulumi engine.

    venv/bin/python -m engineless.deploy dev            # (re)deploy; keeps the data volume
    venv/bin/python -m engineless.deploy dev --destroy  # remove containers and network, keep data

Used by scripts/up when the engine's plugins cannot be had (README, "What runs where"). There is no
Pulumi state: each run replaces the stack's containers and makes new secrets; the data volume (and
so users and chats) stays, and the migration step resets the admin's password to the new one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

from engineless.policy_check import mandatory_violations
from engineless.program import ROOT, RecordingMocks, provider_admin_env, run_program, stack_config
from engineless.realize import DockerRealizer, run


def read_config(stack: str) -> tuple[dict, tuple[str, ...]]:
    """The stack's config with secrets decrypted by the pulumi CLI when there is one."""
    if shutil.which("pulumi") and os.environ.get("PULUMI_BACKEND_URL"):
        proc = subprocess.run(["pulumi", "config", "--json", "--show-secrets", "--stack", stack],
                              cwd=ROOT, capture_output=True, text=True)
        if proc.returncode == 0:
            raw = json.loads(proc.stdout)
            values = {k.split(":", 1)[1]: (v.get("objectValue", v.get("value")))
                      for k, v in raw.items() if k.startswith("openwebui:")}
            secret = tuple(k.split(":", 1)[1] for k, v in raw.items()
                           if k.startswith("openwebui:") and v.get("secret"))
            return values, secret
    return stack_config(stack), ()


def remove_stack(stack: str) -> None:
    ids = run("docker", "ps", "-aq", "--filter", f"label=openwebui.stack={stack}").stdout.split()
    if ids:
        run("docker", "rm", "-f", *ids)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--destroy", action="store_true")
    parser.add_argument("--policy-config", help="policy/config/<name>.json (default: the stack's)")
    options = parser.parse_args()
    values, secret_keys = read_config(options.stack)
    if not options.destroy:
        # The policy pack, as `pulumi up --policy-pack` would run it: nothing is created on a violation.
        try:
            recorded = run_program(options.stack, values, secret_keys, RecordingMocks())
        except Exception as err:  # a config error: its message names the key
            print(f"error: {err}", file=sys.stderr)
            return 1
        violations = mandatory_violations(
            [(r.typ, r.name, r.inputs) for r in recorded.resources],
            options.policy_config or values.get("environment", options.stack))
        if violations:
            print("Policy Violations:", file=sys.stderr)
            for policy, resource, message in violations:
                print(f"  [mandatory] {policy} ({resource}): {message}", file=sys.stderr)
            return 2
    network = values.get("network", {}).get("name") or f"openwebui-{options.stack}"
    remove_stack(options.stack)
    run("docker", "network", "rm", network, check=False)
    if options.destroy:
        print(f"removed the {options.stack} containers and network; the data volume is kept")
        return 0
    os.environ.update(provider_admin_env(values))
    realizer = DockerRealizer()
    try:
        run_program(options.stack, values, secret_keys, realizer)
    except Exception as err:  # the failing step's message, without a Python traceback
        print(f"deploy failed: {err}", file=sys.stderr)
        return 1
    for line in realizer.log:
        print(f"  {line}")
    ca_file = ROOT / f".state-{options.stack}-ca.pem"
    password_file = ROOT / f".state-{options.stack}-admin-password"
    ca_file.write_text(realizer.output("tls-self-signed", "ca_certificate_pem")
                       if "tls-self-signed" in realizer.state else values.get("tlsCertificate", ""))
    password_file.touch(mode=0o600)
    password_file.write_text(realizer.output("secrets-admin-password", "result") + "\n")
    url = values["publicUrl"]
    print(f"""
Open WebUI is up: {url}
  Trust the stack's CA:   curl --cacert {ca_file.name} {url}/health
  Log in as:              {values.get('admin', {}).get('email', 'admin@example.com')}
  Password:               in {password_file.name} (mode 0600)""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
