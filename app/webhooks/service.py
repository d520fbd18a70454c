"""Webhook subscriptions, and turning audit events into signed deliveries.

Every audit event is noted as it is recorded; just before its transaction commits, one
outbox message per matching active subscription is added to that same transaction. So a
delivery exists if and only if the change committed, and the issues that write events
(SLA breaches, incidents, handoffs) reach webhooks without knowing webhooks exist.
"""

import json
import secrets
from typing import Any

import httpx
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import Event
from app.audit.service import record_event
from app.cache import cached_sync
from app.db import pk, transaction, utcnow
from app.errors import NotFound
from app.outbox.delivery import Delivered, DeliveryFailed, http_client
from app.outbox.models import OutboxMessage
from app.webhooks.matching import matches
from app.webhooks.models import WebhookCreate, WebhookSubscription, WebhookUpdate
from app.webhooks.signing import SIGNATURE_HEADER, signature_header

TOPIC = "webhook.deliver"
_PENDING = "webhook_events"
# Our own bookkeeping is not announced, so a redelivery or a subscription change cannot feed itself.
_NOT_ANNOUNCED = ("webhook.",)


def delivery_key(subscription_id: int, event_id: int) -> str:
    return f"wh-{subscription_id}-ev-{event_id}"


def event_body(ev: Event) -> dict[str, Any]:
    return {
        "id": ev.id,
        "type": ev.kind,
        "created_at": ev.created_at.isoformat(),
        "subject_type": ev.subject_type,
        "subject_id": ev.subject_id,
        "ticket_id": ev.ticket_id,
        "community_id": ev.community_id,
        "actor_id": ev.actor_id,
        "data": ev.data,
    }


def note_event(session: AsyncSession, ev: Event) -> None:
    if not ev.kind.startswith(_NOT_ANNOUNCED):
        session.info.setdefault(_PENDING, []).append(ev)


@sa_event.listens_for(Session, "before_commit")
def _fan_out(sync_session: Session) -> None:
    """Runs inside commit (sync, in the async session's greenlet), so it may query and flush."""
    events = sync_session.info.pop(_PENDING, None)
    if not events:
        return
    # Flush first: event ids name the deliveries, and a subscription written in this same
    # transaction must be seen (the cache reads around areas this session has written).
    sync_session.flush()
    subs = cached_sync(sync_session, "webhooks", "active", _active_subscriptions)
    for ev in events:
        for sub_id, event_types in subs:
            if matches(event_types, ev.kind):
                sync_session.add(
                    OutboxMessage(
                        topic=TOPIC,
                        idempotency_key=delivery_key(sub_id, ev.id),
                        payload={"subscription_id": sub_id, "event": event_body(ev)},
                    )
                )


def _active_subscriptions(sync_session: Session) -> tuple[tuple[int, tuple[str, ...]], ...]:
    """(id, event types) of each active subscription; every commit with events asks, so it is cached."""
    rows = sync_session.execute(
        select(WebhookSubscription.id, WebhookSubscription.event_types)
        .where(WebhookSubscription.active == True)  # noqa: E712
        .order_by(col(WebhookSubscription.id))
    ).all()
    return tuple((sub_id, tuple(types)) for sub_id, types in rows)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget(sync_session: Session, _previous: object) -> None:
    sync_session.info.pop(_PENDING, None)


# --- subscriptions -------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def list_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    return list(
        (
            await session.exec(select(WebhookSubscription).order_by(col(WebhookSubscription.id)))
        ).all()
    )


async def get_subscription(
    session: AsyncSession, subscription_id: int
) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, subscription_id)


async def create_subscription(
    session: AsyncSession, data: WebhookCreate, *, actor_id: int | None
) -> WebhookSubscription:
    sub = WebhookSubscription(
        url=str(data.url),
        event_types=data.event_types,
        description=data.description.strip(),
        secret=new_secret(),
        created_by_id=actor_id,
    )
    async with transaction(session):
        session.add(sub)
        await session.flush()
        record_event(
            session,
            "webhook.created",
            subject_type="webhook",
            subject_id=pk(sub),
            actor_id=actor_id,
            data={"url": sub.url, "event_types": sub.event_types},
        )
    return sub


async def update_subscription(
    session: AsyncSession, subscription_id: int, patch: WebhookUpdate, *, actor_id: int | None
) -> WebhookSubscription:
    fields = patch.model_dump(exclude_unset=True)
    async with transaction(session):
        sub = await session.get(WebhookSubscription, subscription_id, with_for_update=True)
        if sub is None:
            raise NotFound(f"no webhook {subscription_id}")
        changed = {}
        for name, value in fields.items():
            if value is None:
                continue
            value = str(value) if name == "url" else value
            if getattr(sub, name) != value:
                changed[name] = {"before": getattr(sub, name), "after": value}
                setattr(sub, name, value)
        if changed:
            record_event(
                session,
                "webhook.updated",
                subject_type="webhook",
                subject_id=pk(sub),
                actor_id=actor_id,
                data={"changes": changed},
            )
    return sub


async def delete_subscription(
    session: AsyncSession, subscription_id: int, *, actor_id: int | None
) -> None:
    async with transaction(session):
        sub = await session.get(WebhookSubscription, subscription_id, with_for_update=True)
        if sub is None:
            raise NotFound(f"no webhook {subscription_id}")
        await session.delete(sub)
        record_event(
            session,
            "webhook.deleted",
            subject_type="webhook",
            subject_id=subscription_id,
            actor_id=actor_id,
            data={"url": sub.url},
        )


async def list_deliveries(
    session: AsyncSession,
    *,
    subscription_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[OutboxMessage]:
    """Recent webhook deliveries, newest first (the key names the subscription: wh-<id>-ev-<event>)."""
    stmt = select(OutboxMessage).where(OutboxMessage.topic == TOPIC)
    if subscription_id is not None:
        stmt = stmt.where(
            col(OutboxMessage.idempotency_key).startswith(f"wh-{subscription_id}-ev-")
        )
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(
        (await session.exec(stmt.order_by(col(OutboxMessage.id).desc()).limit(limit))).all()
    )


# --- delivery ------------------------------------------------------------------------------


def body_bytes(message: OutboxMessage) -> bytes:
    # The same bytes on every try, so the receiver's signature check and de-duplication agree.
    return json.dumps(message.payload["event"], sort_keys=True, separators=(",", ":")).encode()


def now_seconds() -> int:
    return int(utcnow().timestamp())


async def deliver_webhook(session: AsyncSession, message: OutboxMessage) -> Delivered:
    sub = await session.get(WebhookSubscription, message.payload.get("subscription_id"))
    found = (sub.url, sub.secret, sub.active) if sub else None
    await session.commit()  # end the read before the network call
    if found is None:
        raise DeliveryFailed("the subscription was deleted", permanent=True)
    url, secret, active = found
    if not active:
        raise DeliveryFailed("the subscription is paused", permanent=True)
    body = body_bytes(message)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Firstline-Webhooks/1",
        "Idempotency-Key": message.idempotency_key,
        "X-Firstline-Event": message.payload["event"]["type"],
        "X-Firstline-Delivery": str(message.id),
        SIGNATURE_HEADER: signature_header(secret, now_seconds(), body),
    }
    try:
        response = await http_client().post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc or 'no answer'}") from exc
    if 200 <= response.status_code < 300:
        return Delivered(detail=f"HTTP {response.status_code}", status_code=response.status_code)
    excerpt = response.text[:200]
    raise DeliveryFailed(
        f"HTTP {response.status_code}: {excerpt}", status_code=response.status_code
    )


def subscription_of(message: OutboxMessage) -> int | None:
    return message.payload.get("subscription_id") if message.topic == TOPIC else None


def event_type_of(message: OutboxMessage) -> str | None:
    return (message.payload.get("event") or {}).get("type") if message.topic == TOPIC else None
