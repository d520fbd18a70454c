"""/api/v1/users: the caller, and staff management for admins."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.auth.policy import Principal
from app.deps import SessionDep, api_permission
from app.routers.api.common import errors
from app.user import service
from app.user.models import ApiTokenPublic, UserCreate, UserPublic

router = APIRouter(prefix="/users", tags=["users"])

Reader = Annotated[Principal, api_permission("users:read")]
Writer = Annotated[Principal, api_permission("users:write")]


@router.get("/me", response_model=UserPublic, responses=errors(401, 403))
async def me(session: SessionDep, principal: Reader):
    return await service.get_user(session, principal.user_id)


@router.get("", response_model=list[UserPublic], responses=errors(401, 403), summary="Active staff")
async def list_staff(session: SessionDep, principal: Reader):
    return await service.list_staff(session)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserPublic,
             responses=errors(400, 401, 403, 409, 422))
async def create_user(data: UserCreate, session: SessionDep, principal: Writer):
    return await service.create_user(session, data, actor_id=principal.user_id)


@router.get("/me/tokens", response_model=list[ApiTokenPublic], responses=errors(401, 403),
            summary="API tokens: your own, or everyone's for an admin with ?all=true")
async def list_tokens(session: SessionDep, principal: Reader,
                      all_users: Annotated[bool, Query(alias="all")] = False):
    everyone = all_users and principal.can("users:write")
    tokens = await service.list_api_tokens(session, user_id=None if everyone else principal.user_id)
    return [ApiTokenPublic.of(t) for t in tokens]


@router.delete("/me/tokens/{token_id}", response_model=ApiTokenPublic, responses=errors(401, 403, 404),
               summary="Revoke an API token now (your own; anyone's with users:write)")
async def revoke_token(token_id: int, session: SessionDep, principal: Reader):
    return ApiTokenPublic.of(await service.revoke_api_token(session, token_id, by=principal))
