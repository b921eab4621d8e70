"""The stack's Docker host (`openwebui:docker`, secret `dockerSshKey`): validation naming the key, one explicit
docker provider for every docker resource, the same daemon for every command step, the SSH connection as the
provider makes it (owui_ops/dockerhost.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from components.config import ConfigError, load_settings
from owui_ops import dockerhost
from tests.conftest import run_program, stack_config, unsecret


def keypair(directory: Path, passphrase: str = "") -> tuple[str, str]:
    """A fresh ed25519 key made by ssh-keygen: (private key text, `type base64` public key)."""
    path = directory / f"key{len(list(directory.iterdir()))}"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)], check=True)
    return path.read_text(), " ".join(Path(f"{path}.pub").read_text().split()[:2])


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("keys")
    private, public = keypair(directory)
    encrypted, _ = keypair(directory, passphrase="a passphrase")
    return {"private": private, "public": public, "encrypted": encrypted}


def dev_values(**changes):
    values = stack_config("dev")
    values.update(changes)
    return values


def problems(values, secret_keys=()) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(values, stack="dev", is_secret=lambda key: key in secret_keys)
    return str(raised.value)


# -- validation: every message names the key ----------------------------------------------------------------


@pytest.mark.parametrize(("host", "expected"), [
    ("tcp://203.0.113.10:2375", "tcp:// would carry the Engine API"),
    ("ssh://203.0.113.10", "a user, a host name"),
    ("ssh://deploy@203.0.113.10/var/run/docker.sock", "no path"),
    ("ssh://deploy:pw@203.0.113.10", "password"),
    ("ssh://deploy@203.0.113.10:70000", "Port out of range"),
    ("ssh://deploy@bad_host!", "a user, a host name"),
    ("unix://relative.sock", "must be ssh://"),
])
def test_a_bad_host_is_refused_naming_docker_host(host, expected):
    text = problems(dev_values(docker={"host": host}))
    assert "openwebui:docker.host" in text and expected in text


def test_an_ssh_host_needs_its_host_key_and_the_secret_identity(keys):
    assert "openwebui:docker.hostKey" in problems(dev_values(docker={"host": "ssh://deploy@203.0.113.10"}))
    text = problems(dev_values(docker={"host": "ssh://deploy@203.0.113.10", "hostKey": keys["public"]}))
    assert "openwebui:dockerSshKey" in text and "--secret" in text


@pytest.mark.parametrize(("host_key", "expected"), [
    ("AAAAC3NzaC1lZDI1NTE5", "must be the host's public key"),
    ("ssh-dss AAAAB3NzaC1kc3M=", "is not one of"),
    ("ssh-ed25519 not*base64", "not valid base64"),
    ("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIJm7", "not a ssh-rsa key"),
])
def test_a_bad_host_key_is_refused_naming_docker_host_key(host_key, expected):
    text = problems(dev_values(docker={"host": "ssh://deploy@h.example", "hostKey": host_key}))
    assert "openwebui:docker.hostKey" in text and expected in text


def test_an_encrypted_or_foreign_private_key_is_refused_without_quoting_it(keys):
    ssh = {"host": "ssh://deploy@h.example", "hostKey": keys["public"]}
    text = problems(dev_values(docker=ssh, dockerSshKey=keys["encrypted"]), ("dockerSshKey",))
    assert "openwebui:dockerSshKey" in text and "passphrase" in text
    assert keys["encrypted"].splitlines()[1] not in text
    pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
    assert "must be an OpenSSH private key" in problems(dev_values(docker=ssh, dockerSshKey=pem), ("dockerSshKey",))


def test_an_ssh_key_stored_in_plain_text_is_refused(keys):
    values = dev_values(docker={"host": "ssh://deploy@h.example", "hostKey": keys["public"]},
                        dockerSshKey=keys["private"])
    assert "openwebui:dockerSshKey" in problems(values, secret_keys=())


# -- the program: one provider, the same daemon everywhere -----------------------------------------------------


def test_every_docker_resource_and_step_uses_the_stacks_host(keys):
    host = "ssh://deploy@203.0.113.10:2222"
    values = dev_values(docker={"host": host, "hostKey": keys["public"]}, dockerSshKey=keys["private"],
                        backup={"enabled": True})
    mocks = run_program("dev", values, ("dockerSshKey",), _mocks())
    providers = mocks.of_type("pulumi:providers:docker")
    assert [p.name for p in providers] == ["docker"]
    inputs = providers[0].inputs
    assert inputs["host"] == host
    ssh_opts = json.loads(inputs["sshOpts"]) if isinstance(inputs["sshOpts"], str) else inputs["sshOpts"]
    assert "StrictHostKeyChecking=yes" in ssh_opts
    assert f"KnownHostsCommand=/bin/echo [203.0.113.10]:2222 {keys['public']}" in ssh_opts
    docker_resources = [r for r in mocks.resources if r.typ.startswith("docker:")]
    assert len(docker_resources) >= 6
    for resource in docker_resources:
        assert "pulumi:providers:docker::docker::" in resource.provider, (resource.name, resource.provider)
    steps = mocks.of_type("command:local:Command")
    assert {s.name for s in steps} >= {"migration-upgrade", "data-owner-take-over", "backup-directory"}
    for step in steps:
        env = unsecret(step.inputs["environment"])
        assert env["DOCKER_HOST"] == host and json.loads(env["OWUI_DOCKER_SSH_OPTS"]) == ssh_opts
    # The identity is for the run's ssh-agent only: it is no resource's input.
    body = keys["private"].splitlines()[1]
    assert all(body not in repr(r.inputs) for r in mocks.resources)


def test_without_a_docker_host_the_provider_takes_the_machines_daemon():
    mocks = run_program("dev", dev_values(), (), _mocks())
    provider = mocks.of_type("pulumi:providers:docker")
    assert len(provider) == 1 and "host" not in provider[0].inputs and "sshOpts" not in provider[0].inputs
    for step in mocks.of_type("command:local:Command"):
        assert "DOCKER_HOST" not in unsecret(step.inputs["environment"])


def _mocks():
    from tests.mocks import RecordingMocks
    return RecordingMocks()


# -- the connection: upstream's ssh command, the relay, the agent ----------------------------------------------


def test_the_connection_is_upstreams_ssh_command():
    target = dockerhost.SshTarget.parse("ssh://deploy@h.example:2222")
    argv = target.dial_stdio_argv(["-o", "StrictHostKeyChecking=yes"])
    # docker/cli v28.5.2 ssh.go Spec.args + connhelper.go: -l, -p, the flags, the defaults, --, host, command.
    assert argv == ["ssh", "-l", "deploy", "-p", "2222", "-o", "StrictHostKeyChecking=yes",
                    "-o ConnectTimeout=30", "-T", "--", "h.example", "docker system dial-stdio"]
    assert dockerhost.with_upstream_defaults(["-o", "ConnectTimeout=5", "-T"]) == ["-o", "ConnectTimeout=5", "-T"]
    on_socket = dockerhost.SshTarget.parse("ssh://deploy@h.example/run/docker.sock").dial_stdio_argv([])
    assert on_socket[-1] == "docker --host=unix:///run/docker.sock system dial-stdio"
    assert dockerhost.SshTarget.parse("ssh://u@h.example").known_hosts_name() == "h.example"


@pytest.mark.docker
def test_the_relay_carries_the_engine_api_both_ways(tmp_path):
    """Each connection to the relay socket gets its own dial-stdio process (here on the local daemon, the
    connection's far end); an attached `docker run` needs both directions and the half-close."""
    relay = dockerhost.Relay(["docker", "system", "dial-stdio"], str(tmp_path))
    try:
        assert oct(os.stat(relay.path).st_mode & 0o777) == "0o600"
        env = {**os.environ, "DOCKER_HOST": relay.docker_host}
        done = subprocess.run(["docker", "run", "--rm", "-i", "--network", "none", "openwebui-local/tools:1.1.0",
                               "sh", "-c", "cat; echo done"], input="through the relay\n", env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "through the relay\ndone\n"
    finally:
        relay.close()


def test_the_agent_holds_the_key_in_memory_only(keys):
    with dockerhost.agent(keys["private"]) as env:
        directory = Path(env["SSH_AUTH_SOCK"]).parent
        assert oct(directory.stat().st_mode & 0o777) == "0o700"
        assert [p.name for p in directory.iterdir()] == ["agent.sock"]
        listed = subprocess.run(["ssh-add", "-L"], env={**os.environ, **env}, capture_output=True, text=True,
                                check=True)
        assert listed.stdout.split()[:2] == keys["public"].split()
    assert not directory.exists()


def test_deploy_runs_an_agent_only_for_an_ssh_host(keys, tmp_path):
    """deploy/ssh_identity.py: the stack file's docker.host decides; the key is asked for only then."""
    from deploy import ssh_identity

    (tmp_path / "Pulumi.yaml").write_text("name: openwebui\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    asked: list[str] = []

    def read_secret(key: str) -> str:
        asked.append(key)
        return keys["private"]

    (tmp_path / "stacks" / "Pulumi.local.yaml").write_text("config:\n  openwebui:image: x\n")
    with ssh_identity.identity(tmp_path, "local", read_secret) as env:
        assert env == {} and asked == []
    (tmp_path / "stacks" / "Pulumi.remote.yaml").write_text(
        "config:\n  openwebui:docker:\n    host: ssh://deploy@h.example\n"
        f"    hostKey: {keys['public']}\n")
    assert ssh_identity.docker_host(tmp_path, "remote") == "ssh://deploy@h.example"
    with ssh_identity.identity(tmp_path, "remote", read_secret) as env:
        assert asked == ["dockerSshKey"]
        listed = subprocess.run(["ssh-add", "-L"], env={**os.environ, **env}, capture_output=True, text=True,
                                check=True)
        assert listed.stdout.split()[:2] == keys["public"].split()
    assert not Path(env["SSH_AUTH_SOCK"]).parent.exists()


def test_the_ops_cli_takes_a_given_docker_host_through_the_relay(monkeypatch):
    """owui_ops.operate.stack_docker_host: a DOCKER_HOST already set wins; an ssh:// one is reached through the
    provider's connection (a relay socket of this process), with the step's OWUI_DOCKER_SSH_OPTS."""
    from owui_ops.operate import stack_docker_host

    monkeypatch.setenv("DOCKER_HOST", "ssh://deploy@h.example:2222")
    monkeypatch.setenv(dockerhost.SSH_OPTS_ENV, json.dumps(["-o", "StrictHostKeyChecking=yes"]))
    with stack_docker_host("any"):
        relay = os.environ["DOCKER_HOST"]
        assert relay.startswith("unix:///") and relay.endswith("/docker.sock")
        assert oct(os.stat(relay[len("unix://"):]).st_mode & 0o777) == "0o600"
    assert dockerhost._ACTIVE[-1].argv[:6] == ["ssh", "-l", "deploy", "-p", "2222", "-o"]
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/docker.sock")
    with stack_docker_host("any"):
        assert os.environ["DOCKER_HOST"] == "unix:///run/docker.sock"
