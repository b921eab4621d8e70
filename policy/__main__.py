"""Entry point the Pulumi engine runs for `--policy-pack policy`.

Only assembles the pack: constructing PolicyPack starts the analyzer's gRPC server and blocks forever, so
nothing (tests included) may import this file. The checks live in policies.py and its modules.
"""

# Run as a script (policy/run-pack), so this directory is first on the path: the pack's modules import each
# other by plain name.
from policies import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    # Per-policy levels (advisory for the nproc substitute, remediate for secret marking) override this.
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Refuses Open WebUI deployments that break the CIS Docker section 5 baseline or HTTPS-only, "
    "signup-off, pinned-image rules.",
)
