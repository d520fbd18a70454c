"""Putting messages in the outbox. Delivery lives with the handlers of each topic."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.outbox.models import OutboxMessage


def enqueue(
    session: AsyncSession,
    topic: str,
    payload: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    available_at: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the current unit of work; it is delivered only if that commits.

    Give a stable `idempotency_key` (e.g. "incident-7-update-3-rep-12") when the same
    logical message could be enqueued twice: the second enqueue then fails the unique
    constraint instead of sending twice.
    """
    message = OutboxMessage(
        topic=topic, payload=payload, idempotency_key=idempotency_key or uuid.uuid4().hex
    )
    if available_at is not None:
        message.available_at = available_at
    session.add(message)
    return message
