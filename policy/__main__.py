"""Entry point the Pulumi engine runs for `--policy-pack policy`.

Only assembles the pack: constructing PolicyPack starts the analyzer's gRPC server and blocks forever, so
nothing (tests included) may import this file. The checks live in policies.py and its modules.
"""

import sys
from pathlib import Path

# The pack's modules import each other by plain name; make that independent of how the engine starts us.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from policies import PACK_NAME, POLICIES  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    # Per-policy levels (advisory for the nproc substitute, remediate for secret marking) override this.
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Refuses Open WebUI deployments that break the CIS Docker section 5 baseline or HTTPS-only, "
    "signup-off, pinned-image rules.",
)
