"""Delivering outbox messages at least once: claim, hand to the topic's handler, record the outcome.

A worker claims due rows by stamping a lease on them (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so several workers never take the same row; on SQLite the one in-process
writer lock does that). It calls the topic's handler outside any transaction, then
records the outcome: done, a retry after an exponential backoff, or dead after the retry
budget. A worker killed mid-delivery leaves its lease to expire, and the row is tried
again: receivers de-duplicate by the message's idempotency key, which never changes.
"""

import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import dialect_name, pk, transaction, utcnow
from app.errors import Conflict, NotFound
from app.integrations.settings import get_integration_settings
from app.outbox.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from app.registry import Hooks

log = logging.getLogger("firstline.delivery")


class DeliveryFailed(Exception):
    """The handler could not deliver. `permanent`: retrying cannot help (dead-letter now).

    `retry_after`: the receiver said when to come back (HTTP 429 Retry-After), in seconds.
    """

    def __init__(
        self,
        detail: str,
        *,
        status_code: int | None = None,
        permanent: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Delivered:
    detail: str = "delivered"
    status_code: int | None = None


Handler = Callable[[AsyncSession, OutboxMessage], Awaitable[Delivered]]


def _always() -> bool:
    return True


@dataclass(frozen=True)
class OutboxHandler:
    """Delivers messages of `topic`; topics without a handler stay pending."""

    topic: str
    deliver: Handler
    # A topic whose transport is not configured (no SMTP host, no Slack URL) is not claimed:
    # its messages wait in the outbox, untried, until it is.
    enabled: Callable[[], bool] = _always


OUTBOX_HANDLERS: Hooks[OutboxHandler] = Hooks("outbox handlers")  # filled by app/wiring.py


def _handler_for(topic: str) -> Handler:
    for entry in OUTBOX_HANDLERS:
        if entry.topic == topic:
            return entry.deliver
    raise KeyError(topic)


def ready_topics() -> list[str]:
    return sorted(h.topic for h in OUTBOX_HANDLERS if h.enabled())


_http_client: contextvars.ContextVar[httpx.AsyncClient | None] = contextvars.ContextVar(
    "delivery_http", default=None
)


def http_client() -> httpx.AsyncClient:
    """The batch's shared client: building one per message (TLS context, pool) cost more than the POST."""
    client = _http_client.get()
    if client is None:
        raise RuntimeError("http_client() is only available while deliver_due runs")
    return client


def backoff(attempt: int, *, base: float, cap: float) -> timedelta:
    """Delay before try `attempt + 1`: base, 2·base, 4·base, ... never more than `cap`."""
    exponent = min(max(attempt - 1, 0), 40)
    return timedelta(seconds=min(base * (2**exponent), cap))


async def claim_due(
    session: AsyncSession, now: datetime, *, limit: int = 20, topics: list[str] | None = None
) -> list[OutboxMessage]:
    """Take up to `limit` due messages for this worker by stamping a lease; returns them."""
    settings = get_integration_settings()
    topics = ready_topics() if topics is None else topics
    if not topics:
        return []
    lease_until = now + timedelta(seconds=settings.delivery_lease_seconds)
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.pending,
            col(OutboxMessage.available_at) <= now,
            or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < now),
            col(OutboxMessage.topic).in_(topics),
        )
        .order_by(col(OutboxMessage.available_at), col(OutboxMessage.id))
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        due = due.with_for_update(skip_locked=True)
    async with transaction(session):
        result = await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(due.scalar_subquery()))
            .values(locked_until=lease_until, attempts=OutboxMessage.attempts + 1)
            .returning(col(OutboxMessage.id))
            .execution_options(synchronize_session=False)
        )
        ids = [row[0] for row in result.all()]
        if not ids:
            return []
        rows = await session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids))
            .order_by(col(OutboxMessage.id))
            .execution_options(populate_existing=True)
        )
        return list(rows.all())


async def _record(
    session: AsyncSession,
    message: OutboxMessage,
    *,
    now: datetime,
    ok: bool,
    detail: str,
    status_code: int | None,
    permanent: bool,
    duration_ms: int,
    retry_after: float | None = None,
) -> None:
    settings = get_integration_settings()
    async with transaction(session):
        row = (
            await session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.id == message.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).first()
        if row is None:
            return
        session.add(
            DeliveryAttempt(
                outbox_message_id=pk(row),
                attempt=row.attempts,
                ok=ok,
                status_code=status_code,
                detail=detail[:2000],
                duration_ms=duration_ms,
                created_at=now,
            )
        )
        if row.status != OutboxStatus.pending:
            return  # another worker finished it after our lease ran out; keep its outcome
        row.locked_until = None
        if ok:
            row.status = OutboxStatus.done
            row.delivered_at = now
            row.last_error = None
        elif permanent or row.attempts >= settings.delivery_max_attempts:
            row.status = OutboxStatus.dead
            row.last_error = detail[:2000]
        else:
            delay = backoff(
                row.attempts,
                base=settings.delivery_backoff_seconds,
                cap=settings.delivery_backoff_max_seconds,
            )
            if retry_after:  # the receiver's own word wins over our schedule, within the same cap
                delay = timedelta(seconds=min(retry_after, settings.delivery_backoff_max_seconds))
            row.available_at = now + delay
            row.last_error = detail[:2000]


async def deliver_message(
    session: AsyncSession, message: OutboxMessage, clock: Callable[[], datetime] = utcnow
) -> bool:
    handler = _handler_for(message.topic)
    started = time.perf_counter()
    ok, permanent, status_code, retry_after = False, False, None, None
    try:
        outcome = await handler(session, message)
        ok, detail, status_code = True, outcome.detail, outcome.status_code
    except DeliveryFailed as exc:
        detail, status_code, permanent, retry_after = (
            exc.detail,
            exc.status_code,
            exc.permanent,
            exc.retry_after,
        )
    except (
        Exception
    ) as exc:  # a bug in a handler must not stop the others; it is retried and logged
        log.exception("delivering outbox message %s failed", message.id)
        detail = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.perf_counter() - started) * 1000)
    await _record(
        session,
        message,
        now=clock(),
        ok=ok,
        detail=detail,
        status_code=status_code,
        permanent=permanent,
        duration_ms=duration_ms,
        retry_after=retry_after,
    )
    return ok


async def deliver_due(
    session: AsyncSession,
    now: datetime,
    *,
    limit: int = 20,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Claim and deliver what is due at `now`; returns how many were delivered."""
    messages = await claim_due(session, now, limit=limit)
    if not messages:
        return 0
    delivered = 0
    timeout = get_integration_settings().delivery_timeout_seconds
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        token = _http_client.set(client)
        try:
            for message in messages:
                delivered += await deliver_message(session, message, clock or (lambda: now))
        finally:
            _http_client.reset(token)
    return delivered


async def delivery_job(session: AsyncSession, now: datetime) -> int:
    return await deliver_due(session, now, clock=utcnow)


# --- reading and manual redelivery ---------------------------------------------------------


async def list_attempts(session: AsyncSession, message_id: int) -> list[DeliveryAttempt]:
    stmt = (
        select(DeliveryAttempt)
        .where(DeliveryAttempt.outbox_message_id == message_id)
        .order_by(col(DeliveryAttempt.id))
    )
    return list((await session.exec(stmt)).all())


async def redeliver(
    session: AsyncSession, message_id: int, *, topic_prefix: str | None = None
) -> OutboxMessage:
    """Send a finished or dead message again, with the same idempotency key (it is the same message)."""
    async with transaction(session):
        row = (
            await session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).first()
        if row is None or (topic_prefix and not row.topic.startswith(topic_prefix)):
            raise NotFound(f"no delivery {message_id}")
        if row.status == OutboxStatus.pending:
            raise Conflict(
                "this delivery is still queued; it will be tried again on its own",
                code="delivery_pending",
            )
        row.status = OutboxStatus.pending
        row.attempts = 0
        row.available_at = utcnow()
        row.locked_until = None
    return row
