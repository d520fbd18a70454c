"""Communities and memberships."""

from urllib.parse import urlsplit

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.community.models import Community, CommunityCreate, Membership, MembershipRole
from app.db import pk, transaction
from app.errors import Conflict, InvalidInput
from app.user.models import User
from app.user.service import ensure_contact, get_user_by_email


def normalise_origin(origin: str) -> str:
    """`https://Example.org/path` → `https://example.org`; framing is decided per origin."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"not an origin: {origin!r} (expected https://host[:port])", code="bad_origin")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


async def get_community_by_slug(session: AsyncSession, slug: str) -> Community | None:
    return (await session.exec(select(Community).where(Community.slug == slug))).first()


async def list_communities(session: AsyncSession) -> list[Community]:
    return list((await session.exec(select(Community).order_by(col(Community.name)))).all())


async def create_community(session: AsyncSession, data: CommunityCreate, *, actor_id: int | None) -> Community:
    origins = sorted({normalise_origin(o) for o in data.allowed_origins})
    async with transaction(session):
        if await get_community_by_slug(session, data.slug):
            raise Conflict(f"a community with slug {data.slug!r} already exists", code="slug_taken")
        community = Community(**data.model_dump(exclude={"allowed_origins"}), allowed_origins=origins)
        session.add(community)
        await session.flush()
        record_event(
            session,
            "community.created",
            subject_type="community",
            subject_id=pk(community),
            actor_id=actor_id,
            community_id=community.id,
            data={"slug": community.slug, "name": community.name},
        )
    return community


async def add_member(
    session: AsyncSession,
    community: Community,
    *,
    email: str,
    name: str | None,
    role: MembershipRole,
    actor_id: int | None,
) -> Membership:
    async with transaction(session):
        user = ensure_contact(session, await get_user_by_email(session, email), email, name)
        await session.flush()
        existing = (
            await session.exec(
                select(Membership).where(Membership.community_id == community.id, Membership.user_id == user.id)
            )
        ).first()
        if existing:
            existing.role = role.value
            membership = existing
        else:
            membership = Membership(community_id=pk(community), user_id=pk(user), role=role.value)
            session.add(membership)
        await session.flush()
        record_event(
            session,
            "community.member_set",
            subject_type="community",
            subject_id=pk(community),
            actor_id=actor_id,
            community_id=community.id,
            data={"user_id": user.id, "email": user.email, "role": role.value},
        )
    return membership


async def representatives(session: AsyncSession, community_id: int) -> list[User]:
    stmt = (
        select(User)
        .join(Membership, col(Membership.user_id) == User.id)
        .where(Membership.community_id == community_id, Membership.role == MembershipRole.representative)
        .order_by(col(User.name))
    )
    return list((await session.exec(stmt)).all())


async def members(session: AsyncSession, community_id: int) -> list[tuple[User, MembershipRole]]:
    stmt = (
        select(User, Membership.role)
        .join(Membership, col(Membership.user_id) == User.id)
        .where(Membership.community_id == community_id)
        .order_by(col(Membership.role).desc(), col(User.name))
    )
    return [(user, MembershipRole(role)) for user, role in (await session.exec(stmt)).all()]
