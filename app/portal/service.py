"""Portal use cases: sign-in by e-mailed link, what a contact sees, and what they may do.

Who may see or do what is decided by `app/auth/visibility.py`; this module only applies it.
Each public function is one use case and commits once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.auth import visibility
from app.auth.policy import Principal
from app.auth.secrets import new_token, token_digest
from app.community.models import Community, Membership
from app.config import get_settings
from app.db import pk, transaction, utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from app.outbox.service import enqueue
from app.portal import notify
from app.portal.models import CsatResponse, PortalLink, PortalSession
from app.ticket import service as tickets
from app.ticket.enums import Channel, MessageKind, Status
from app.ticket.models import Attachment, Message, MessageCreate, Ticket

# The ticket service's status move (timestamps, claim release); shared so the rule lives once.
from app.user.models import User
from app.user.service import get_user_by_email

PORTAL_PREFIX = "/portal"


def safe_portal_path(path: str | None) -> str:
    """Only portal paths on this site: a sign-in link never sends anyone elsewhere."""
    if (
        not path
        or not path.startswith(PORTAL_PREFIX)
        or path.startswith("//")
        or "\\" in path
        or ".." in path
    ):
        return PORTAL_PREFIX
    return path[:200]


# --- signing in ----------------------------------------------------------------------------


async def _is_contact(session: AsyncSession, user: User | None) -> bool:
    if user is None or not user.is_active or user.staff_role is not None:
        return False
    member_of = (
        await session.exec(select(func.count()).where(Membership.user_id == user.id))
    ).one()
    asked = (await session.exec(select(func.count()).where(Ticket.requester_id == user.id))).one()
    return bool(member_of or asked)


async def request_sign_in_link(
    session: AsyncSession,
    email: str,
    *,
    next_path: str = PORTAL_PREFIX,
    now: datetime | None = None,
) -> bool:
    """E-mail a one-time sign-in link if `email` belongs to a community contact.

    The caller shows the same answer either way (no user enumeration); the return value
    (whether a link was sent) is for tests and logs only.
    """
    now = now or utcnow()
    settings = get_settings()
    user = await get_user_by_email(session, email)
    if user is None or not await _is_contact(session, user):
        return False
    token = new_token("pl_")
    async with transaction(session):
        link = PortalLink(
            token_hash=token_digest(token),
            user_id=pk(user),
            next_path=safe_portal_path(next_path),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.portal_link_minutes),
        )
        session.add(link)
        await session.flush()
        url = f"{settings.base_url.rstrip('/')}{PORTAL_PREFIX}/auth/{token}"
        enqueue(
            session,
            "email.send",
            notify.sign_in_email(user, url, settings.portal_link_minutes),
            idempotency_key=f"portal-link-{link.id}",
        )
        record_event(
            session,
            "portal.link_sent",
            subject_type="user",
            subject_id=pk(user),
            actor_id=user.id,
            data={"link_id": link.id},
        )
    return True


async def redeem_link(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> tuple[str, str]:
    """Spend a sign-in link (once) and open a portal session: returns (cookie value, next path)."""
    now = now or utcnow()
    digest = token_digest(token)
    async with transaction(session):
        # One UPDATE decides: two clicks at once, exactly one gets in.
        result = await session.exec(
            update(PortalLink)
            .where(
                col(PortalLink.token_hash) == digest,
                col(PortalLink.used_at).is_(None),
                col(PortalLink.expires_at) > now,
            )
            .values(used_at=now)
        )
        if result.rowcount != 1:
            raise Unauthorized(
                "this sign-in link has expired or was already used; ask for a new one",
                code="bad_link",
            )
        link = (await session.exec(select(PortalLink).where(PortalLink.token_hash == digest))).one()
        user = await session.get(User, link.user_id)
        if user is None or not user.is_active or user.staff_role is not None:
            raise Unauthorized(
                "this sign-in link has expired or was already used; ask for a new one",
                code="bad_link",
            )
        cookie = new_token("ps_")
        session.add(
            PortalSession(
                id=token_digest(cookie),
                user_id=pk(user),
                csrf_token=new_token("c_"),
                created_at=now,
                expires_at=now + timedelta(days=get_settings().portal_session_days),
            )
        )
        record_event(
            session,
            "portal.signed_in",
            subject_type="user",
            subject_id=pk(user),
            actor_id=user.id,
            data={"link_id": link.id},
        )
        next_path = link.next_path
    return cookie, next_path


async def sign_out(session: AsyncSession, cookie: str) -> None:
    async with transaction(session):
        row = await session.get(PortalSession, token_digest(cookie))
        if row is not None:
            await session.delete(row)


async def principal_from_portal_session(session: AsyncSession, cookie: str) -> Principal | None:
    row = (
        await session.exec(
            select(PortalSession, User)
            .join(User, col(User.id) == PortalSession.user_id)
            .where(PortalSession.id == token_digest(cookie))
        )
    ).first()
    if row is None:
        return None
    portal_session, user = row
    if portal_session.expires_at <= utcnow() or not user.is_active or user.staff_role is not None:
        return None
    memberships = (
        await session.exec(
            select(Membership.community_id, Membership.role).where(Membership.user_id == user.id)
        )
    ).all()
    return Principal(
        user_id=pk(user),
        name=user.name,
        email=user.email,
        staff_role=None,
        via="portal",
        csrf_token=portal_session.csrf_token,
        memberships=dict(memberships),
    )


# --- reading -------------------------------------------------------------------------------

PORTAL_VIEWS: dict[str, tuple[str, list[Status]]] = {
    # Resolved tickets stay in the default view: they wait for the requester's confirmation.
    "open": (
        "Current",
        [Status.awaiting_approval, Status.new, Status.open, Status.pending, Status.resolved],
    ),
    "approval": ("Awaiting approval", [Status.awaiting_approval]),
    "resolved": ("To confirm", [Status.resolved]),
    "closed": ("Closed", [Status.closed]),
    "all": ("All", []),
}


async def list_visible_tickets(
    session: AsyncSession,
    principal: Principal,
    *,
    view: str = "open",
    community: str | None = None,
    text: str | None = None,
    limit: int = 100,
) -> list[Ticket]:
    """The contact's tickets, newest first; `text` searches only within what they may see."""
    if view not in PORTAL_VIEWS:
        raise InvalidInput(f"unknown view {view!r}", code="bad_view")
    stmt = select(Ticket).where(visibility.ticket_clause(principal))
    statuses = PORTAL_VIEWS[view][1]
    if statuses:
        stmt = stmt.where(col(Ticket.status).in_([s.value for s in statuses]))
    if community:
        stmt = stmt.join(Community, col(Community.id) == Ticket.community_id).where(
            Community.slug == community
        )
    if text and text.strip():
        term = (
            "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        stmt = stmt.where(
            col(Ticket.title).ilike(term, escape="\\") | col(Ticket.body).ilike(term, escape="\\")
        )
    stmt = stmt.order_by(col(Ticket.updated_at).desc(), col(Ticket.id).desc()).limit(limit)
    return list((await session.exec(stmt)).all())


async def count_visible(session: AsyncSession, principal: Principal) -> dict[str, int]:
    stmt = (
        select(Ticket.status, func.count())
        .where(visibility.ticket_clause(principal))
        .group_by(Ticket.status)
    )
    by_status = dict((await session.exec(stmt)).all())
    return {
        name: (
            sum(by_status.get(s.value, 0) for s in statuses)
            if statuses
            else sum(by_status.values())
        )
        for name, (_label, statuses) in PORTAL_VIEWS.items()
    }


async def get_visible_ticket(session: AsyncSession, principal: Principal, ref: str | int) -> Ticket:
    return visibility.check_ticket_visible(principal, await tickets.get_ticket(session, ref), ref)


async def visible_messages(
    session: AsyncSession, principal: Principal, ticket: Ticket
) -> list[Message]:
    return await tickets.list_messages(
        session, pk(ticket), include_internal=visibility.sees_internal_notes(principal)
    )


async def visible_attachments(
    session: AsyncSession, principal: Principal, ticket: Ticket
) -> list[Attachment]:
    """Attachments of the ticket and its public messages; a file posted with an internal note stays internal."""
    rows = await tickets.list_attachments(session, pk(ticket))
    if visibility.sees_internal_notes(principal):
        return rows
    internal = set(
        (
            await session.exec(
                select(Message.id).where(
                    Message.ticket_id == ticket.id, Message.kind == MessageKind.internal
                )
            )
        ).all()
    )
    return [a for a in rows if a.message_id not in internal]


async def get_visible_attachment(
    session: AsyncSession, principal: Principal, ticket: Ticket, attachment_id: int
) -> Attachment:
    for att in await visible_attachments(session, principal, ticket):
        if att.id == attachment_id:
            return att
    raise NotFound("no such attachment on this ticket")


async def latest_csat(session: AsyncSession, ticket_id: int) -> CsatResponse | None:
    stmt = (
        select(CsatResponse)
        .where(CsatResponse.ticket_id == ticket_id)
        .order_by(col(CsatResponse.id).desc())
    )
    return (await session.exec(stmt)).first()


# --- acting --------------------------------------------------------------------------------


async def reply(session: AsyncSession, principal: Principal, ref: str | int, body: str) -> Message:
    ticket = await get_visible_ticket(session, principal, ref)
    if not visibility.can_speak_for(principal, ticket):
        raise Forbidden("you cannot reply to this ticket here")
    if ticket.status == Status.closed:
        raise Conflict('this ticket is closed; say "not fixed" to reopen it', code="ticket_closed")
    try:
        data = MessageCreate(body=body, kind=MessageKind.public)
    except ValueError:
        raise InvalidInput("write something before sending", code="empty_message") from None
    return await tickets.post_message(
        session, pk(ticket), data, actor=principal, channel=Channel.web
    )


async def _move(
    session: AsyncSession,
    ticket_id: int,
    target: Status,
    *,
    actor: Principal,
    reason: str,
    check: Callable[[Ticket], None],
) -> Ticket:
    """Lock, check who may, change status; the caller's transaction commits it."""
    ticket = await tickets.lock_ticket(session, ticket_id)
    check(ticket)
    return await tickets.move_locked_ticket(
        session, ticket, target, actor=actor, reason=reason, now=utcnow()
    )


@dataclass(frozen=True)
class Rating:
    score: int
    comment: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.score, int) or not 1 <= self.score <= 5:
            raise InvalidInput("rate us from 1 (poor) to 5 (great)", code="bad_score")
        if len(self.comment) > 5000:
            raise InvalidInput(
                "the comment is longer than 5000 characters", code="comment_too_long"
            )


def _must_be_resolved(principal: Principal) -> Callable[[Ticket], None]:
    def check(ticket: Ticket) -> None:
        if not visibility.can_speak_for(principal, ticket):
            raise NotFound(f"ticket {ticket.id} does not exist")
        if ticket.status != Status.resolved:
            raise Conflict(
                f"this ticket is {ticket.status}; only a resolved ticket can be confirmed",
                code="not_resolved",
            )

    return check


async def confirm_resolution(
    session: AsyncSession, principal: Principal, ref: str | int, rating: Rating
) -> Ticket:
    """ "Yes, it is fixed": close the ticket and keep the satisfaction rating, in one commit."""
    ticket = await get_visible_ticket(session, principal, ref)
    async with transaction(session):
        ticket = await _move(
            session,
            pk(ticket),
            Status.closed,
            actor=principal,
            reason="requester confirmed the fix",
            check=_must_be_resolved(principal),
        )
        session.add(
            CsatResponse(
                ticket_id=pk(ticket),
                user_id=principal.user_id,
                score=rating.score,
                comment=rating.comment.strip(),
            )
        )
        record_event(
            session,
            "ticket.rated",
            subject_type="ticket",
            subject_id=pk(ticket),
            ticket_id=ticket.id,
            community_id=ticket.community_id,
            actor_id=principal.user_id,
            data={"score": rating.score, "comment": bool(rating.comment.strip())},
        )
    return ticket


async def report_not_fixed(
    session: AsyncSession, principal: Principal, ref: str | int, comment: str
) -> Ticket:
    """ "Not fixed": reopen (resolved or closed → open), with the requester's words as a public reply."""
    ticket = await get_visible_ticket(session, principal, ref)

    def check(t: Ticket) -> None:
        if not visibility.can_speak_for(principal, t):
            raise NotFound(f"ticket {t.id} does not exist")
        if t.status not in (Status.resolved, Status.closed):
            raise Conflict(
                f"this ticket is {t.status}, not resolved; just reply instead", code="not_resolved"
            )

    async with transaction(session):
        ticket = await _move(
            session,
            pk(ticket),
            Status.open,
            actor=principal,
            reason="requester says not fixed",
            check=check,
        )
        if comment.strip():
            session.add(
                Message(
                    ticket_id=pk(ticket),
                    author_id=principal.user_id,
                    kind=MessageKind.public,
                    body=comment.strip()[:50_000],
                    channel=Channel.web,
                )
            )
    return ticket


async def approve_request(session: AsyncSession, principal: Principal, ref: str | int) -> Ticket:
    ticket = await get_visible_ticket(session, principal, ref)
    async with transaction(session):
        return await _move(
            session,
            pk(ticket),
            Status.new,
            actor=principal,
            reason="approved by a representative",
            check=lambda t: visibility.require_approver(principal, t),
        )


async def decline_request(
    session: AsyncSession, principal: Principal, ref: str | int, reason: str
) -> Ticket:
    ticket = await get_visible_ticket(session, principal, ref)
    async with transaction(session):
        ticket = await _move(
            session,
            pk(ticket),
            Status.closed,
            actor=principal,
            reason="declined by a representative",
            check=lambda t: visibility.require_approver(principal, t),
        )
        if reason.strip():
            session.add(
                Message(
                    ticket_id=pk(ticket),
                    author_id=principal.user_id,
                    kind=MessageKind.public,
                    body=reason.strip()[:50_000],
                    channel=Channel.web,
                )
            )
    return ticket
