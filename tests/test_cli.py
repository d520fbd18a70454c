"""The `firstline` console script, run as a real process against the test database."""

import hashlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.db import sync_url
from app.ticket.enums import TicketType
from tests.conftest import subprocess_env

FIRSTLINE = str(Path(sys.executable).with_name("firstline"))


@pytest.fixture
def run(database_url, settings_env):
    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        env = subprocess_env(FIRSTLINE_DATABASE_URL=database_url)
        return subprocess.run(
            [FIRSTLINE, *args], env=env, capture_output=True, text=True, input=input, timeout=120
        )

    return run


@pytest.fixture
def sql(database_url):
    engine = create_engine(sync_url(database_url))

    def query(statement: str, **params):
        with engine.connect() as conn:
            return conn.execute(text(statement), params).all()

    yield query
    engine.dispose()


def test_migrate_is_idempotent(run):
    first, second = run("migrate"), run("migrate")
    assert first.returncode == second.returncode == 0, first.stderr
    assert "up to date" in second.stderr


def test_user_create_and_token_create_prints_only_the_token(run, sql):
    made = run(
        "user",
        "create",
        "--email",
        "Lee@Desk.example",
        "--name",
        "Lee",
        "--role",
        "triager",
        "--password",
        "a-long-enough-password",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout == ""
    rows = sql(
        "SELECT email, staff_role, password_hash FROM user_account WHERE email = 'lee@desk.example'"
    )
    assert rows and rows[0][1] == "triager" and rows[0][2].startswith("$argon2")

    token = run(
        "token", "create", "--email", "lee@desk.example", "--name", "ci", "--scopes", "tickets:read"
    )
    assert token.returncode == 0, token.stderr
    printed = token.stdout.splitlines()
    assert len(printed) == 1 and len(printed[0]) >= 32
    # Only a hash is stored: the printed token is the one secret copy.
    stored = sql("SELECT token_hash, scopes FROM api_token")
    assert stored[0][0] == hashlib.sha256(printed[0].encode()).hexdigest()
    assert printed[0] not in str(stored)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (
                "user",
                "create",
                "--email",
                "x@desk.example",
                "--name",
                "X",
                "--role",
                "boss",
                "--password",
                "long-enough-1",
            ),
            "role",
        ),
        (
            ("user", "create", "--email", "x@desk.example", "--name", "X", "--password", "short"),
            "10",
        ),
        (
            ("token", "create", "--email", "nobody@desk.example", "--name", "ci"),
            "nobody@desk.example",
        ),
    ],
)
def test_bad_input_fails_with_a_reason_and_writes_nothing(run, sql, args, message):
    result = run(*args)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert sql("SELECT count(*) FROM user_account")[0][0] == 0


def test_token_with_unknown_scope_is_refused(run, sql):
    run(
        "user",
        "create",
        "--email",
        "lee@desk.example",
        "--name",
        "Lee",
        "--role",
        "agent",
        "--password",
        "a-long-enough-password",
    )
    result = run(
        "token",
        "create",
        "--email",
        "lee@desk.example",
        "--name",
        "ci",
        "--scopes",
        "tickets:destroy",
    )
    assert result.returncode != 0 and "unknown scope" in result.stderr
    assert result.stdout == ""
    assert sql("SELECT count(*) FROM api_token")[0][0] == 0


def test_demo_fills_every_status_and_type_once(run, sql):
    assert run("demo").returncode == 0
    statuses = Counter(dict(sql("SELECT status, count(*) FROM ticket GROUP BY status")))
    types = Counter(dict(sql("SELECT type, count(*) FROM ticket GROUP BY type")))
    assert sum(statuses.values()) >= 60
    assert set(statuses) >= {"awaiting_approval", "new", "open", "pending", "resolved", "closed"}
    assert set(types) == {t.value for t in TicketType}
    assert sql("SELECT count(*) FROM community")[0][0] >= 3
    again = run("demo")
    assert again.returncode == 0
    assert sql("SELECT count(*) FROM ticket")[0][0] == sum(statuses.values())


def test_token_list_and_revoke(run, sql):
    run(
        "user",
        "create",
        "--email",
        "lee@desk.example",
        "--name",
        "Lee",
        "--role",
        "agent",
        "--password",
        "a-long-enough-password",
    )
    made = run("token", "create", "--email", "lee@desk.example", "--name", "ci")
    assert made.returncode == 0, made.stderr
    token_id = sql("SELECT id FROM api_token")[0][0]

    listed = run("token", "list", "--email", "lee@desk.example")
    assert listed.returncode == 0, listed.stderr
    assert f"{token_id}\tlee@desk.example\tci\t" in listed.stdout and "\tlive" in listed.stdout
    assert made.stdout.strip() not in listed.stdout  # never the token itself

    revoked = run("token", "revoke", str(token_id))
    assert revoked.returncode == 0, revoked.stderr
    assert sql("SELECT revoked_at IS NOT NULL FROM api_token")[0][0]
    assert "revoked" in run("token", "list").stdout

    missing = run("token", "revoke", "999")
    assert (
        missing.returncode != 0
        and "no API token 999" in missing.stderr
        and "Traceback" not in missing.stderr
    )


@pytest.mark.parametrize(
    ("url", "loop"),
    [
        ("sqlite:///firstline.db", "asyncio"),
        ("postgresql://firstline@db.internal/firstline", "auto"),
    ],
)
def test_serve_picks_the_event_loop_for_the_database(url, loop, monkeypatch):
    """On SQLite requests never yield, and uvloop then starved some connections for seconds."""
    import uvicorn

    from app import cli
    from app.config import get_settings

    monkeypatch.setenv("FIRSTLINE_DATABASE_URL", url)
    get_settings.cache_clear()
    started = {}
    monkeypatch.setattr(
        uvicorn, "run", lambda target, **kwargs: started.update(kwargs, target=target)
    )
    try:
        cli.serve(host="127.0.0.1", port=8123, workers=1, reload=False)
    finally:
        get_settings.cache_clear()
    assert started["target"] == "app.main:create_app"
    assert started["loop"] == loop
    assert started["port"] == 8123
