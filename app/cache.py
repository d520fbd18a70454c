"""A per-process cache of configuration that is read on every request and written rarely.

Every intake used to re-read the SLA rules and calendars, the webhook subscriptions and the
rota schedules (one round trip each, ~2 ms apiece under load: docs/performance.md), and a
who-is-on-call lookup cannot meet 1 ms if it queries at all. These tables change when an
admin edits them, so each process keeps a snapshot per *area* and drops it:

- at once when a session of this process commits a write to one of the area's tables (ORM
  events below: rows added, changed or deleted, and bulk UPDATE/DELETE statements);
- after `MAX_AGE` seconds in any case, which bounds how long a write made by another
  process (a second replica on PostgreSQL, the CLI) stays unseen.

A session that has written to an area but not committed yet reads around the cache, so a
use case sees its own writes. Models opt in with a class attribute:
`__cache_area__ = "rota"`. Snapshots must be plain values or detached copies: a cached ORM
row would be shared between sessions. Why and what it bought: docs/adr/0007.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

MAX_AGE = 1.0  # seconds a snapshot is trusted without a local write having dropped it

T = TypeVar("T")
_TOUCHED = "cache_areas_touched"
_CACHE = "config_cache"


@dataclass
class _Entry:
    generation: int
    loaded_at: float
    value: Any


class ConfigCache:
    """Snapshots per (area, key) with a generation per area, bumped by local commits."""

    def __init__(self) -> None:
        self._generations: dict[str, int] = {}
        self._entries: dict[tuple[str, Any], _Entry] = {}

    def generation(self, area: str) -> int:
        return self._generations.get(area, 0)

    def bump(self, area: str) -> None:
        self._generations[area] = self.generation(area) + 1

    def fresh(self, area: str, key: Any) -> _Entry | None:
        entry = self._entries.get((area, key))
        if entry is None or entry.generation != self.generation(area):
            return None
        if time.monotonic() - entry.loaded_at > MAX_AGE:
            return None
        return entry

    def store(self, area: str, key: Any, generation: int, value: Any) -> None:
        # `generation` was read before loading: a commit that landed during the load leaves
        # this entry already stale, so the next read loads again instead of trusting it.
        self._entries[(area, key)] = _Entry(generation, time.monotonic(), value)


_MISS = object()


def _lookup(session: Any, area: str, key: Any) -> tuple[Any, Callable[[Any], None]]:
    """(the snapshot or _MISS, how to store a freshly loaded one) for this session."""
    cache: ConfigCache | None = session.info.get(_CACHE)  # None: a session made elsewhere
    if cache is None or area in session.info.get(_TOUCHED, ()):
        return _MISS, lambda value: None  # read around the cache, and keep nothing
    entry = cache.fresh(area, key)
    if entry is not None:
        return entry.value, lambda value: None
    generation = cache.generation(area)  # read before loading: see ConfigCache.store
    return _MISS, lambda value: cache.store(area, key, generation, value)


async def cached(session: Any, area: str, key: Any, load: Callable[[Any], Awaitable[T]]) -> T:
    """The snapshot of `area`/`key`, loading it with `await load(session)` when stale."""
    value, store = _lookup(session, area, key)
    if value is _MISS:
        value = await load(session)
        store(value)
    return value


def cached_sync(sync_session: Session, area: str, key: Any, load: Callable[[Session], T]) -> T:
    """`cached` for code running inside SQLAlchemy's sync events (e.g. before_commit)."""
    value, store = _lookup(sync_session, area, key)
    if value is _MISS:
        value = load(sync_session)
        store(value)
    return value


def attach(info: dict, cache: ConfigCache) -> dict:
    """Session `info` for a new session of the database that owns `cache`."""
    info[_CACHE] = cache
    return info


# --- noticing writes ---------------------------------------------------------------------


def _area_of(cls: Any) -> str | None:
    return getattr(cls, "__cache_area__", None)


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context: Any) -> None:
    # In after_flush the new/dirty/deleted collections still hold what was just written.
    areas = {_area_of(type(obj)) for obj in (*session.new, *session.dirty, *session.deleted)}
    areas.discard(None)
    if areas:
        session.info.setdefault(_TOUCHED, set()).update(areas)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state: Any) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    area = _area_of(mapper.class_) if mapper is not None else None
    if area is not None:
        state.session.info.setdefault(_TOUCHED, set()).add(area)


@event.listens_for(Session, "after_commit")
def _drop_written_areas(session: Session) -> None:
    areas = session.info.pop(_TOUCHED, None)
    cache = session.info.get(_CACHE)
    if areas and cache is not None:
        for area in areas:
            cache.bump(area)


@event.listens_for(Session, "after_soft_rollback")
def _forget_written_areas(session: Session, _previous: Any) -> None:
    session.info.pop(_TOUCHED, None)
