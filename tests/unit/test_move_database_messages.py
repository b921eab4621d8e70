"""What `move-database` tells the operator when the target's server stops half-way (issue 16): the server by name,
that the source is unchanged, what to do, and never a password or a database URL. The real stop is
tests/real/test_move_database.py (the copy) and tests/e2e/test_move_database_stack.py (the stack); the stack
command's message around the copy's, tests/ops/test_move_stack.py."""

from __future__ import annotations

import re

import pytest

from owui_ops import movedb
from owui_ops.dburl import normalise_postgres_scheme, parse
from owui_ops.errors import secret_forms

PASSWORD = "s3cr:t/p@ss%w"
URL = f"postgresql://owui:{secret_forms(PASSWORD)[1]}@db.internal:5433/openwebui?sslmode=require"


def lost(message: str, invalidated: bool) -> Exception:
    """A connection error as SQLAlchemy raises it from psycopg2 (`invalidated`: its dialect saw a disconnect)."""
    import psycopg2
    from sqlalchemy.exc import OperationalError

    return OperationalError("INSERT INTO chat_message ...", {}, psycopg2.OperationalError(message),
                            connection_invalidated=invalidated)


def no_secret(text: str) -> None:
    for form in secret_forms(PASSWORD):
        assert form not in text
    assert not re.search(r"\w+://", text), text


@pytest.mark.parametrize("exc", [
    lost("server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally", True),
    lost('connection to server at "db.internal", port 5433 failed: Connection refused', False),
])
def test_a_target_server_that_stopped_is_named_with_what_to_do(exc: Exception) -> None:
    target = parse(normalise_postgres_scheme(URL))
    assert movedb.server_lost(exc)
    message = movedb.interrupted(exc, target)
    assert message.startswith("the target server (postgresql owui@db.internal:5433/openwebui) stopped answering")
    assert "The source was only read and is unchanged" in message
    assert "when the server answers again" in message and "run the same command again" in message
    no_secret(message)


def test_a_refused_statement_is_not_a_stopped_server() -> None:
    from sqlalchemy.exc import IntegrityError

    refused = IntegrityError("INSERT ...", {}, Exception("duplicate key value violates unique constraint"))
    assert not movedb.server_lost(refused) and not movedb.server_lost(ValueError("x"))
    message = movedb.interrupted(refused, parse(URL))
    assert message.startswith("the copy stopped: IntegrityError") and "run the same command again" in message
