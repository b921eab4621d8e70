"""nginx's limits sit where they protect something, and the CSP is enforced (issue 17)."""

from __future__ import annotations

import re

from components.proxy import NginxConfigArgs, content_security_policy, render_nginx_conf


def _locations(conf: str) -> dict[str, str]:
    """location argument -> its block text, for the HTTPS server."""
    https = conf.split("listen 8443")[1]
    found = {}
    for part in https.split("\n        location ")[1:]:
        head, body = part.split("{", 1)
        found[head.strip()] = body.split("\n        }")[0]
    return found


def _server_level(conf: str) -> str:
    https = conf.split("listen 8443")[1]
    return https.split("\n        location ")[0]


def _directives(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))


CONF = _directives(render_nginx_conf(NginxConfigArgs(server_name="chat.example.com",
                                                     public_port=443)))


def test_no_server_wide_connection_limit():
    # limit_conn counts each HTTP/2 stream: server-wide it also counted the page's own chunks.
    assert "limit_conn " not in _server_level(CONF)
    assert "limit_conn " not in CONF.split("listen 8443")[0].replace("limit_conn_zone", "").replace(
        "limit_conn_status", "")


def test_static_files_have_no_connection_limit_and_everything_else_has_one():
    locations = _locations(CONF)
    static = {"/_app/immutable/", "/_app/", "/static/"}
    assert static <= set(locations)
    for name, block in locations.items():
        if name in static:
            assert "limit_conn" not in block and "limit_req" not in block, name
        else:
            assert "limit_conn perip 256;" in block, name


def test_auth_and_upload_limits_per_location():
    locations = _locations(CONF)
    for endpoint in ("signin", "signup", "ldap"):
        assert "limit_req zone=auth burst=5 nodelay;" in locations[f"= /api/v1/auths/{endpoint}"]
    assert "limit_req zone=upload burst=30 nodelay;" in locations["= /api/v1/files/"]
    assert "limit_req_zone $binary_remote_addr zone=auth:10m rate=10r/m;" in CONF
    assert "limit_req_zone $upload_key zone=upload:10m rate=60r/m;" in CONF
    # Only POSTs count against the upload limit.
    assert re.search(r"map \$request_method \$upload_key \{\s+POST\s+\$binary_remote_addr;\s+"
                     r'default "";', CONF)
    # A limit answers 429; 503 stays the app's.
    assert "limit_req_status 429;" in CONF and "limit_conn_status 429;" in CONF


def test_limits_follow_the_arguments():
    conf = render_nginx_conf(NginxConfigArgs(
        server_name="chat.example.com", public_port=443, auth_rate_per_minute=7, auth_burst=3,
        upload_rate_per_minute=11, upload_burst=4, app_connections_per_ip=64))
    assert "zone=auth:10m rate=7r/m;" in conf and "zone=auth burst=3 nodelay;" in conf
    assert "zone=upload:10m rate=11r/m;" in conf and "zone=upload burst=4 nodelay;" in conf
    assert "limit_conn perip 64;" in conf and "limit_conn perip 256;" not in conf


def test_immutable_chunks_get_a_year_of_cache_at_server_level():
    assert 'add_header Cache-Control $asset_cache_control always;' in _server_level(CONF)
    assert '~^/_app/immutable/ "public, max-age=31536000, immutable";' in CONF
    immutable = _locations(CONF)["/_app/immutable/"]
    assert "proxy_hide_header Cache-Control;" in immutable
    # ... and nginx keeps them, so the app serves each chunk once, not once per visitor.
    assert "proxy_cache assets;" in immutable and "proxy_cache_lock on;" in immutable
    assert "proxy_cache_path /tmp/nginx/cache " in CONF
    assert sum("proxy_cache assets;" in block for block in _locations(CONF).values()) == 1


def test_csp_enforced_by_default_and_report_only_on_request():
    assert 'add_header Content-Security-Policy "default-src' in CONF
    assert "Content-Security-Policy-Report-Only" not in CONF
    relaxed = render_nginx_conf(NginxConfigArgs(server_name="chat.example.com", public_port=443,
                                                csp_enforce=False))
    assert 'add_header Content-Security-Policy-Report-Only "default-src' in relaxed


def test_csp_names_the_websocket_origin_and_allows_no_other_site():
    policy = content_security_policy(NginxConfigArgs(server_name="localhost", public_port=8443))
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["connect-src"] == "'self' wss://localhost:8443"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    for sources in directives.values():
        for source in sources.split():
            assert source.startswith("'") or source in ("data:", "blob:", "wss://localhost:8443"), source
    default_port = content_security_policy(NginxConfigArgs(server_name="chat.example.com",
                                                           public_port=443))
    assert "connect-src 'self' wss://chat.example.com;" in default_port
