"""Held requests: mail the named address a one-click link; its click lifts the hold.

A request typed into the web form, or mailed without a passing Authentication-Results, that
names a representative's or a staff member's address is held awaiting approval (ticket
service, `verified=False`). The hook below mails that address a link; whoever can read its
mail proves they own it, and the ticket goes on as if they had sent it themselves.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.policy import Principal
from app.auth.secrets import new_token, token_digest
from app.config import get_settings
from app.db import pk, utcnow
from app.errors import AppError, Conflict, NotFound
from app.intake.models import IntakeConfirmation
from app.outbox.service import enqueue
from app.ticket.enums import Status
from app.ticket.hooks import TicketChange
from app.ticket.models import Ticket
from app.ticket.service import move_locked_ticket, ticket_key, writing
from app.user.models import User

CONFIRM_DAYS = 7
# Not a 401: nobody signs in here; the link is the whole credential, and a spent one is gone.
_BAD_LINK = "this confirmation link has expired or was already used"


def confirmation_email(user: User, key: str, title: str, url: str) -> dict[str, Any]:
    text = (
        f"Hello {user.name},\n\n"
        f'Someone sent us {key} ("{title}") in your name. If it was you, confirm it here '
        f"(the link works once, for {CONFIRM_DAYS} days):\n\n{url}\n\n"
        "If it was not you, ignore this e-mail: the request stays on hold."
    )
    return {"to": [user.email], "subject": f"[{key}] Please confirm your request", "text": text}


async def ask_to_confirm_address(
    session: AsyncSession, ticket: Ticket, change: TicketChange
) -> None:
    """Ticket hook: a held request mails its requester's address a one-click confirmation."""
    if change.kind != "created" or not change.held_unverified or ticket.requester_id is None:
        return
    user = await session.get(User, ticket.requester_id)
    if user is None or not user.email:
        return
    token = new_token("ic_")
    row = IntakeConfirmation(
        token_hash=token_digest(token),
        ticket_id=pk(ticket),
        user_id=pk(user),
        created_at=change.now,
        expires_at=change.now + timedelta(days=CONFIRM_DAYS),
    )
    session.add(row)
    await session.flush()
    url = f"{get_settings().base_url.rstrip('/')}/intake/confirm/{token}"
    enqueue(
        session,
        "email.send",
        confirmation_email(user, ticket_key(pk(ticket)), ticket.title, url)
        | {"ticket_id": pk(ticket)},
        idempotency_key=f"intake-confirm-{row.id}",
    )


async def awaits_confirmation(session: AsyncSession, ticket_id: int) -> bool:
    stmt = select(IntakeConfirmation.id).where(
        IntakeConfirmation.ticket_id == ticket_id, col(IntakeConfirmation.used_at).is_(None)
    )
    return (await session.exec(stmt)).first() is not None


async def confirm_request(session: AsyncSession, token: str) -> Ticket:
    """Spend a confirmation link (once): the held ticket goes on as a verified request."""
    digest = token_digest(token)
    row = (
        await session.exec(
            select(IntakeConfirmation).where(IntakeConfirmation.token_hash == digest)
        )
    ).first()
    if row is None:
        raise NotFound(_BAD_LINK, code="bad_link")
    return await _answer_hold(
        session,
        row.ticket_id,
        col(IntakeConfirmation.token_hash) == digest,
        mine=True,
        actor=None,
        refused=NotFound(_BAD_LINK, code="bad_link"),
    )


async def held_in_name_of(session: AsyncSession, ticket_id: int, user_id: int) -> bool:
    """Is this ticket held until `user_id` says they sent it?"""
    stmt = select(IntakeConfirmation.id).where(
        IntakeConfirmation.ticket_id == ticket_id,
        IntakeConfirmation.user_id == user_id,
        col(IntakeConfirmation.used_at).is_(None),
        col(IntakeConfirmation.expires_at) > utcnow(),
    )
    return (await session.exec(stmt)).first() is not None


async def answer_hold_in_portal(
    session: AsyncSession, principal: Principal, ticket_id: int, *, mine: bool
) -> Ticket:
    """The named person, signed in to the portal, says whether they sent a held request.

    Their portal sign-in came through a link mailed to that very address, which proves it as
    well as the confirmation link does: "it was me" lifts the hold; "it was not me" spends the
    link and closes the request, so nobody can act in their name with it later.
    """
    return await _answer_hold(
        session,
        ticket_id,
        col(IntakeConfirmation.user_id) == principal.user_id,
        mine=mine,
        actor=principal,
        refused=Conflict(
            "this request is not waiting for you to confirm it", code="not_held_for_you"
        ),
    )


async def _answer_hold(
    session: AsyncSession,
    ticket_id: int,
    which: Any,
    *,
    mine: bool,
    actor: Principal | None,
    refused: AppError,
) -> Ticket:
    now = utcnow()
    async with writing(session, ticket_id, actor) as write:
        # One UPDATE decides: two answers at once, exactly one counts.
        result = await session.exec(
            update(IntakeConfirmation)
            .where(
                col(IntakeConfirmation.ticket_id) == ticket_id,
                which,
                col(IntakeConfirmation.used_at).is_(None),
                col(IntakeConfirmation.expires_at) > now,
            )
            .values(used_at=now)
        )
        if result.rowcount < 1:
            raise refused
        if write.ticket.status != Status.awaiting_approval:
            return write.ticket  # someone approved or closed it meanwhile
        if mine:
            return await move_locked_ticket(
                session,
                write.ticket,
                Status.new,
                actor=actor,
                reason="the requester confirmed their address",
                now=write.now,
            )
        return await move_locked_ticket(
            session,
            write.ticket,
            Status.closed,
            actor=actor,
            reason="the person it was sent in the name of says they did not send it",
            now=write.now,
        )
