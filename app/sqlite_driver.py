"""SQLite under the async engine, run on the calling thread instead of a thread per connection.

aiosqlite sends every driver call to the connection's own thread and waits for the answer:
making a cursor, executing, fetching and closing are four hops per statement, and under load
each hop also waits for the GIL, which the busy event loop holds. A ticket submitted through
the API made 65 hops and cost ~16 ms of CPU; the statements themselves take tens of
microseconds each on a local file, less than one hop.

This driver keeps SQLAlchemy's async engine and session (the code is the same on SQLite and
PostgreSQL) but answers each call on the calling thread. What that trades away:

- A query blocks the event loop while it runs. Every statement Firstline makes on SQLite is
  short; the longest, an SLA report over 100,000 tickets, takes tens of milliseconds.
- A write waiting for another *process* that holds SQLite's write lock (a CLI command) blocks
  the loop for up to the busy timeout. Writers inside one process never wait here: they
  queue on `Database.write_lock` before they touch the database.

PostgreSQL keeps its truly asynchronous driver (psycopg); it is the scale-out database.
The measurements behind this: docs/adr/0001.
"""

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)


class InlineCursor:
    """aiosqlite's cursor interface over a sqlite3 cursor; every call completes at once."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor

    async def __aenter__(self) -> "InlineCursor":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> "InlineCursor":
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> "InlineCursor":
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: SQLAlchemy's isolation-level setter
    puts `(future, function)` on it; here the function runs at once."""

    @staticmethod
    def put_nowait(item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting caller, as aiosqlite does
            future.set_exception(exc)


class InlineConnection:
    """aiosqlite's connection interface over a sqlite3 connection; every call completes at once."""

    _tx = _RunNow()

    def __init__(self, connection: sqlite3.Connection):
        self._sqlite: sqlite3.Connection | None = connection

    @property
    def _connection(
        self,
    ) -> sqlite3.Connection | None:  # SQLAlchemy checks it before commit/rollback
        return self._sqlite

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._sqlite is None:
            raise ValueError("no active connection")
        return self._sqlite

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:  # the pool rolls back every returned connection
            self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite adapter (exceptions, paramstyle, the async connection facade)
    with connections that answer on the calling thread."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *args: Any, **kwargs: Any) -> AsyncAdapt_aiosqlite_connection:
        kwargs.pop("async_creator_fn", None)
        # Pooled connections move between requests, tasks and, in tests, event-loop threads;
        # never two at once, which the pool guarantees.
        kwargs["check_same_thread"] = False
        # InlineConnection stands in for aiosqlite's connection: it has what the adapter calls.
        inline = InlineConnection(sqlite3.connect(*args, **kwargs))
        return AsyncAdapt_aiosqlite_connection(self, inline)  # type: ignore[arg-type]
