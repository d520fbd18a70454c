"""Small factories: each test builds exactly the rows it needs."""

import itertools
from functools import lru_cache

from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.policy import Principal
from app.auth.secrets import hash_password
from app.community.models import Community, CommunityCreate, MembershipRole
from app.community.service import add_member, create_community
from app.db import transaction
from app.ticket.enums import Channel, TicketType, Urgency
from app.ticket.models import Ticket, TicketCreate
from app.ticket.service import submit_ticket
from app.user.models import StaffRole, User
from app.user.service import create_api_token

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


@lru_cache
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run


async def make_user(
    session: AsyncSession,
    role: StaffRole | str | None = StaffRole.triager,
    *,
    email: str | None = None,
    name: str | None = None,
    with_password: bool = True,
) -> User:
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.org",
        name=name or f"Person {n}",
        staff_role=StaffRole(role).value if role else None,
        password_hash=password_hash() if (role and with_password) else None,
    )
    async with transaction(session):
        session.add(user)
    return user


def principal_for(user: User, scopes: frozenset[str] | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        name=user.name,
        email=user.email,
        staff_role=StaffRole(user.staff_role) if user.staff_role else None,
        scopes=scopes,
    )


async def actor_for(session: AsyncSession, user_id: int) -> Principal:
    """The person with this id as the one acting on a ticket (a requester replying, say)."""
    user = await session.get(User, user_id)
    assert user is not None
    return principal_for(user)


async def make_token(session: AsyncSession, user: User, scopes: str | None = None) -> str:
    token, _ = await create_api_token(session, email=user.email, name="test", scopes=scopes)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_community(
    session: AsyncSession,
    slug: str | None = None,
    *,
    reps: tuple[str, ...] = (),
    members: tuple[str, ...] = (),
    **fields,
) -> Community:
    community = await create_community(
        session,
        CommunityCreate(
            slug=slug or f"community-{next(_seq)}", name=fields.pop("name", "A Community"), **fields
        ),
        actor_id=None,
    )
    for email in reps:
        await add_member(
            session,
            community,
            email=email,
            name=None,
            role=MembershipRole.representative,
            actor_id=None,
        )
    for email in members:
        await add_member(
            session, community, email=email, name=None, role=MembershipRole.member, actor_id=None
        )
    return community


async def make_ticket(
    session: AsyncSession,
    community: Community | None = None,
    *,
    requester_email: str | None = None,
    title: str = "Something is broken",
    type: TicketType = TicketType.bug,
    urgency: Urgency = Urgency.normal,
    channel: Channel = Channel.api,
    body: str = "Details here.",
) -> Ticket:
    return await submit_ticket(
        session,
        TicketCreate(
            title=title,
            body=body,
            requester_email=requester_email or f"req{next(_seq)}@example.org",
            community=community.slug if community else None,
            type=type,
            urgency=urgency,
            channel=channel,
        ),
    )
