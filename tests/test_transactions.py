"""Units of work under contention: the SQLite write lock and the connection pool together."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.db import async_url, transaction


async def test_a_writer_never_waits_for_the_pool_while_holding_the_write_lock(db, database_url):
    """A deadlock seen under 32 concurrent intake requests: a writer took the SQLite write lock
    and then waited for a pooled connection, while every pooled connection belonged to a
    request waiting for that lock. With one connection in the pool this is the same race."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL has no in-process write lock")
    await db.engine.dispose()
    db.engine = create_async_engine(
        async_url(database_url), pool_size=1, max_overflow=0, pool_timeout=20
    )
    reader = AsyncSession(db.engine, expire_on_commit=False, autoflush=False)
    writer = AsyncSession(db.engine, expire_on_commit=False, autoflush=False)
    await reader.execute(text("SELECT 1"))  # the reader holds the only connection
    # The writer must be waiting for the pool before the reader writes: signal the moment it
    # asks, instead of hoping a sleep was long enough.
    pool = db.engine.sync_engine.pool
    writer_waits = asyncio.Event()
    take = pool._do_get

    def asked_for_a_connection():
        writer_waits.set()
        return take()

    pool._do_get = asked_for_a_connection

    async def write(session, value):
        async with transaction(session):
            await session.execute(text("SELECT :v"), {"v": value})

    async def reader_then_writes():
        await writer_waits.wait()  # the writer is queued first
        await write(reader, 1)

    await asyncio.wait_for(asyncio.gather(write(writer, 2), reader_then_writes()), timeout=15)
    await reader.close()
    await writer.close()
