"""What the portal does when tickets change, and its periodic job.

- A request waiting for approval e-mails the community's representatives.
- A resolved ticket e-mails the requester to confirm and rate it.
- Optionally (FIRSTLINE_AUTO_CLOSE_DAYS > 0), resolved tickets nobody answered are closed.
"""

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.community.models import Community
from app.community.service import representatives
from app.config import get_settings
from app.db import pk, transaction
from app.outbox.service import enqueue
from app.portal import notify
from app.ticket.enums import Status
from app.ticket.hooks import TicketChange
from app.ticket.models import Ticket
from app.ticket.service import move_locked_ticket, ticket_key
from app.user.models import User


async def ask_representatives_to_approve(
    session: AsyncSession, ticket: Ticket, change: TicketChange
) -> None:
    # On creation, or when a community change made the request wait (update_ticket's regrade).
    started_waiting = (
        change.kind == "status"
        and change.status_after == Status.awaiting_approval
        and change.status_before != Status.awaiting_approval
    )
    arrived = change.kind == "created" or started_waiting
    if not arrived or ticket.status != Status.awaiting_approval or ticket.community_id is None:
        return
    reps = await representatives(session, ticket.community_id)
    if not reps:
        return  # nobody to ask: the triager sees it in the "Awaiting approval" tab
    key = f"approval-request-{ticket.id}"
    if change.kind != "created":  # asked again after a community change: a new question
        key += f"-{int(change.now.timestamp() * 1000)}"
    community = await session.get(Community, ticket.community_id)
    requester = await session.get(User, ticket.requester_id) if ticket.requester_id else None
    enqueue(
        session,
        "email.send",
        notify.approval_request_email(
            key=ticket_key(pk(ticket)),
            title=ticket.title,
            ticket_id=pk(ticket),
            community_name=community.name if community else "your community",
            requester=requester,
            representatives=reps,
        ),
        idempotency_key=key,
    )


async def ask_requester_to_confirm(
    session: AsyncSession, ticket: Ticket, change: TicketChange
) -> None:
    if change.status_after != Status.resolved or change.status_before == Status.resolved:
        return
    requester = await session.get(User, ticket.requester_id) if ticket.requester_id else None
    if requester is None or requester.is_staff:
        return
    stamp = int(change.now.timestamp())
    enqueue(
        session,
        "email.send",
        notify.resolution_email(
            key=ticket_key(pk(ticket)),
            title=ticket.title,
            ticket_id=pk(ticket),
            requester=requester,
        ),
        idempotency_key=f"resolution-{ticket.id}-{stamp}",
    )


async def auto_close_quiet_resolutions(session: AsyncSession, now: datetime) -> int:
    """Close tickets resolved longer ago than the quiet period (off unless configured).

    Idempotent: a closed ticket no longer matches, so a second run (or worker) does nothing.
    """
    days = get_settings().auto_close_days
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    ids = list(
        (
            await session.exec(
                select(Ticket.id)
                .where(Ticket.status == Status.resolved, col(Ticket.resolved_at) <= cutoff)
                .limit(500)
            )
        ).all()
    )
    closed = 0
    for ticket_id in ids:
        async with transaction(session):
            stmt = (
                select(Ticket)
                .where(Ticket.id == ticket_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            ticket = (await session.exec(stmt)).first()
            if ticket is None or ticket.status != Status.resolved:
                continue  # someone answered meanwhile
            await move_locked_ticket(
                session,
                ticket,
                Status.closed,
                actor=None,
                reason=f"auto-closed after {days:g} quiet days",
                now=now,
            )
            closed += 1
    return closed
