"""What every inbound channel shares: de-duplication, "which ticket is this thread", people.

A channel stashes what it wants remembered (its delivery id, the outside thread, a link) on
the session before calling a ticket service; the ticket hook below writes those rows inside
that service's transaction. So the effect and the memory of it commit together, and a
redelivery (or a racing duplicate, through the unique constraints) changes nothing.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import pk, transaction
from app.errors import InvalidInput
from app.integrations.models import ExternalRef, InboundDelivery
from app.ticket.hooks import TicketChange
from app.ticket.models import Link, Ticket
from app.user.identity import find_identity, normalise_identity, remember_identity, user_by_identity
from app.user.models import IdentityKind, User
from app.user.service import ensure_contact, get_user_by_email

_STASH = "inbound_effect"
_SOURCE = "inbound_source"
_ALSO_SEEN = "inbound_also_seen"


@dataclass
class Effect:
    source: str
    delivery_id: str | None = None
    refs: list[str] = field(
        default_factory=list
    )  # external ids of the same source naming this ticket
    link: tuple[str, str, str] | None = None  # (url, title, kind)


@asynccontextmanager
async def remembering(session: AsyncSession, effect: Effect) -> AsyncIterator[None]:
    """Around one ticket service call: what it changes and `effect` commit together."""
    session.info[_STASH] = effect
    session.info[_SOURCE] = effect.source
    try:
        yield
    finally:
        session.info.pop(_STASH, None)
        session.info.pop(_SOURCE, None)


@asynccontextmanager
async def also_remembering(session: AsyncSession, source: str, key: str) -> AsyncIterator[None]:
    """Around one inbound request: a second key (e.g. a digest of the payload) that the ticket
    change it causes records in its own transaction, so a racing replay conflicts and rolls back
    instead of changing the ticket twice."""
    session.info[_ALSO_SEEN] = (source, key)
    try:
        yield
    finally:
        session.info.pop(_ALSO_SEEN, None)


def inbound_source(session: AsyncSession) -> str | None:
    """The channel the change being made came in from, so it is not sent back there."""
    return session.info.get(_SOURCE)


async def write_effect(session: AsyncSession, ticket: Ticket, change: TicketChange) -> None:
    also: tuple[str, str] | None = session.info.pop(_ALSO_SEEN, None)
    if also is not None:
        session.add(
            InboundDelivery(source=also[0], delivery_id=also[1][:255], ticket_id=pk(ticket))
        )
    effect: Effect | None = session.info.pop(_STASH, None)
    if effect is None:
        return
    if effect.delivery_id:
        session.add(
            InboundDelivery(
                source=effect.source, delivery_id=effect.delivery_id[:255], ticket_id=ticket.id
            )
        )
    for ref in effect.refs:
        exists = (
            await session.exec(
                select(ExternalRef.id).where(
                    ExternalRef.source == effect.source, ExternalRef.external_id == ref[:255]
                )
            )
        ).first()
        if not exists:
            session.add(
                ExternalRef(source=effect.source, external_id=ref[:255], ticket_id=pk(ticket))
            )
    if effect.link:
        url, title, kind = effect.link
        exists = (
            await session.exec(select(Link.id).where(Link.ticket_id == ticket.id, Link.url == url))
        ).first()
        if not exists:
            session.add(Link(ticket_id=pk(ticket), url=url, title=title[:200], kind=kind))


async def seen(session: AsyncSession, source: str, delivery_id: str) -> bool:
    stmt = select(InboundDelivery.id).where(
        InboundDelivery.source == source, InboundDelivery.delivery_id == delivery_id[:255]
    )
    return (await session.exec(stmt)).first() is not None


async def mark_seen(
    session: AsyncSession, source: str, delivery_id: str, ticket_id: int | None = None
) -> None:
    """For deliveries that change nothing on a ticket (ignored actions), so a replay is cheap."""
    async with transaction(session):
        if not await seen(session, source, delivery_id):
            session.add(
                InboundDelivery(source=source, delivery_id=delivery_id[:255], ticket_id=ticket_id)
            )


async def ticket_for(session: AsyncSession, source: str, external_ids: list[str]) -> Ticket | None:
    ids = [e[:255] for e in external_ids if e]
    if not ids:
        return None
    stmt = select(ExternalRef.ticket_id).where(
        ExternalRef.source == source, col(ExternalRef.external_id).in_(ids)
    )
    ticket_id = (await session.exec(stmt.limit(1))).first()
    return await session.get(Ticket, ticket_id) if ticket_id else None


async def person(
    session: AsyncSession,
    *,
    email: str,
    name: str | None,
    github_login: str | None = None,
    slack_user_id: str | None = None,
) -> User:
    """The user behind an outside identity: matched by handle first, then e-mail (any of the
    person's addresses); created as a contact, with the handle remembered as their identity."""
    user = None
    if github_login:
        user = await user_by_identity(session, IdentityKind.github, github_login)
    if user is None and slack_user_id:
        user = await user_by_identity(session, IdentityKind.slack, slack_user_id)
    if user is None:
        user = await user_by_identity(session, IdentityKind.email, email)
    if user is not None:
        return user
    async with transaction(session):
        user = await get_user_by_email(
            session, email
        )  # again under the lock: a racing delivery may have added them
        user = ensure_contact(session, user, email, name)
        await session.flush()
        # The handle came in a signed webhook: verified. Taken already (a race): the first keeps it.
        handles = ((IdentityKind.github, github_login), (IdentityKind.slack, slack_user_id))
        for kind, handle in handles:
            if handle:
                try:
                    value = normalise_identity(kind, handle)
                except InvalidInput:
                    continue
                if await find_identity(session, kind, value) is None:
                    remember_identity(session, user, kind, value, verified=True, shown_as=handle)
        await session.flush()
    return user
