"""/api/v1/communities: customers, their representatives and members."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import EmailStr
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.policy import Principal
from app.community import service
from app.community.models import (
    Community,
    CommunityCreate,
    CommunityMapping,
    CommunityPublic,
    MembershipRole,
)
from app.db import pk
from app.deps import SessionDep, api_permission
from app.errors import NotFound
from app.routers.api.common import errors

router = APIRouter(prefix="/communities", tags=["communities"])

Reader = Annotated[Principal, api_permission("communities:read")]
Writer = Annotated[Principal, api_permission("communities:write")]


async def find_community(session: AsyncSession, slug: str) -> Community:
    community = await service.get_community_by_slug(session, slug)
    if community is None:
        raise NotFound(f"community {slug!r} does not exist")
    return community


# Each lookup depends on its routes' permission, so a caller who may not call a route learns
# nothing from a 404 before the 401 or 403.
async def community_or_404(slug: str, session: SessionDep, _reader: Reader) -> Community:
    return await find_community(session, slug)


async def community_for_writing(slug: str, session: SessionDep, _writer: Writer) -> Community:
    return await find_community(session, slug)


CommunityDep = Annotated[Community, Depends(community_or_404)]
WritableCommunityDep = Annotated[Community, Depends(community_for_writing)]


class MemberIn(SQLModel):
    email: EmailStr
    name: str | None = None
    role: MembershipRole = MembershipRole.member


class MemberOut(SQLModel):
    user_id: int
    email: str
    name: str
    role: MembershipRole


@router.get("", response_model=list[CommunityPublic], responses=errors(401, 403))
async def list_communities(session: SessionDep, principal: Reader):
    return await service.list_communities(session)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommunityPublic,
    responses=errors(400, 401, 403, 409, 422),
)
async def create_community(
    data: CommunityCreate, session: SessionDep, principal: Writer, response: Response
):
    community = await service.create_community(session, data, actor_id=principal.user_id)
    response.headers["Location"] = f"/api/v1/communities/{community.slug}"
    return community


@router.get("/{slug}", response_model=CommunityPublic, responses=errors(401, 403, 404))
async def read_community(community: CommunityDep, principal: Reader):
    return community


@router.patch(
    "/{slug}/mapping",
    response_model=CommunityPublic,
    responses=errors(401, 403, 404, 409, 422),
    summary="Which e-mail domains, Slack channels and GitHub repos are this community's",
)
async def set_mapping(
    data: CommunityMapping, community: WritableCommunityDep, session: SessionDep, principal: Writer
):
    return await service.set_community_mapping(
        session, pk(community), data, actor_id=principal.user_id
    )


@router.get("/{slug}/members", response_model=list[MemberOut], responses=errors(401, 403, 404))
async def list_members(community: CommunityDep, session: SessionDep, principal: Reader):
    return [
        MemberOut(user_id=pk(u), email=u.email, name=u.name, role=role)
        for u, role in await service.members(session, pk(community))
    ]


@router.put(
    "/{slug}/members",
    response_model=MemberOut,
    responses=errors(400, 401, 403, 404, 422),
    summary="Add a member or change their role",
)
async def put_member(
    data: MemberIn, community: WritableCommunityDep, session: SessionDep, principal: Writer
):
    membership = await service.add_member(
        session,
        community,
        email=data.email,
        name=data.name,
        role=data.role,
        actor_id=principal.user_id,
    )
    for user, role in await service.members(session, pk(community)):
        if user.id == membership.user_id:
            return MemberOut(user_id=user.id, email=user.email, name=user.name, role=role)
    raise NotFound("membership vanished")  # pragma: no cover - we just wrote it
