"""`owui status <stack>`: image, database revision vs code head, last backup age, certificate expiry and the
containers' health; exit 1 when something needs attention."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import ssl
import tempfile
import urllib.parse
from typing import Any

from owui_ops.backup import human
from owui_ops.operate import list_all
from owui_ops.stack import Stack, age, run_app_tool


def certificate_expiry(stack: Stack) -> dict[str, Any]:
    """The certificate nginx serves on the public port (python ssl; no trust needed to read the date)."""
    url = urllib.parse.urlsplit(stack.app.env.get("WEBUI_URL", ""))
    proxy = stack.proxy
    if proxy is None:
        return {"error": "no proxy container"}
    port = str(url.port or 443)
    address = None
    for bindings in proxy.ports.values():
        for binding in bindings or []:
            if binding.get("HostPort") == port:
                address = binding.get("HostIp") or "127.0.0.1"
    if address is None:
        return {"error": f"the proxy publishes no port {port}"}
    if address in ("0.0.0.0", "::", ""):
        address = "127.0.0.1"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, int(port)), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=url.hostname or None) as tls:
            der = tls.getpeercert(binary_form=True)
    except OSError as exc:
        return {"error": f"TLS to {address}:{port} failed: {exc}"}
    if der is None:
        return {"error": f"{address}:{port} sent no certificate"}
    not_after = _not_after(der)
    days = (not_after - dt.datetime.now(dt.timezone.utc)).total_seconds() / 86400
    return {"not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"), "days_left": round(days, 1),
            "endpoint": f"{address}:{port}"}


def _not_after(der: bytes) -> dt.datetime:
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as handle:
        handle.write(ssl.DER_cert_to_PEM_cert(der))
        handle.flush()
        decoded = ssl._ssl._test_decode_cert(handle.name)  # type: ignore[attr-defined]  # stdlib, no trust check
    return dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(decoded["notAfter"]), dt.timezone.utc)


def cmd_status(args: argparse.Namespace) -> int:
    stack = Stack.find(args.stack, args)
    problems: list[str] = []
    containers = [{"name": c.name, "role": c.role, "image": c.image_label, "state": c.state, "health": c.health}
                  for c in stack.containers]
    for c in stack.containers:
        if c.state != "running" or c.health not in (None, "healthy"):
            problems.append(f"{c.name} ({c.role}) is {c.state}" + (f", {c.health}" if c.health else ""))
    code, database = run_app_tool(stack, stack.app.image, ["migrate", "status"], operation="status")
    if code != 0 or not isinstance(database, dict):
        database = {"error": f"migrate status exited {code}"}
        problems.append("cannot read the database revision")
    elif not database.get("up_to_date"):
        problems.append(f"database at {database.get('current')}, code head {database.get('heads')}")
    database.pop("database", None)  # the masked URL adds nothing here
    last = None
    backups = [b for b in list_all(stack) if b["kind"] == "full"]
    if backups:
        last = {k: backups[0][k] for k in ("name", "age_seconds", "size", "revision", "encrypted")}
    interval = int((stack.backup_job.env.get("BACKUP_INTERVAL_MINUTES") if stack.backup_job else 0) or 0)
    if stack.backup_job and (last is None or last["age_seconds"] > (2 * interval + 60) * 60):
        problems.append("no recent backup" if last is None else f"last backup is {age(last['age_seconds'])} old")
    certificate = certificate_expiry(stack)
    if "error" in certificate:
        problems.append(f"certificate: {certificate['error']}")
    elif certificate["days_left"] < args.cert_warn_days:
        problems.append(f"certificate expires in {certificate['days_left']} days")
    report = {"stack": stack.name, "image": stack.image, "database_type": stack.database_type,
              "database": database, "last_backup": last, "backup_schedule_minutes": interval or None,
              "certificate": certificate, "containers": containers, "problems": problems}
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print(f"stack        {stack.name}")
        print(f"image        {stack.image}")
        if "error" in database:
            print(f"database     {stack.database_type}: {database['error']}")
        else:
            print(f"database     {stack.database_type} at {','.join(database.get('current') or []) or 'empty'}, "
                  f"code head {','.join(database.get('heads') or [])} "
                  f"({'up to date' if database.get('up_to_date') else 'NOT up to date'})")
        print("last backup  " + (f"{last['name']}, {age(last['age_seconds'])} ago, {human(last['size'])}"
                                 if last else "none") + (f" (every {interval} min)" if interval else
                                                         " (no scheduled backups)"))
        print("certificate  " + (certificate.get("error") or
                                 f"expires {certificate['not_after']} ({certificate['days_left']} days)"))
        for row in containers:
            print(f"container    {row['name']:<40} {row['role']:<8} {row['state']:<8} {row['health'] or '-'}")
        for problem in problems:
            print(f"PROBLEM      {problem}")
    return 1 if problems else 0


# ------------------------------------------------------------------------------------------------------------
