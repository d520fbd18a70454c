"""/webhooks: subscriptions, the delivery log and manual redelivery, for admins."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.auth.policy import Principal
from app.deps import SessionDep, page_permission
from app.errors import InvalidInput, NotFound
from app.outbox.delivery import redeliver
from app.outbox.models import OutboxMessage
from app.templating import is_htmx, render
from app.webhooks import service
from app.webhooks.models import WebhookCreate, WebhookUpdate
from app.webhooks.views import delivery_view, webhook_view

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, page_permission("webhooks:read")]
Writer = Annotated[Principal, page_permission("webhooks:write")]
STATUSES = ("", "pending", "dead", "done")


async def _context(
    session, principal: Principal, *, status: str = "", sub: int | None = None, **extra
) -> dict:
    if status not in STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(s for s in STATUSES if s)}", code="bad_status"
        )
    subs = await service.list_subscriptions(session)
    rows = await service.list_deliveries(
        session, subscription_id=sub, status=status or None, limit=100
    )
    return {
        "section": "webhooks",
        "subscriptions": [webhook_view(s) for s in subs],
        "deliveries": [await delivery_view(session, m) for m in rows],
        "sub_of": {m.id: service.subscription_of(m) for m in rows},
        "status": status,
        "sub": sub,
        "can_write": principal.can("webhooks:write"),
        "form": {"url": "", "event_types": "ticket.*", "description": ""},
        **extra,
    }


@router.get("/webhooks")
async def webhooks_page(
    request: Request,
    session: SessionDep,
    principal: Reader,
    status: str = "",
    sub: int | None = None,
):
    ctx = await _context(session, principal, status=status, sub=sub)
    return render(
        request, "webhooks/index.html", ctx, block="deliveries" if is_htmx(request) else None
    )


@router.post("/webhooks")
async def create_webhook(
    request: Request,
    session: SessionDep,
    principal: Writer,
    url: Annotated[str, Form(max_length=1000)] = "",
    event_types: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=200)] = "",
):
    form = {"url": url, "event_types": event_types, "description": description}
    try:
        data = WebhookCreate.model_validate(
            dict(
                url=url.strip(),
                event_types=event_types.replace(",", " ").split(),
                description=description,
            )
        )
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors()
        )
        ctx = await _context(session, principal, form=form, form_error=errors)
        return render(request, "webhooks/index.html", ctx, status_code=422)
    sub = await service.create_subscription(session, data, actor_id=principal.user_id)
    # The secret is shown on this one response and never again (it is not in any URL or redirect).
    ctx = await _context(session, principal, created=webhook_view(sub), secret=sub.secret)
    return render(request, "webhooks/index.html", ctx, status_code=201)


@router.post("/webhooks/{webhook_id}/active")
async def toggle_webhook(
    webhook_id: int, session: SessionDep, principal: Writer, active: Annotated[bool, Form()]
):
    await service.update_subscription(
        session, webhook_id, WebhookUpdate(active=active), actor_id=principal.user_id
    )
    return RedirectResponse("/webhooks", status_code=303)


@router.post("/webhooks/{webhook_id}/delete")
async def delete_webhook(webhook_id: int, session: SessionDep, principal: Writer):
    await service.delete_subscription(session, webhook_id, actor_id=principal.user_id)
    return RedirectResponse("/webhooks", status_code=303)


async def _delivery(session, delivery_id: int) -> OutboxMessage:
    message = await session.get(OutboxMessage, delivery_id)
    if message is None or message.topic != service.TOPIC:
        raise NotFound(f"no delivery {delivery_id}")
    return message


@router.get("/webhooks/deliveries/{delivery_id}")
async def delivery_page(request: Request, delivery_id: int, session: SessionDep, principal: Reader):
    message = await _delivery(session, delivery_id)
    ctx = {
        "section": "webhooks",
        "d": await delivery_view(session, message, with_log=True),
        "sub_id": service.subscription_of(message),
        "can_write": principal.can("webhooks:write"),
    }
    return render(request, "webhooks/delivery.html", ctx, block="log" if is_htmx(request) else None)


@router.post("/webhooks/deliveries/{delivery_id}/redeliver")
async def redeliver_page(
    request: Request, delivery_id: int, session: SessionDep, principal: Writer
):
    await _delivery(session, delivery_id)
    message = await redeliver(session, delivery_id, topic_prefix=service.TOPIC)
    if not is_htmx(request):
        return RedirectResponse(f"/webhooks/deliveries/{delivery_id}", status_code=303)
    ctx = {
        "d": await delivery_view(session, message),
        "sub_of": {message.id: service.subscription_of(message)},
        "can_write": True,
    }
    return render(request, "webhooks/index.html", ctx, block="delivery_row")
