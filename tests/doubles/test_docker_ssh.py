"""Row D4: the docker double's connection to an ssh:// host with the provider's `sshOpts`, as upstream makes it
(docker/cli connhelper: `ssh <opts> -- host docker system dial-stdio`), against a second dockerd reachable only
over SSH (scripts/remote-docker-host)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from owui_ops import dockerhost
from tests.remote_host import RemoteHost, remote_host

pytestmark = [pytest.mark.docker]


@pytest.fixture(scope="module")
def remote() -> Iterator[tuple[RemoteHost, dict[str, str]]]:
    host = remote_host()
    with dockerhost.agent(host.private_key) as agent_env:
        saved = os.environ.get("SSH_AUTH_SOCK")
        os.environ.update(agent_env)
        try:
            yield host, agent_env
        finally:
            if saved is None:
                os.environ.pop("SSH_AUTH_SOCK", None)
            else:
                os.environ["SSH_AUTH_SOCK"] = saved


@pytest.fixture()
def configured() -> Iterator[None]:
    from plugins.docker import cli

    saved_host, saved_opts = dict(cli.HOST), list(cli.SSH_OPTS)
    yield
    cli.HOST.clear()
    cli.HOST.update(saved_host)
    cli.SSH_OPTS[:] = saved_opts


def test_d4_ssh_opts_carry_the_engine_api_and_the_cli_to_the_ssh_host(remote, configured) -> None:
    from plugins.docker import cli
    from plugins.serve import configure_docker

    host, _ = remote
    opts = dockerhost.ssh_opts(dockerhost.SshTarget.parse(host.host), host.host_key)
    # The engine hands the array JSON-encoded, like every non-string provider input.
    configure_docker({"host": host.host, "sshOpts": json.dumps(opts)})
    assert cli.SSH_OPTS == opts
    assert cli._dial_argv()[:3] == ["ssh", "-l", "owui-deploy"]
    remote_root = host.docker("info", "--format", "{{.DockerRootDir}}").stdout.strip()
    # The Engine API (dial-stdio over ssh) and the docker CLI (the relay) both reach the remote daemon ...
    assert cli.api("GET", "/info")["DockerRootDir"] == remote_root
    assert cli.docker("info", "--format", "{{.DockerRootDir}}").stdout.strip() == remote_root
    # ... which is not the local one.
    local_root = subprocess.run(["docker", "info", "--format", "{{.DockerRootDir}}"], capture_output=True,
                                text=True, check=True).stdout.strip()
    assert local_root != remote_root


def test_d4_a_host_key_other_than_the_pinned_one_is_refused(remote, configured, tmp_path) -> None:
    from plugins.docker import cli
    from plugins.serve import configure_docker
    from tests.unit.test_docker_host import keypair

    host, _ = remote
    _, other_key = keypair(tmp_path)
    configure_docker({"host": host.host,
                      "sshOpts": dockerhost.ssh_opts(dockerhost.SshTarget.parse(host.host), other_key)})
    with pytest.raises(RuntimeError, match="Host key verification failed|no answer"):
        cli.api("GET", "/info", timeout=60)
