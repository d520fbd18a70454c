"""Database engines, column types shared by every domain, and the unit-of-work helper.

One request style everywhere: `async def` routes with an async session. Measured on this
machine it is 2-3x faster than sync sessions in the thread pool, and it cannot deadlock on
pool exhaustion. PostgreSQL uses psycopg's async driver; SQLite answers on the event loop's
own thread (`app/sqlite_driver.py` says why and what that costs).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import DateTime, String, event, types
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.cache import ConfigCache, attach
from app.config import Settings, get_settings
from app.errors import Conflict
from app.sqlite_driver import InlineDBAPI

_fromisoformat = datetime.fromisoformat

# Stable constraint names so Alembic autogenerate and `alembic check` agree on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def keep_loaded(session, *objects) -> None:
    """Hold strong references for the session's life so its identity map keeps these rows.

    The identity map is weak: a row loaded by a service and dropped when it returns would be
    queried again by the code shaping the response. Sessions live for one request.
    """
    session.info.setdefault("keep_loaded", []).extend(o for o in objects if o is not None)


# Facts a use case computed inside its transaction that the response needs again (the new
# ticket's clocks, its rank context): kept on the session and dropped when the next
# transaction starts, so a read after the commit skips a round trip but never sees old data.
# Intake went from 19 statements to 9 with these (docs/adr/0003).
_MEMO = "memo_since_last_write"


def memo(session, name: str) -> dict:
    """The session's memo `name` (a dict), writable inside and outside transactions."""
    return session.info.setdefault(_MEMO, {}).setdefault(name, {})


def memo_for_reading(session, name: str) -> dict:
    """The memo `name` when it may be trusted: empty inside a transaction, where later writes
    in the same unit of work could change the facts after they were noted."""
    if session.info.get("in_transaction"):
        return {}
    return session.info.get(_MEMO, {}).get(name, {})


def utcnow() -> datetime:
    return datetime.now(UTC)


def dialect_name(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql": the database the session's engine talks to."""
    return session.get_bind().dialect.name


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def pk(row: _Row) -> int:
    """A stored row's id. Table models type it `int | None` only because it is None until the row is flushed."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id before it is flushed")
    return row.id


class UTCDateTime(types.TypeDecorator):
    """Timezone-aware UTC in Python on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite, the two steps above (SQLAlchemy's text → naive datetime, then `replace`) cost
    # ~2.8 µs a value, most of it `datetime.replace` (slow on 3.11); a board page reads ~2,000
    # of them. Parsing the stored text with its zone in one C call gives the same value for ~0.3 µs.
    # (docs/adr/0006)
    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        general = super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if type(value) is str:
                try:
                    return _fromisoformat(value + "+00:00")
                except ValueError:
                    pass  # not the naive text SQLite columns hold: take the general path
            return general(value) if general else value

        return process

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # SQLAlchemy's SQLite text format (so stored values still sort as text), written from
        # the UTC value's fields directly: `astimezone` and `replace` are skipped for UTC values.
        def process(value: Any) -> str | None:
            if value is None:
                return None
            if not isinstance(value, datetime):
                raise TypeError("a UTC column takes datetime values")
            if value.tzinfo is not UTC:
                if value.tzinfo is None:
                    raise ValueError("naive datetime given to a UTC column")
                value = value.astimezone(UTC)
            return (
                f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
                f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
            )

        return process


class StrEnumColumn(types.TypeDecorator):
    """A `StrEnum` stored as its plain value in a VARCHAR (no native enum, no CHECK), so the
    schema is the one the string columns had; rows read back as members, not strings."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        # A dict lookup, not `enum(value)`: a board page reads three of these per row.
        self._members: dict[str, StrEnum] = {m.value: m for m in enum}

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(value)  # a member's str() is its value

    def process_result_value(self, value: Any, dialect: Any) -> StrEnum | None:
        return None if value is None else self._members[value]


def async_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def sync_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return str(parsed.set(drivername="sqlite"))
    if parsed.drivername.startswith("postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL + NORMAL is durable across application crashes; only an OS crash can lose the last commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(settings: Settings) -> AsyncEngine:
    url = async_url(settings.database_url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 10}, module=InlineDBAPI())
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=True,
        )
    return engine


class Database:
    """The engine plus, on SQLite, an in-process write lock.

    SQLite allows one writer; its own busy-retry sleeps gave ~1 s write p99 under concurrent
    inserts. Queueing writers on an asyncio lock instead keeps p99 low.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.engine = make_engine(settings)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self.config_cache = ConfigCache()

    def session(self) -> AsyncSession:
        # autoflush off: every write happens inside `transaction()`, under the SQLite lock.
        return AsyncSession(
            self.engine, expire_on_commit=False, autoflush=False, info=attach({}, self.config_cache)
        )

    @asynccontextmanager
    async def write_lock(self) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
        else:
            async with self._write_lock:
                yield

    async def dispose(self) -> None:
        await self.engine.dispose()


_database: Database | None = None


def get_database() -> Database:
    global _database
    if _database is None:
        _database = Database(get_settings())
    return _database


def set_database(database: Database | None) -> None:
    global _database
    _database = database


@asynccontextmanager
async def transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """One unit of work: the writes in the block commit together or not at all.

    A block opened inside another on the same session joins it: a use case made of other use
    cases (an action item that opens a ticket) commits once, at the outermost block, so a
    failure half-way leaves nothing behind.
    """
    from app.live.broker import get_broker

    if session.info.get("in_transaction"):
        yield session
        return
    broker = get_broker()
    # Take a pooled connection before the write lock, never while holding it: a lock holder
    # waiting for the pool, which is held by requests waiting for the lock, is a deadlock.
    database = get_database()
    if database.is_sqlite:
        await session.connection()
    async with database.write_lock():
        session.info["in_transaction"] = True
        session.info.pop(_MEMO, None)
        try:
            yield session
            messages = session.info.pop("live", [])
            await broker.before_commit(session, messages)
            await session.commit()
        except (StaleDataError, IntegrityError) as exc:
            session.info.pop("live", None)
            await session.rollback()
            # A concurrent writer got there first (version check) or a unique rule was hit in a race.
            raise Conflict(
                "this changed while you were working on it; reload and try again",
                code="concurrent_change",
            ) from exc
        except BaseException:
            session.info.pop("live", None)
            await session.rollback()
            raise
        finally:
            session.info.pop("in_transaction", None)
    broker.after_commit(messages)
