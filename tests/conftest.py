"""Test fixtures: a fresh migrated database per test, on SQLite or PostgreSQL.

The backend comes from FIRSTLINE_TEST_BACKEND (sqlite, the default, or postgres). The
schema is built once per run with Alembic into a template; each test gets its own copy
(a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so no test sees
another's rows.

No test reads the wall clock: every test runs under a stated "now" (`clock` below), the
suite's instant unless the test names its own with `@pytest.mark.now("...")`. `make
test-clock` runs the suite again under libfaketime at awkward real instants (weekends, DST
nights, just after midnight east of UTC) to prove that nothing still depends on the real one.
"""

import itertools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
import time_machine
from sqlalchemy.engine import make_url

from app.cli import run_migrations
from app.config import get_settings
from app.db import Database, set_database
from app.deps import reset_rate_limits
from app.live.broker import Broker, set_broker
from app.wiring import wire

# Every domain's hooks and jobs registered, as in the app: a service-level test must see the
# same reactions (approval requests, SLA clocks, rota offers) whichever tests ran before it.
wire()

BACKEND = os.environ.get("FIRSTLINE_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "FIRSTLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_counter = itertools.count()


# The suite's "now": a Wednesday morning in winter time, far from a weekend, a holiday or a
# DST change, so a test that needs one of those says so with its own `now` marker.
SUITE_NOW = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)


def pytest_report_header(config) -> str:
    return f"firstline test database backend: {BACKEND}; stated now: {SUITE_NOW.isoformat()} unless marked"


def stated_now(node: pytest.Item) -> datetime:
    """The instant a test runs at: its `now` marker (an aware ISO 8601 string), or SUITE_NOW."""
    marker = node.get_closest_marker("now")
    if marker is None:
        return SUITE_NOW
    instant = datetime.fromisoformat(marker.args[0])
    if instant.tzinfo is None:
        raise pytest.UsageError(f"@pytest.mark.now needs an offset or Z: {marker.args[0]!r}")
    return instant


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller]:
    """Every test runs at its stated instant; the clock then ticks, so timeouts and waits still
    work. Move it with `clock.move_to(...)` or `clock.shift(...)`. Subprocesses a test starts
    get the same instant through `subprocess_env()`."""
    with time_machine.travel(stated_now(request.node), tick=True) as traveller:
        yield traveller


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a `firstline` process a test starts: it continues the test's clock
    from the current stated instant (tests/clock_site/sitecustomize.py starts time-machine)."""
    site = str(Path(__file__).parent / "clock_site")
    path = os.pathsep.join(p for p in (site, os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "PYTHONPATH": path,
        "FIRSTLINE_TEST_NOW": datetime.now(UTC).isoformat(),
        **extra,
    }


def _pg_admin():
    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def _pg_url(dbname: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Iterator[str]:
    """A database migrated to head, copied for every test."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        run_migrations(f"sqlite:///{path}")
        yield str(path)
        return
    if BACKEND != "postgres":
        raise pytest.UsageError(
            f"FIRSTLINE_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}"
        )
    name = f"fl_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    run_migrations(_pg_url(name))
    yield name
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    if BACKEND == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(template_db, path)
        yield f"sqlite:///{path}"
        return
    name = f"fl_t_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield _pg_url(name)
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FIRSTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("FIRSTLINE_SECRET_KEY", "test-secret")
    monkeypatch.setenv("FIRSTLINE_LIVE_BACKEND", "memory")
    get_settings.cache_clear()
    reset_rate_limits()
    yield
    get_settings.cache_clear()
    reset_rate_limits()


@pytest.fixture
async def db(settings_env) -> AsyncIterator[Database]:
    database = Database(get_settings())
    set_database(database)
    set_broker(Broker())
    yield database
    await database.dispose()
    set_database(None)
    set_broker(None)


@pytest.fixture
async def session(db: Database):
    async with db.session() as s:
        yield s


@pytest.fixture
async def app(db: Database):
    from app.main import create_app

    return create_app()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def pytest_collection_modifyitems(config, items) -> None:
    # Sync Playwright keeps an event loop running in the main thread while the browser is
    # open, so async tests cannot run after it starts: browser tests go last.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
