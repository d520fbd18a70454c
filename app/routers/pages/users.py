"""/profile: staff set their own GitHub login and Slack id; admins set anyone's."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.auth.policy import Principal
from app.deps import SessionDep, page_permission
from app.errors import Conflict, InvalidInput, NotFound
from app.templating import render
from app.user import identity
from app.user.models import ProfileUpdate, User
from app.user.service import get_user, list_staff

router = APIRouter(include_in_schema=False)

# Signed-in staff (every role reads users) may set their own handles; anyone's needs users:write.
Self = Annotated[Principal, page_permission("users:read")]
Admin = Annotated[Principal, page_permission("users:write")]


async def _page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    user: User,
    *,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
):
    own = user.id == principal.user_id
    return render(
        request,
        "user/profile.html",
        {
            "section": "profile",
            "user": user,
            "own": own,
            "action": "/profile" if own else f"/users/{user.id}/profile",
            "identities": await identity.list_identities(session, user.id or 0),
            "staff": await list_staff(session) if principal.can("users:write") else [],
            "form": form
            or {"github_login": user.github_login or "", "slack_user_id": user.slack_user_id or ""},
            "error": error,
            "saved": request.query_params.get("saved") == "1",
        },
        status_code=status_code,
    )


async def _save(
    request: Request,
    session: SessionDep,
    principal: Principal,
    user_id: int,
    github_login: str,
    slack_user_id: str,
    back: str,
):
    try:
        await identity.set_profile(
            session,
            user_id,
            ProfileUpdate(github_login=github_login, slack_user_id=slack_user_id),
            by=principal,
        )
    except (InvalidInput, Conflict) as exc:
        user = await get_user(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", code="unknown_user") from None
        # The form again, with what was typed and why it was refused; nothing was written.
        return await _page(
            request,
            session,
            principal,
            user,
            error=exc.detail,
            status_code=exc.status_code,
            form={"github_login": github_login, "slack_user_id": slack_user_id},
        )
    return RedirectResponse(f"{back}?saved=1", status_code=303)


@router.get("/profile")
async def my_profile(request: Request, session: SessionDep, principal: Self):
    user = await get_user(session, principal.user_id)
    if user is None:
        raise NotFound("no such user")
    return await _page(request, session, principal, user)


@router.post("/profile")
async def save_my_profile(
    request: Request,
    session: SessionDep,
    principal: Self,
    github_login: Annotated[str, Form(max_length=64)] = "",
    slack_user_id: Annotated[str, Form(max_length=32)] = "",
):
    return await _save(
        request, session, principal, principal.user_id, github_login, slack_user_id, "/profile"
    )


@router.get("/users/{user_id}/profile")
async def user_profile(user_id: int, request: Request, session: SessionDep, principal: Admin):
    user = await get_user(session, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", code="unknown_user")
    return await _page(request, session, principal, user)


@router.post("/users/{user_id}/profile")
async def save_user_profile(
    user_id: int,
    request: Request,
    session: SessionDep,
    principal: Admin,
    github_login: Annotated[str, Form(max_length=64)] = "",
    slack_user_id: Annotated[str, Form(max_length=32)] = "",
):
    return await _save(
        request,
        session,
        principal,
        user_id,
        github_login,
        slack_user_id,
        f"/users/{user_id}/profile",
    )
