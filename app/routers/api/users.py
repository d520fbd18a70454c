"""/api/v1/users: the caller, and staff management for admins."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.policy import Principal
from app.deps import SessionDep, api_permission
from app.errors import NotFound
from app.routers.api.common import errors
from app.user import identity, service
from app.user.models import (
    ApiTokenPublic,
    IdentityCreate,
    IdentityPublic,
    ProfileUpdate,
    UserCreate,
    UserPublic,
)

router = APIRouter(prefix="/users", tags=["users"])

Reader = Annotated[Principal, api_permission("users:read")]
Writer = Annotated[Principal, api_permission("users:write")]


@router.get("/me", response_model=UserPublic, responses=errors(401, 403))
async def me(session: SessionDep, principal: Reader):
    return await service.get_user(session, principal.user_id)


@router.get("", response_model=list[UserPublic], responses=errors(401, 403), summary="Active staff")
async def list_staff(session: SessionDep, principal: Reader):
    return await service.list_staff(session)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=errors(400, 401, 403, 409, 422),
)
async def create_user(data: UserCreate, session: SessionDep, principal: Writer):
    return await service.create_user(session, data, actor_id=principal.user_id)


@router.get(
    "/me/tokens",
    response_model=list[ApiTokenPublic],
    responses=errors(401, 403),
    summary="API tokens: your own, or everyone's for an admin with ?all=true",
)
async def list_tokens(
    session: SessionDep, principal: Reader, all_users: Annotated[bool, Query(alias="all")] = False
):
    everyone = all_users and principal.can("users:write")
    tokens = await service.list_api_tokens(session, user_id=None if everyone else principal.user_id)
    return [ApiTokenPublic.of(t) for t in tokens]


@router.delete(
    "/me/tokens/{token_id}",
    response_model=ApiTokenPublic,
    responses=errors(401, 403, 404),
    summary="Revoke an API token now (your own; anyone's with users:write)",
)
async def revoke_token(token_id: int, session: SessionDep, principal: Reader):
    return ApiTokenPublic.of(await service.revoke_api_token(session, token_id, by=principal))


@router.patch(
    "/me/profile",
    response_model=UserPublic,
    responses=errors(401, 403, 409, 422),
    summary='Set or clear ("") your own GitHub login and Slack id',
)
async def update_my_profile(data: ProfileUpdate, session: SessionDep, principal: Reader):
    return await identity.set_profile(session, principal.user_id, data, by=principal)


@router.get(
    "/{user_id}/identities",
    response_model=list[IdentityPublic],
    responses=errors(401, 403, 404),
    summary="A person's identities: extra e-mail addresses, GitHub login, Slack user id",
)
async def list_identities(user_id: int, session: SessionDep, principal: Reader):
    if await service.get_user(session, user_id) is None:
        raise NotFound(f"no user {user_id}", code="unknown_user")
    return [IdentityPublic.of(i) for i in await identity.list_identities(session, user_id)]


@router.post(
    "/{user_id}/identities",
    status_code=status.HTTP_201_CREATED,
    response_model=IdentityPublic,
    responses=errors(401, 403, 404, 409, 422),
    summary="Give a person an identity (a GitHub login or Slack id replaces the last)",
)
async def add_identity(user_id: int, data: IdentityCreate, session: SessionDep, principal: Writer):
    added = await identity.add_identity(
        session, user_id, data.kind, data.value, verified=data.verified, actor_id=principal.user_id
    )
    return IdentityPublic.of(added)


@router.delete(
    "/{user_id}/identities/{identity_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403, 404),
)
async def remove_identity(user_id: int, identity_id: int, session: SessionDep, principal: Writer):
    await identity.remove_identity(
        session, identity_id, user_id=user_id, actor_id=principal.user_id
    )


@router.patch(
    "/{user_id}/profile",
    response_model=UserPublic,
    responses=errors(401, 403, 404, 409, 422),
    summary='Set or clear ("") anyone\'s GitHub login and Slack id, as on /profile',
)
async def update_profile(user_id: int, data: ProfileUpdate, session: SessionDep, principal: Writer):
    return await identity.set_profile(session, user_id, data, by=principal)
