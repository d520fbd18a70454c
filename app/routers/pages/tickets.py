"""The ticket page and every triage action as a plain form post (htmx makes them inline).

Each action works without JavaScript (303 back to where it came from); with htmx the
response is the one block that changed: a board row or the ticket's panel.
"""

from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import UploadFile

from app.audit.service import list_ticket_events
from app.auth.policy import Principal
from app.auth.uploads import download_headers
from app.community.service import list_communities
from app.db import pk
from app.deps import SessionDep, page_permission
from app.errors import InvalidInput, NotFound
from app.routers.pages.panels import build_ticket_panels
from app.templating import is_htmx, render
from app.ticket import service
from app.ticket.enums import Channel, MessageKind, Status
from app.ticket.models import LinkCreate, MessageCreate, Ticket, TicketUpdate, VoteCreate
from app.ticket.triage import TRANSITIONS
from app.ticket.views import (
    board_views,
    event_people,
    event_views,
    link_views,
    message_views,
    ticket_view,
    user_ref,
)
from app.user.service import list_staff

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, page_permission("tickets:read")]
Writer = Annotated[Principal, page_permission("tickets:write")]


async def find_ticket(session: AsyncSession, ref: str) -> Ticket:
    ticket = await service.get_ticket(session, ref)
    if ticket is None:
        raise NotFound(f"ticket {ref} does not exist")
    return ticket


# Depends on the read permission, so the login or 403 comes before any 404.
async def ticket_or_404(ref: str, session: SessionDep, _reader: Reader) -> Ticket:
    return await find_ticket(session, ref)


TicketDep = Annotated[Ticket, Depends(ticket_or_404)]


def _back(request: Request, default: str) -> str:
    """Where a plain form post returns to: the page it came from, if it is ours."""
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc == request.url.netloc:
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return default


async def _ticket_context(
    session, ticket: Ticket, principal: Principal, *, reply_body: str = ""
) -> dict:
    view = await ticket_view(session, ticket)
    messages = await message_views(
        session, await service.list_messages(session, pk(ticket), include_internal=True)
    )
    events = await list_ticket_events(session, pk(ticket))
    return {
        "t": view,
        "allowed_moves": sorted(TRANSITIONS[ticket.status], key=list(Status).index),
        "messages": messages,
        "events": await event_views(session, events),
        "people": await event_people(session, events),
        "communities": await list_communities(session),
        "links": link_views(await service.list_links(session, pk(ticket))),
        "voters": [user_ref(u) for u in await service.list_voters(session, pk(ticket))],
        "attachments": await service.list_attachments(session, pk(ticket)),
        "canned": await service.list_canned_replies(session, ticket_type=ticket.type),
        "staff": await list_staff(session),
        "reply_body": reply_body,
        "panels": await build_ticket_panels(session, ticket, principal),
    }


@router.get("/tickets/{ref}")
async def ticket_page(
    request: Request,
    ticket: TicketDep,
    session: SessionDep,
    principal: Reader,
    canned: str | None = None,
    part: str = "ticket",
):
    """The whole ticket; htmx asks for one `part` (thread or sidebar) when a live update arrives."""
    if part not in ("ticket", "thread", "sidebar"):
        raise InvalidInput("part must be ticket, thread or sidebar", code="bad_part")
    reply_body = ""
    if canned:  # the no-JavaScript way to pick a canned reply: reload with it in the box
        _, reply_body = await service.render_canned_reply(
            session, canned, ticket, agent_name=principal.name
        )
    ctx = await _ticket_context(session, ticket, principal, reply_body=reply_body)
    return render(request, "ticket/detail.html", ctx, block=part)


@router.get("/tickets/{ref}/canned")
async def canned_reply(
    request: Request, ticket: TicketDep, session: SessionDep, principal: Reader, slug: str = ""
):
    body = ""
    if slug:
        _, body = await service.render_canned_reply(
            session, slug, ticket, agent_name=principal.name
        )
    return render(
        request,
        "ticket/detail.html",
        {"t": await ticket_view(session, ticket), "reply_body": body},
        block="reply_text",
    )


async def _respond(request: Request, session, ticket: Ticket, target: str) -> Response:
    """After an action: the changed block for htmx, else back to the page it came from."""
    principal = request.state.principal
    if not is_htmx(request):
        return RedirectResponse(_back(request, f"/tickets/{ticket.id}"), status_code=303)
    if target == "row":
        return render(
            request,
            "board/index.html",
            {"t": (await board_views(session, [ticket]))[0], "staff": await list_staff(session)},
            block="row",
        )
    block = "sidebar" if target == "sidebar" else "ticket"
    return render(
        request,
        "ticket/detail.html",
        await _ticket_context(session, ticket, principal),
        block=block,
    )


def _blank_to_none(value: str | None) -> str | None:
    return value if value not in (None, "") else None


def _text(value: str | UploadFile) -> str:
    """A text field's value; a file sent in its place is refused as the bad input it is."""
    if not isinstance(value, str):
        raise InvalidInput("expected text, not a file", code="bad_field")
    return value


@router.post("/tickets/{ref}/triage")
async def triage(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    target: Annotated[str, Form()] = "ticket",
    version: Annotated[int | None, Form()] = None,
):
    """One endpoint for the inline edits: only the fields present in the form change."""
    form = await request.form()
    fields: dict = {}
    for name in ("status", "type", "urgency", "milestone", "title"):
        if name in form:
            fields[name] = _blank_to_none(_text(form[name]))
    if "criticality" in form:
        fields["criticality"] = _blank_to_none(_text(form["criticality"]))
    if "assignee_id" in form:
        fields["assignee_id"] = _blank_to_none(_text(form["assignee_id"]))
    if "community" in form:
        fields["community"] = _blank_to_none(_text(form["community"]))
    if "affected_users" in form:
        fields["affected_users"] = _blank_to_none(_text(form["affected_users"]))
    if "affected_communities" in form:
        fields["affected_communities"] = form["affected_communities"] or 1
    if "impact" in form:  # the classification form: checkboxes are absent when unticked
        for name in ("data_loss", "blocks_priority_team", "funded", "fits_goals"):
            fields[name] = name in form
        workaround = _text(form.get("has_workaround", ""))
        fields["has_workaround"] = {"yes": True, "no": False}.get(workaround)
    if "tags" in form:
        fields["tags"] = [t for t in str(form["tags"]).replace(",", " ").split() if t]
    if "next_update_at" in form:
        raw = _blank_to_none(_text(form["next_update_at"]))
        fields["next_update_at"] = _parse_local(raw, form.get("tz_offset"))
    try:
        patch = TicketUpdate.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None
    ticket = await service.update_ticket(session, ref, patch, actor=principal, if_match=version)
    return await _respond(request, session, ticket, target)


def _parse_local(raw: str | None, tz_offset: object) -> datetime | None:
    """`<input type=datetime-local>` sends local time without a zone; the page sends the
    browser's UTC offset (minutes) beside it, and without JavaScript UTC is assumed."""
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            "next update time must look like 2026-11-23T14:30", code="bad_datetime"
        ) from None
    if value.tzinfo is None:
        try:
            minutes = int(str(tz_offset or "0"))
        except ValueError:
            minutes = 0
        value = value.replace(tzinfo=timezone(timedelta(minutes=-minutes)))
    return value.astimezone(UTC)


@router.post("/tickets/{ref}/claim")
async def claim(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    target: Annotated[str, Form()] = "ticket",
):
    ticket = await service.claim_ticket(session, ref, actor=principal)
    return await _respond(request, session, ticket, target)


@router.post("/tickets/{ref}/unclaim")
async def unclaim(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    target: Annotated[str, Form()] = "ticket",
):
    ticket = await service.release_claim(session, ref, actor=principal)
    return await _respond(request, session, ticket, target)


@router.post("/tickets/{ref}/status/{status}")
async def set_status(
    request: Request,
    ref: str,
    status: Status,
    session: SessionDep,
    principal: Writer,
    target: Annotated[str, Form()] = "ticket",
):
    ticket = await service.change_status(session, ref, status, actor=principal)
    return await _respond(request, session, ticket, target)


@router.post("/tickets/{ref}/messages")
async def reply(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    body: Annotated[str, Form(max_length=50_000)] = "",
    kind: Annotated[MessageKind, Form()] = MessageKind.public,
    then_status: Annotated[str, Form()] = "",
):
    try:
        data = MessageCreate(body=body, kind=kind)
    except ValidationError:
        raise InvalidInput("write something before sending", code="empty_message") from None
    await service.post_message(session, ref, data, actor=principal, channel=Channel.web)
    if then_status:  # "Reply and mark pending/resolved" in one click
        ticket = await service.change_status(session, ref, Status(then_status), actor=principal)
    else:
        ticket = await find_ticket(session, ref)
    return await _respond(request, session, ticket, "ticket")


@router.post("/tickets/{ref}/votes")
async def vote(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    email: Annotated[str, Form(max_length=254)] = "",
    target: Annotated[str, Form()] = "sidebar",
):
    try:
        data = VoteCreate(email=email or None)
    except ValidationError:
        raise InvalidInput(f"{email!r} is not an e-mail address", code="bad_email") from None
    ticket = await service.add_vote(session, ref, voter_email=data.email, actor=principal)
    return await _respond(request, session, ticket, target)


@router.post("/tickets/{ref}/links")
async def link(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    url: Annotated[str, Form(max_length=1000)],
    title: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form()] = "tracker",
    target: Annotated[str, Form()] = "sidebar",
):
    try:
        data = LinkCreate.model_validate(
            dict(url=url, title=title, kind=kind)
        )  # form text: parsed there
    except ValidationError:
        raise InvalidInput("the link must be an http(s) URL", code="bad_url") from None
    await service.add_link(session, ref, data, actor=principal)
    return await _respond(request, session, await find_ticket(session, ref), target)


@router.post("/tickets/{ref}/links/{link_id}/delete")
async def unlink(
    request: Request,
    ref: str,
    link_id: int,
    session: SessionDep,
    principal: Writer,
    target: Annotated[str, Form()] = "sidebar",
):
    await service.remove_link(session, ref, link_id, actor=principal)
    return await _respond(request, session, await find_ticket(session, ref), target)


@router.get("/tickets/{ref}/attachments/{attachment_id}")
async def attachment(ticket: TicketDep, attachment_id: int, session: SessionDep, principal: Reader):
    att = await service.get_attachment(session, pk(ticket), attachment_id)
    if att is None:
        raise NotFound("no such attachment on this ticket")
    return Response(att.data, headers=download_headers(att.filename))
