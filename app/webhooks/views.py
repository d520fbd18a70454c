"""Shaping subscriptions and deliveries for the API and the pages (one place for both)."""

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import pk
from app.outbox.delivery import list_attempts
from app.outbox.models import OutboxMessage
from app.webhooks.models import (
    DeliveryAttemptPublic,
    DeliveryPublic,
    WebhookPublic,
    WebhookSubscription,
)
from app.webhooks.service import event_type_of


def webhook_view(sub: WebhookSubscription) -> WebhookPublic:
    return WebhookPublic(
        id=pk(sub),
        url=sub.url,
        event_types=sub.event_types,
        description=sub.description,
        active=sub.active,
        created_at=sub.created_at,
    )


async def delivery_view(
    session: AsyncSession, message: OutboxMessage, *, with_log: bool = False
) -> DeliveryPublic:
    log = (
        [
            DeliveryAttemptPublic.model_validate(a, from_attributes=True)
            for a in await list_attempts(session, pk(message))
        ]
        if with_log
        else []
    )
    return DeliveryPublic(
        id=pk(message),
        topic=message.topic,
        idempotency_key=message.idempotency_key,
        status=message.status,
        attempts=message.attempts,
        available_at=message.available_at,
        last_error=message.last_error,
        created_at=message.created_at,
        delivered_at=message.delivered_at,
        event_type=event_type_of(message),
        payload=message.payload.get("event") if with_log else None,
        log=log,
    )
