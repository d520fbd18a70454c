"""The SQLite driver behind the async engine: answers on the calling thread, behaves like a DBAPI."""

import threading

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from app.db import transaction
from app.errors import Conflict
from app.sqlite_driver import InlineConnection


@pytest.fixture
def sqlite_db(db):
    if not db.is_sqlite:
        pytest.skip("the inline driver is SQLite's")
    return db


async def test_statements_run_on_the_event_loops_own_thread(sqlite_db):
    """The point of the driver: no hop to a worker thread per call (aiosqlite made four)."""
    threads = []

    @event.listens_for(sqlite_db.engine.sync_engine, "connect")
    def register(dbapi_connection, _record):
        dbapi_connection.create_function(
            "caller_thread", 0, lambda: threads.append(threading.get_ident()) or 1
        )

    await sqlite_db.engine.dispose()  # new connections get the function
    async with sqlite_db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT caller_thread()"))).scalar() == 1
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, InlineConnection)
    assert threads == [threading.get_ident()]


async def test_results_rowcounts_and_new_ids(sqlite_db):
    async with sqlite_db.engine.begin() as conn:
        await conn.execute(text("CREATE TEMP TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"))
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": "a"})
        assert inserted.lastrowid == 1
        many = await conn.execute(
            text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}]
        )
        assert many.rowcount == 2
        updated = await conn.execute(text("UPDATE t SET name = upper(name) WHERE id > 1"))
        assert updated.rowcount == 2
        rows = (await conn.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "B"), (3, "C")]
        streamed = await conn.stream(text("SELECT name FROM t ORDER BY id"))
        assert [r[0] async for r in streamed] == ["a", "B", "C"]


async def test_a_failed_statement_raises_the_usual_error_and_leaves_nothing_behind(
    sqlite_db, session
):
    async with sqlite_db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE uniq (name TEXT PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO uniq VALUES ('taken')"))

    async def add_two(first: str, second: str) -> None:
        async with transaction(session):
            await session.exec(text("INSERT INTO uniq VALUES (:n)"), params={"n": first})
            await session.exec(text("INSERT INTO uniq VALUES (:n)"), params={"n": second})

    with pytest.raises(
        Conflict
    ) as failed:  # transaction() answers a broken unique rule as a conflict
        await add_two("fresh", "taken")
    assert isinstance(failed.value.__cause__, IntegrityError)
    await add_two("one", "two")  # the session and its connection are usable again
    async with sqlite_db.engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM uniq ORDER BY name"))).scalars().all()
    assert names == ["one", "taken", "two"]  # "fresh" was rolled back with its failed unit


async def test_a_connection_goes_back_to_the_pool_with_no_open_transaction(sqlite_db):
    async with sqlite_db.engine.connect() as conn:
        await conn.execute(text("CREATE TEMP TABLE scratch (x)"))
        await conn.execute(
            text("INSERT INTO scratch VALUES (1)")
        )  # implicit transaction, never committed
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw.in_transaction
    assert not raw.in_transaction  # the pool's reset rolled it back
