"""The dev stack file, run through the real program under mocks."""

from tests.conftest import env_of, label, run_program, stack_config


def test_dev_declares_one_hardened_app_behind_nginx():
    mocks = run_program("dev", stack_config("dev"))
    apps = mocks.containers("app")
    proxies = mocks.containers("proxy")
    assert len(apps) == 1 and len(proxies) == 1
    assert mocks.containers("redis") == []
    for container in mocks.containers():
        inputs = container.inputs
        assert inputs["user"] not in ("", "0", "root") and not inputs["user"].startswith("0")
        assert inputs["readOnly"] is True
        assert inputs["capabilities"]["drops"] == ["ALL"]
        assert "no-new-privileges:true" in inputs["securityOpts"]
        assert inputs["memory"] > 0
        assert label(container, "openwebui.environment") == "dev"
    assert "ports" not in apps[0].inputs or not apps[0].inputs["ports"]
    ports = proxies[0].inputs["ports"]
    assert {(p["internal"], p["external"], p["ip"]) for p in ports} == {
        (8080, 8080, "127.0.0.1"), (8443, 8443, "127.0.0.1")}


def test_dev_app_env_is_https_only_and_signup_off():
    mocks = run_program("dev", stack_config("dev"))
    env = env_of(mocks.containers("app")[0])
    assert env["ENABLE_SIGNUP"] == "false"
    assert env["ENABLE_DB_MIGRATIONS"] == "false"
    assert env["WEBUI_URL"] == "https://localhost:8443"
    assert env["CORS_ALLOW_ORIGIN"] == "https://localhost:8443"
    assert env["FORWARDED_ALLOW_IPS"] == "172.30.10.2"
    assert env["DATABASE_URL"] == "sqlite:////app/backend/data/webui.db"
    assert len(env["OAUTH_SESSION_TOKEN_ENCRYPTION_KEY"]) == 44
