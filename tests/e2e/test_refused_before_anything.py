"""Bad input stops a real `preview`/`up` through the engine, naming the key, before anything is created."""

from __future__ import annotations

import pytest

from deploy.stack import DeployError
from tests.conftest import stack_config
from tests.e2e.harness import RealDeployment, containers_of, docker

pytestmark = [pytest.mark.e2e, pytest.mark.engine]

STACK = "staging-refusals"


def _values(**database: str) -> dict:
    values = stack_config("staging")
    values.update({"environment": "staging", "databaseAdminPassword": "not-used-1234567",
                   "database": {**values["database"], **database},
                   "network": {"subnet": "172.30.121.0/24", "name": "openwebui-staging-refusals"},
                   "storage": {"volumeName": "openwebui-staging-refusals-data"}})
    return values


@pytest.mark.parametrize("key,value", [
    ("name", 'open"webui'),  # breaks quoting
    ("name", "a" * 64),  # over PostgreSQL's 63-byte identifier limit
    ("user", "bad user;drop"),
    ("user", "x\n"),  # a trailing newline a `$`-anchored pattern would let through
])
def test_bad_database_identifier_refused_at_preview_and_up(docker_engine, key: str, value: str) -> None:
    deployment = RealDeployment(STACK, _values(**{key: value}), secret_keys=("databaseAdminPassword",))
    for attempt in (deployment.preview, deployment.up):
        with pytest.raises(DeployError) as refused:
            attempt()
        assert f"openwebui:database.{key}" in str(refused.value)
    # Nothing but the stack's own root resource reached the engine.
    created = [name for op, name in deployment.steps() if op in ("create", "update", "replace")]
    assert created in ([], [f"openwebui-{STACK}"])
    assert containers_of(STACK, all_states=True) == []
    assert "openwebui-staging-refusals" not in docker("network", "ls", "--format", "{{.Name}}").split()
