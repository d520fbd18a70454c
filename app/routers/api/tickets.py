"""/api/v1/tickets: intake, listing, triage and the ticket's sub-resources."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import Response as RawResponse

from app.audit.models import EventPublic
from app.audit.service import list_ticket_events
from app.auth.policy import Principal
from app.auth.uploads import download_headers
from app.db import pk
from app.deps import SessionDep, SettingsDep, api_permission, rate_limit
from app.errors import NotFound
from app.routers.api.common import errors, etag, parse_if_match
from app.ticket import service
from app.ticket.enums import Channel, Status, TicketType
from app.ticket.models import (
    AttachmentPublic,
    CannedReplyPublic,
    CannedReplyRendered,
    ClaimPublic,
    LinkCreate,
    LinkPublic,
    MessageCreate,
    MessagePublic,
    Ticket,
    TicketCreate,
    TicketPage,
    TicketPublic,
    TicketUpdate,
    VoteCreate,
    VoteSummary,
)
from app.ticket.views import (
    event_views,
    link_views,
    message_views,
    ticket_view,
    ticket_views,
    user_ref,
    users_by_id,
)

router = APIRouter(prefix="/tickets", tags=["tickets"])

Reader = Annotated[Principal, api_permission("tickets:read")]
Writer = Annotated[Principal, api_permission("tickets:write")]
TicketRef = Annotated[
    str, Path(description="ticket id or key, e.g. `42` or `SUP-42`", examples=["SUP-42"])
]


async def ticket_or_404(ref: TicketRef, session: SessionDep, _reader: Reader) -> Ticket:
    ticket = await service.get_ticket(session, ref)
    if ticket is None:
        raise NotFound(f"ticket {ref} does not exist")
    return ticket


TicketDep = Annotated[Ticket, Depends(ticket_or_404)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketPublic,
    responses=errors(400, 401, 403, 413, 422, 429),
    summary="Open a ticket",
)
async def create_ticket(
    data: TicketCreate,
    session: SessionDep,
    principal: Writer,
    response: Response,
    request: Request,
    settings: SettingsDep,
):
    """Requests from someone who is not a representative of the community start as
    `awaiting_approval`; everything else starts as `new`."""
    rate_limit(
        "api-intake", settings.api_intake_rate_per_minute, request, key=f"user:{principal.user_id}"
    )
    ticket = await service.submit_ticket(session, data, actor=principal)
    response.headers["Location"] = f"/api/v1/tickets/{ticket.id}"
    response.headers["ETag"] = etag(ticket.version)
    return await ticket_view(session, ticket)


@router.get(
    "",
    response_model=TicketPage,
    responses=errors(401, 403, 422),
    summary="List and filter tickets",
)
async def list_tickets(
    session: SessionDep,
    principal: Reader,
    status_: Annotated[
        list[Status] | None, Query(alias="status", description="repeat for several")
    ] = None,
    type_: Annotated[TicketType | None, Query(alias="type")] = None,
    community: Annotated[str | None, Query(description="community slug")] = None,
    assignee: Annotated[str | None, Query(description="user id, `me` or `none`")] = None,
    channel: Channel | None = None,
    tag: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="text in title or body")] = None,
    sort: Annotated[
        str,
        Query(
            pattern="^(priority|age|-age)$",
            description="`priority` (board order), `age` (oldest first) or `-age`",
        ),
    ] = "priority",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    flt = service.TicketFilter(
        statuses=status_ or [],
        type=type_,
        community=community,
        assignee=assignee,
        channel=channel,
        tag=tag,
        text=q,
        sort=sort,
    )
    rows, next_cursor = await service.list_tickets(
        session, flt, viewer_id=principal.user_id, cursor=cursor, limit=limit
    )
    return TicketPage(items=await ticket_views(session, rows), next_cursor=next_cursor)


@router.get("/{ref}", response_model=TicketPublic, responses=errors(401, 403, 404))
async def read_ticket(
    ticket: TicketDep, session: SessionDep, principal: Reader, response: Response
):
    response.headers["ETag"] = etag(ticket.version)
    return await ticket_view(session, ticket)


@router.patch(
    "/{ref}",
    response_model=TicketPublic,
    responses=errors(400, 401, 403, 404, 409, 412, 422),
    summary="Triage: classify, assign, change status, promise an update",
)
async def patch_ticket(
    ref: TicketRef,
    patch: TicketUpdate,
    session: SessionDep,
    principal: Writer,
    response: Response,
    if_match: Annotated[
        str | None, Header(description='ETag from a previous read, e.g. "3"')
    ] = None,
):
    """Only the fields sent change. Status moves follow new → open → pending → resolved →
    closed (reopen → open); an illegal move is a 409 with the reason. With `If-Match`, a
    stale version is a 412 and nothing changes."""
    ticket = await service.update_ticket(
        session, ref, patch, actor=principal, if_match=parse_if_match(if_match)
    )
    response.headers["ETag"] = etag(ticket.version)
    return await ticket_view(session, ticket)


async def _claim_view(session, ticket: Ticket) -> ClaimPublic:
    users = await users_by_id(session, {ticket.claimed_by_id})
    return ClaimPublic(
        ticket_id=pk(ticket),
        claimed_by=user_ref(users.get(ticket.claimed_by_id)),
        claimed_at=ticket.claimed_at,
        version=ticket.version,
    )


@router.post(
    "/{ref}/claim",
    response_model=ClaimPublic,
    responses=errors(401, 403, 404, 409),
    summary="Claim: I'm looking at it",
)
async def claim(ref: TicketRef, session: SessionDep, principal: Writer):
    """Atomic: when two people claim at once exactly one wins; the other gets 409 `already_claimed`."""
    return await _claim_view(session, await service.claim_ticket(session, ref, actor=principal))


@router.delete("/{ref}/claim", response_model=ClaimPublic, responses=errors(401, 403, 404, 409))
async def unclaim(ref: TicketRef, session: SessionDep, principal: Writer):
    return await _claim_view(session, await service.release_claim(session, ref, actor=principal))


@router.get("/{ref}/messages", response_model=list[MessagePublic], responses=errors(401, 403, 404))
async def read_messages(ticket: TicketDep, session: SessionDep, principal: Reader):
    return await message_views(
        session, await service.list_messages(session, pk(ticket), include_internal=True)
    )


@router.post(
    "/{ref}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessagePublic,
    responses=errors(400, 401, 403, 404, 422),
    summary="Reply publicly or add an internal note",
)
async def create_message(
    ref: TicketRef, data: MessageCreate, session: SessionDep, principal: Writer
):
    """The first public staff reply records the ticket's first response."""
    message = await service.post_message(session, ref, data, actor=principal, channel=Channel.api)
    return (await message_views(session, [message]))[0]


@router.get(
    "/{ref}/events",
    response_model=list[EventPublic],
    responses=errors(401, 403, 404),
    summary="Audit log",
)
async def read_events(ticket: TicketDep, session: SessionDep, principal: Reader):
    return await event_views(session, await list_ticket_events(session, pk(ticket)))


async def _votes(session, ticket: Ticket) -> VoteSummary:
    voters = await service.list_voters(session, pk(ticket))
    return VoteSummary(
        ticket_id=pk(ticket), vote_count=ticket.vote_count, voters=[user_ref(v) for v in voters]
    )


@router.get("/{ref}/votes", response_model=VoteSummary, responses=errors(401, 403, 404))
async def read_votes(ticket: TicketDep, session: SessionDep, principal: Reader):
    return await _votes(session, ticket)


@router.post(
    "/{ref}/votes",
    status_code=status.HTTP_201_CREATED,
    response_model=VoteSummary,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="+1 from a distinct person",
)
async def create_vote(
    ref: TicketRef, session: SessionDep, principal: Writer, data: VoteCreate | None = None
):
    """Without a body the caller votes; with `email`, the vote is recorded for that person.
    The same person twice is a 409."""
    ticket = await service.add_vote(
        session, ref, voter_email=data.email if data else None, actor=principal
    )
    return await _votes(session, ticket)


@router.delete(
    "/{ref}/votes/{user_id}", response_model=VoteSummary, responses=errors(401, 403, 404)
)
async def delete_vote(ref: TicketRef, user_id: int, session: SessionDep, principal: Writer):
    ticket = await service.remove_vote(session, ref, voter_id=user_id, actor=principal)
    return await _votes(session, ticket)


@router.get("/{ref}/links", response_model=list[LinkPublic], responses=errors(401, 403, 404))
async def read_links(ticket: TicketDep, session: SessionDep, principal: Reader):
    return link_views(await service.list_links(session, pk(ticket)))


@router.post(
    "/{ref}/links",
    status_code=status.HTTP_201_CREATED,
    response_model=LinkPublic,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Link a tracker issue",
)
async def create_link(ref: TicketRef, data: LinkCreate, session: SessionDep, principal: Writer):
    return link_views([await service.add_link(session, ref, data, actor=principal)])[0]


@router.delete(
    "/{ref}/links/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403, 404),
)
async def delete_link(ref: TicketRef, link_id: int, session: SessionDep, principal: Writer):
    await service.remove_link(session, ref, link_id, actor=principal)


@router.get(
    "/{ref}/attachments", response_model=list[AttachmentPublic], responses=errors(401, 403, 404)
)
async def read_attachments(ticket: TicketDep, session: SessionDep, principal: Reader):
    return [
        AttachmentPublic(**a.model_dump(exclude={"data"}))
        for a in await service.list_attachments(session, pk(ticket))
    ]


@router.get(
    "/{ref}/attachments/{attachment_id}",
    response_class=RawResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file"},
        **errors(401, 403, 404),
    },
)
async def download_attachment(
    ticket: TicketDep, attachment_id: int, session: SessionDep, principal: Reader
):
    att = await service.get_attachment(session, pk(ticket), attachment_id)
    if att is None:
        raise NotFound("no such attachment on this ticket")
    return RawResponse(att.data, headers=download_headers(att.filename))


canned_router = APIRouter(prefix="/canned-replies", tags=["canned replies"])


@canned_router.get("", response_model=list[CannedReplyPublic], responses=errors(401, 403))
async def read_canned_replies(
    session: SessionDep, principal: Reader, ticket_type: TicketType | None = None
):
    """Canned replies, those written for `ticket_type` first."""
    return await service.list_canned_replies(
        session, ticket_type=ticket_type.value if ticket_type else None
    )


@router.get(
    "/{ref}/canned-replies/{slug}",
    response_model=CannedReplyRendered,
    responses=errors(401, 403, 404),
)
async def render_canned(ticket: TicketDep, slug: str, session: SessionDep, principal: Reader):
    """A canned reply with its placeholders filled for this ticket and the caller."""
    canned, body = await service.render_canned_reply(
        session, slug, ticket, agent_name=principal.name
    )
    return CannedReplyRendered(slug=canned.slug, title=canned.title, body=body)
