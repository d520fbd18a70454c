"""/api/v1/users: the caller, and staff management for admins."""

from typing import Annotated

from fastapi import APIRouter, status

from app.auth.policy import Principal
from app.deps import SessionDep, api_permission
from app.routers.api.common import errors
from app.user import service
from app.user.models import UserCreate, UserPublic

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
