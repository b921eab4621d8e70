"""`python3 -m owui_ops config-guard`: pin Open WebUI settings that the stack owns in the database's `config` table.

Open WebUI reads a setting from env only until the key exists in its `config` table; after that the
row wins (ENABLE_PERSISTENT_CONFIG). So `ENABLE_SIGNUP=false` in env cannot keep sign-up off on a
database that once had it on, and a changed public URL would never reach the app. This runs after
the migrations, with the app's DATABASE_URL, and writes the values given as a JSON object in
OWUI_ENFORCED_CONFIG (e.g. {"ui.enable_signup": false, "webui.url": "https://chat.example.com"}).

With WEBUI_ADMIN_EMAIL and WEBUI_ADMIN_PASSWORD set, the stack's admin password is also made to
hold: Open WebUI applies WEBUI_ADMIN_PASSWORD only to an empty database, so after a restore, or a
`pulumi destroy` that kept the data, the exported password would otherwise not log in.

Output: one JSON line {"enforced": {...}, "changed": [...], "admin_password_reset": bool};
neither the URL nor any password is ever printed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Optional


def main(argv: Optional[list[str]] = None) -> int:
    # SQLAlchemy only here: the package is imported by images without it (the tools image).
    from sqlalchemy import JSON, BigInteger, Column, MetaData, Table, Text, create_engine, select

    url = os.environ.get("DATABASE_URL")
    wanted = json.loads(os.environ.get("OWUI_ENFORCED_CONFIG", "{}"))
    if not url:
        print("owui-config-guard: DATABASE_URL is not set", file=sys.stderr)
        return 2
    table = Table("config", MetaData(), Column("key", Text, primary_key=True),
                  Column("value", JSON, nullable=False), Column("updated_at", BigInteger))
    engine = create_engine(url)
    changed = []
    with engine.begin() as connection:
        current = {row.key: row.value for row in connection.execute(
            select(table.c.key, table.c.value).where(table.c.key.in_(list(wanted))))}
        now = int(time.time())
        for key, value in wanted.items():
            if key not in current:
                connection.execute(table.insert().values(key=key, value=value, updated_at=now))
                changed.append(key)
            elif current[key] != value:
                connection.execute(table.update().where(table.c.key == key)
                                   .values(value=value, updated_at=now))
                changed.append(key)
        reset = converge_admin_password(connection, os.environ.get("WEBUI_ADMIN_EMAIL"),
                                        os.environ.get("WEBUI_ADMIN_PASSWORD"))
    engine.dispose()
    print(json.dumps({"enforced": wanted, "changed": changed, "admin_password_reset": reset}))
    return 0


def converge_admin_password(connection: Any, email: Optional[str], password: Optional[str]) -> bool:
    """Set the admin's bcrypt hash to the stack's password when it no longer matches."""
    if not email or not password:
        return False
    import bcrypt
    from sqlalchemy import Column, MetaData, String, Table, Text, func, select

    auth = Table("auth", MetaData(), Column("id", String, primary_key=True), Column("email", String),
                 Column("password", Text))
    user = Table("user", MetaData(), Column("id", String, primary_key=True), Column("role", String))
    row = connection.execute(
        select(auth.c.id, auth.c.password).join(user, user.c.id == auth.c.id)
        .where(func.lower(auth.c.email) == email.lower(), user.c.role == "admin")).first()
    if row is None:
        return False  # no such admin yet: Open WebUI creates it at first start
    secret = password.encode("utf-8")[:72]
    stored = (row.password or "").encode("utf-8")
    try:
        if stored.startswith(b"$2") and bcrypt.checkpw(secret, stored):
            return False
    except ValueError:
        pass
    connection.execute(auth.update().where(auth.c.id == row.id).values(
        password=bcrypt.hashpw(secret, bcrypt.gensalt()).decode("utf-8")))
    return True
