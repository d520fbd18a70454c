"""UTCDateTime: aware UTC datetimes in Python on every backend, sortable text on SQLite.

SQLite has its own fast processors (app/db.py says why); they must store exactly the text
SQLAlchemy's would, since SQL compares these columns as text, and read back the same instant.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.dialects import sqlite

from app.db import UTCDateTime

SQLITE = sqlite.dialect()
BIND = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
RESULT = UTCDateTime().dialect_impl(SQLITE).result_processor(SQLITE, None)
REFERENCE_TEXT = sqlite.DATETIME().bind_processor(SQLITE)  # SQLAlchemy's own storage format

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@given(instants, offsets)
def test_sqlite_stores_sqlalchemys_text_of_the_utc_instant_and_reads_it_back(instant, offset):
    local = instant.astimezone(offset)
    stored = BIND(local)
    assert stored == REFERENCE_TEXT(instant.replace(tzinfo=None))
    back = RESULT(stored)
    assert back == instant and back.tzinfo is UTC


@given(instants, instants)
def test_sqlite_text_sorts_as_the_instants_do(a, b):
    assert (BIND(a) < BIND(b)) == (a < b)


def test_sqlite_reads_text_without_microseconds_and_nothing_for_null():
    assert RESULT("2026-03-29 01:30:00") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert RESULT(None) is None and BIND(None) is None


def test_naive_or_non_datetime_values_are_refused():
    with pytest.raises(ValueError, match="naive"):
        BIND(datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        BIND("2026-01-01 00:00:00")


async def test_round_trip_through_the_database(db):
    table = Table(
        "utc_probe", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime)
    )
    berlin_dst_start = datetime(2026, 3, 29, 3, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    async with db.engine.begin() as conn:
        await conn.run_sync(table.create)
        await conn.execute(
            table.insert(), [{"id": 1, "at": berlin_dst_start}, {"id": 2, "at": None}]
        )
        rows = dict((await conn.execute(select(table.c.id, table.c.at))).all())
        later = (
            await conn.execute(
                select(table.c.id).where(table.c.at > datetime(2026, 3, 29, 0, 59, tzinfo=UTC))
            )
        ).all()
        await conn.run_sync(table.drop)
    assert rows[1] == datetime(2026, 3, 29, 1, 0, 0, 123456, tzinfo=UTC) and rows[1].tzinfo == UTC
    assert rows[2] is None
    assert later == [(1,)]
