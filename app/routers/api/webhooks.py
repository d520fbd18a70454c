"""/api/v1/webhooks: subscriptions per event type, their delivery log, manual redelivery."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.auth.policy import Principal
from app.deps import SessionDep, api_permission
from app.errors import NotFound
from app.outbox.delivery import redeliver
from app.outbox.models import OutboxMessage, OutboxStatus
from app.routers.api.common import errors
from app.webhooks import service
from app.webhooks.models import (
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhookUpdate,
)
from app.webhooks.views import delivery_view, webhook_view

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Reader = Annotated[Principal, api_permission("webhooks:read")]
Writer = Annotated[Principal, api_permission("webhooks:write")]
WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=list[WebhookPublic], responses=errors(401, 403))
async def list_webhooks(session: SessionDep, principal: Reader):
    return [webhook_view(s) for s in await service.list_subscriptions(session)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=errors(400, 401, 403, 422),
    summary="Subscribe a URL to event types",
)
async def create_webhook(
    data: WebhookCreate, session: SessionDep, principal: Writer, response: Response
):
    """The response carries the signing `secret`; it is never shown again. Each delivery is a
    JSON POST with `X-Firstline-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
    `Idempotency-Key` (the same on every retry) and `X-Firstline-Event`."""
    sub = await service.create_subscription(session, data, actor_id=principal.user_id)
    response.headers["Location"] = f"/api/v1/webhooks/{sub.id}"
    return WebhookCreated(**webhook_view(sub).model_dump(), secret=sub.secret)


async def _subscription(session, webhook_id: int):
    sub = await service.get_subscription(session, webhook_id)
    if sub is None:
        raise NotFound(f"no webhook {webhook_id}")
    return sub


@router.get("/{webhook_id}", response_model=WebhookPublic, responses=errors(401, 403, 404))
async def read_webhook(webhook_id: WebhookId, session: SessionDep, principal: Reader):
    return webhook_view(await _subscription(session, webhook_id))


@router.patch(
    "/{webhook_id}", response_model=WebhookPublic, responses=errors(400, 401, 403, 404, 422)
)
async def patch_webhook(
    webhook_id: WebhookId, patch: WebhookUpdate, session: SessionDep, principal: Writer
):
    return webhook_view(
        await service.update_subscription(session, webhook_id, patch, actor_id=principal.user_id)
    )


@router.delete(
    "/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404)
)
async def delete_webhook(webhook_id: WebhookId, session: SessionDep, principal: Writer):
    await service.delete_subscription(session, webhook_id, actor_id=principal.user_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=list[DeliveryPublic],
    responses=errors(401, 403, 404, 422),
)
async def list_webhook_deliveries(
    webhook_id: WebhookId,
    session: SessionDep,
    principal: Reader,
    status_: Annotated[OutboxStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    await _subscription(session, webhook_id)
    rows = await service.list_deliveries(
        session, subscription_id=webhook_id, status=status_.value if status_ else None, limit=limit
    )
    return [await delivery_view(session, m) for m in rows]


@router.get(
    "/deliveries/{delivery_id}", response_model=DeliveryPublic, responses=errors(401, 403, 404)
)
async def read_delivery(delivery_id: WebhookId, session: SessionDep, principal: Reader):
    message = await session.get(OutboxMessage, delivery_id)
    if message is None or message.topic != service.TOPIC:
        raise NotFound(f"no delivery {delivery_id}")
    return await delivery_view(session, message, with_log=True)


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryPublic,
    responses=errors(401, 403, 404, 409),
    summary="Send a delivered or dead-lettered event again",
)
async def redeliver_delivery(delivery_id: WebhookId, session: SessionDep, principal: Writer):
    """Queued again with the same `Idempotency-Key`; 409 if it is still queued."""
    message = await redeliver(session, delivery_id, topic_prefix=service.TOPIC)
    return await delivery_view(session, message)
