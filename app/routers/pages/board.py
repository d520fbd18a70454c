"""The triage board at `/` and the live-update stream it listens to."""

import asyncio
import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sse_starlette.sse import EventSourceResponse

from app.auth.policy import Principal
from app.community.service import list_communities
from app.deps import OptionalPagePrincipal, SessionDep, page_permission, public
from app.errors import InvalidInput
from app.live.broker import get_broker
from app.routers.pages.panels import build_board_panels
from app.sla.service import board_filter as sla_board_filter
from app.sla.service import sla_now
from app.templating import render
from app.ticket import service
from app.ticket.enums import Channel, Status, TicketType
from app.ticket.views import board_views
from app.user.service import list_staff

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100

# Tabs of the board: name → (label, statuses)
VIEWS: dict[str, tuple[str, list[Status]]] = {
    "active": ("To do", [Status.new, Status.open]),
    "new": ("New", [Status.new]),
    "pending": ("Pending", [Status.pending]),
    "approval": ("Awaiting approval", [Status.awaiting_approval]),
    "resolved": ("Resolved", [Status.resolved]),
    "closed": ("Closed", [Status.closed]),
    "all": ("All", []),
}

Reader = Annotated[Principal, page_permission("tickets:read")]


def _enum_or_none(enum, value: str | None, name: str):
    if not value:
        return None
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(f"unknown {name} {value!r}", code=f"bad_{name}") from None


def _view_counts(by_status: dict[str, int]) -> dict[str, int]:
    return {
        name: sum(by_status.get(s.value, 0) for s in statuses)
        if statuses
        else sum(by_status.values())
        for name, (_label, statuses) in VIEWS.items()
    }


@router.get("/")
async def board(
    request: Request,
    session: SessionDep,
    principal: Reader,
    view: str = "active",
    type: str | None = None,
    community: str | None = None,
    assignee: str | None = None,
    channel: str | None = None,
    tag: Annotated[str | None, Query(max_length=48)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: str = "priority",
    sla: str | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
):
    if view not in VIEWS:
        raise InvalidInput(f"unknown board view {view!r}", code="bad_view")
    flt = service.TicketFilter(
        statuses=VIEWS[view][1],
        type=_enum_or_none(TicketType, type, "type"),
        community=community or None,
        assignee=assignee or None,
        channel=_enum_or_none(Channel, channel, "channel"),
        tag=tag or None,
        text=q or None,
        sort=sort,
        only_ids=sla_board_filter(sla, sla_now()) if sla else None,
    )
    # Staff and communities first: the rows' assignees, communities and budgets then come from
    # this request's session instead of one more query each (see ticket/views.py).
    staff = await list_staff(session)
    communities = await list_communities(session)
    rows, next_cursor = await service.list_tickets(
        session, flt, viewer_id=principal.user_id, cursor=cursor, limit=PAGE_SIZE
    )
    tickets = await board_views(session, rows)
    filters = {
        k: v
        for k, v in dict(
            view=view,
            type=type,
            community=community,
            assignee=assignee,
            channel=channel,
            tag=tag,
            q=q,
            sort=sort if sort != "priority" else None,
            sla=sla,
        ).items()
        if v
    }
    ctx = {
        "tickets": tickets,
        "filters": filters,
        "query": urlencode(filters),
        "next_url": "/?" + urlencode({**filters, "cursor": next_cursor}) if next_cursor else None,
        "views": VIEWS,
        "view": view,
        "view_counts": _view_counts(await service.count_by_status(session)),
        "staff": staff,
        "communities": communities,
        "panels": await build_board_panels(session, principal),
    }
    if cursor:  # "load more": only the next rows, appended under the current ones
        return render(request, "board/index.html", ctx, block="more_rows")
    return render(request, "board/index.html", ctx, block="board_rows")


@router.get("/live", dependencies=[public("answers 401 itself to anyone not signed in")])
async def live(request: Request, principal: OptionalPagePrincipal):
    """Server-sent events: `change` whenever something the board shows changes."""
    if principal is None or not principal.can("tickets:read"):
        return render(
            request,
            "errors/error.html",
            {"status": 401, "detail": "sign in to receive live updates", "code": "login_required"},
            status_code=401,
        )
    # Your own changes already came back in the response to your action; refreshing the
    # board for them again would only race with your next click.
    me = principal.user_id
    subscription = get_broker().subscribe(lambda m: m.actor_id != me or m.actor_id is None)

    async def stream():
        try:
            yield {"event": "ready", "data": "{}"}
            async for message in subscription:
                if await request.is_disconnected():
                    break
                yield {
                    "event": "change",
                    "data": json.dumps({"kind": message.kind, "ticket_id": message.ticket_id}),
                }
                if message.ticket_id:
                    yield {"event": f"ticket-{message.ticket_id}", "data": message.kind}
        except asyncio.CancelledError:
            pass
        finally:
            subscription.close()

    return EventSourceResponse(stream(), ping=15, headers={"Vary": "HX-Request"})
