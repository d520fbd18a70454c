"""Live-update fan-out: changes committed anywhere reach every open board.

Memory backend: one process (the SQLite default). PostgreSQL backend: NOTIFY is sent in
the same transaction as the change (so a rolled-back change is never announced) and every
replica LISTENs, so boards on all replicas hear changes made on any of them.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "firstline_live"
QUEUE_SIZE = 256


@dataclass(frozen=True)
class LiveMessage:
    kind: str
    ticket_id: int | None = None
    community_id: int | None = None
    event_id: int | None = None
    actor_id: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> "LiveMessage":
        data = json.loads(raw)
        return cls(
            **{
                k: data.get(k)
                for k in ("kind", "ticket_id", "community_id", "event_id", "actor_id")
            }
        )


RESYNC = LiveMessage(kind="resync")


class Subscription:
    def __init__(self, broker: "Broker", accept: Callable[[LiveMessage], bool]):
        self._broker = broker
        self.accept = accept
        self.queue: asyncio.Queue[LiveMessage] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, message: LiveMessage) -> None:
        if not self.accept(message):
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # A slow client missed changes: drop its backlog and tell it to reload everything.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    async def __aiter__(self) -> AsyncIterator[LiveMessage]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        self._broker._subscribers.discard(self)


class Broker:
    """In-process fan-out; the base for every backend."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def subscribe(self, accept: Callable[[LiveMessage], bool] = lambda _m: True) -> Subscription:
        sub = Subscription(self, accept)
        self._subscribers.add(sub)
        return sub

    def fan_out(self, message: LiveMessage) -> None:
        for sub in list(self._subscribers):
            sub.offer(message)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def before_commit(self, session: Any, messages: list[LiveMessage]) -> None:
        return None

    def after_commit(self, messages: list[LiveMessage]) -> None:
        for message in messages:
            self.fan_out(message)


class PostgresBroker(Broker):
    def __init__(self, conninfo: str) -> None:
        super().__init__()
        self._conninfo = conninfo
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen_forever(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    # After a reconnect we may have missed notifications: boards reload.
                    self.fan_out(RESYNC)
                    async for notify in conn.notifies():
                        try:
                            self.fan_out(LiveMessage.from_json(notify.payload))
                        except (ValueError, TypeError):
                            log.warning("ignoring malformed live notification")
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: retry, boards keep their last state
                log.exception("live listener lost its connection; retrying")
                await asyncio.sleep(1)

    async def before_commit(self, session: Any, messages: list[LiveMessage]) -> None:
        from sqlalchemy import text

        for message in messages:
            stmt = text("SELECT pg_notify(:c, :p)").bindparams(c=CHANNEL, p=message.to_json())
            await session.exec(stmt)

    def after_commit(self, messages: list[LiveMessage]) -> None:
        return None  # delivered through LISTEN, like every other replica's changes


_broker: Broker | None = None


def get_broker() -> Broker:
    global _broker
    if _broker is None:
        _broker = Broker()
    return _broker


def set_broker(broker: Broker | None) -> None:
    global _broker
    _broker = broker
