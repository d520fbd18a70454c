"""Communities and memberships."""

import re
from urllib.parse import urlsplit

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.community.models import (
    Community,
    CommunityCreate,
    CommunityMapping,
    Membership,
    MembershipRole,
)
from app.db import pk, transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.user.models import User
from app.user.service import ensure_contact, get_user_by_email


def normalise_origin(origin: str) -> str:
    """`https://Example.org/path` → `https://example.org`; framing is decided per origin."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"not an origin: {origin!r} (expected https://host[:port])", code="bad_origin"
        )
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


async def get_community_by_slug(session: AsyncSession, slug: str) -> Community | None:
    return (await session.exec(select(Community).where(Community.slug == slug))).first()


async def list_communities(session: AsyncSession) -> list[Community]:
    return list((await session.exec(select(Community).order_by(col(Community.name)))).all())


async def create_community(
    session: AsyncSession, data: CommunityCreate, *, actor_id: int | None
) -> Community:
    origins = sorted({normalise_origin(o) for o in data.allowed_origins})
    async with transaction(session):
        if await get_community_by_slug(session, data.slug):
            raise Conflict(f"a community with slug {data.slug!r} already exists", code="slug_taken")
        mapped = {"email_domains", "slack_channels", "github_repos"}  # set below, validated
        community = Community(
            **data.model_dump(exclude={"allowed_origins", *mapped}), allowed_origins=origins
        )
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
        if data.email_domains or data.slack_channels or data.github_repos:
            await set_community_mapping(
                session,
                pk(community),
                CommunityMapping(
                    email_domains=data.email_domains,
                    slack_channels=data.slack_channels,
                    github_repos=data.github_repos,
                ),
                actor_id=actor_id,
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
                select(Membership).where(
                    Membership.community_id == community.id, Membership.user_id == user.id
                )
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
        .where(
            Membership.community_id == community_id,
            Membership.role == MembershipRole.representative,
        )
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


# --- which community a request from outside belongs to ---------------------------------------

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SLACK_CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{2,31}$")
GITHUB_REPO_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}/[a-z0-9._-]{1,100}$")


def _clean(
    values: list[str], pattern: re.Pattern[str], what: str, *, lower: bool, field: str
) -> list[str]:
    out = set()
    for raw in values:
        value = raw.strip().lower() if lower else raw.strip()
        if what == "e-mail domain":
            value = value.removeprefix("@")
        if not pattern.match(value):
            raise InvalidInput(
                f"{raw!r} is not a {what}", code="bad_mapping", extra={"field": field}
            )
        out.add(value)
    return sorted(out)


async def set_community_mapping(
    session: AsyncSession, community_id: int, mapping: CommunityMapping, *, actor_id: int | None
) -> Community:
    """Set which e-mail domains, Slack channels and GitHub repositories are a community's.
    422 on a malformed entry, 409 when another community has it; nothing written then."""
    cleaned: dict[str, list[str]] = {}
    if mapping.email_domains is not None:
        cleaned["email_domains"] = _clean(
            mapping.email_domains, DOMAIN_RE, "e-mail domain", lower=True, field="email_domains"
        )
    if mapping.slack_channels is not None:
        cleaned["slack_channels"] = _clean(
            mapping.slack_channels,
            SLACK_CHANNEL_RE,
            "Slack channel id (C, G or D then capitals and digits)",
            lower=False,
            field="slack_channels",
        )
    if mapping.github_repos is not None:
        cleaned["github_repos"] = _clean(
            mapping.github_repos,
            GITHUB_REPO_RE,
            "GitHub repository (owner/name)",
            lower=True,
            field="github_repos",
        )
    async with transaction(session):
        community = await session.get(Community, community_id)
        if community is None:
            raise NotFound(f"no community {community_id}", code="unknown_community")
        for other in await list_communities(session):
            if other.id == community.id:
                continue
            for name, values in cleaned.items():
                taken = set(values) & set(getattr(other, name) or [])
                if taken:
                    raise Conflict(
                        f"{', '.join(sorted(taken))} already maps to community {other.slug!r}",
                        code="mapping_taken",
                        extra={"field": name},
                    )
        for name, values in cleaned.items():
            setattr(community, name, values)
        session.add(community)
        await session.flush()
        record_event(
            session,
            "community.mapping_set",
            subject_type="community",
            subject_id=pk(community),
            actor_id=actor_id,
            community_id=community.id,
            data=cleaned,
        )
    return community


async def community_for_channel(
    session: AsyncSession, *, slack_channel: str | None = None, github_repo: str | None = None
) -> Community | None:
    """The community a Slack channel or GitHub repository is mapped to, if any."""
    for community in await list_communities(session):
        if slack_channel and slack_channel in (community.slack_channels or []):
            return community
        if github_repo and github_repo.lower() in (community.github_repos or []):
            return community
    return None


async def community_for_person(
    session: AsyncSession, user_id: int | None, email: str
) -> Community | None:
    """The community a person's request belongs to: where they are a representative, else a
    member (oldest membership first), else the community of their e-mail domain."""
    if user_id is not None:
        stmt = (
            select(Community)
            .join(Membership, col(Membership.community_id) == Community.id)
            .where(Membership.user_id == user_id)
            .order_by(col(Membership.role) != MembershipRole.representative, col(Membership.id))
        )
        found = (await session.exec(stmt)).first()
        if found is not None:
            return found
    domain = email.rpartition("@")[2].strip().lower()
    if domain:
        for community in await list_communities(session):
            if domain in (community.email_domains or []):
                return community
    return None
