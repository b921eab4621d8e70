"""The policy pack accepts what the program declares with backups on, for every stack file."""

from __future__ import annotations

import pytest
from test_policy_real_program import declared, mandatory_violations  # tests/policy, on the path by tests/conftest.py

from tests.conftest import stack_config

# The backup job declares the tools image as an image resource, so the pinned-tag policy judges it: give it a
# tag that policy accepts (whatever the stack file's default is at the moment).
PINNED_TOOLS = "openwebui-local/tools:1.0.0"


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_backup_container_passes_every_mandatory_policy(environment, tls_pair):
    migration = {**stack_config(environment).get("migration", {}), "toolsImage": PINNED_TOOLS}
    mocks = declared(environment, tls_pair, migration=migration,
                     backup={"enabled": True, "copyTo": "/mnt/offsite"})
    assert len(mocks.containers("backup")) == 1
    assert mandatory_violations(mocks, environment) == []


def test_a_floating_tools_image_is_refused_for_the_backup_job(tls_pair):
    # The config model refuses a floating tag on staging first, so declare on dev (whose pack config allows
    # floating tags) and judge with staging's pack config: the pack must still refuse it on its own.
    migration = {**stack_config("dev").get("migration", {}), "toolsImage": "openwebui-local/tools:latest"}
    mocks = declared("dev", tls_pair, migration=migration, backup={"enabled": True})
    found = mandatory_violations(mocks, "staging")
    assert ("docker-image-require-pinned-tag", "tools-image") in {(p, n) for p, n, _ in found}
