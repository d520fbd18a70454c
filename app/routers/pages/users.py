"""/profile: staff set their own GitHub login and Slack id; admins set anyone's."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.auth.policy import Principal
from app.deps import SessionDep, page_permission, public
from app.errors import Conflict, InvalidInput, NotFound
from app.templating import render
from app.user import identity
from app.user.models import IdentityKind, ProfileUpdate, User
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
    email_error: str | None = None,
    email_typed: str = "",
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
            "email_action": "/profile/emails" if own else f"/users/{user.id}/profile/emails",
            "email_error": email_error,
            "email_typed": email_typed,
            # The address a verification link was just mailed to (own additions only).
            "email_sent": request.query_params.get("sent", "")[:254] if own else "",
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


# --- e-mail addresses: your own are verified by a mailed link; an admin's word is enough -------


async def _add_email(
    request: Request, session: SessionDep, principal: Principal, user_id: int, address: str
):
    own = user_id == principal.user_id
    try:
        if own:
            sent = await identity.request_email_identity(session, user_id, address)
        else:
            await identity.add_identity(
                session,
                user_id,
                IdentityKind.email,
                address,
                verified=True,
                actor_id=principal.user_id,
            )
    except (InvalidInput, Conflict) as exc:
        user = await get_user(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", code="unknown_user") from None
        return await _page(
            request,
            session,
            principal,
            user,
            status_code=exc.status_code,
            email_error=exc.detail,
            email_typed=address,
        )
    if own:
        return RedirectResponse(f"/profile?{urlencode({'sent': sent})}#emails", status_code=303)
    return RedirectResponse(f"/users/{user_id}/profile?saved=1#emails", status_code=303)


@router.post("/profile/emails")
async def add_my_email(
    request: Request,
    session: SessionDep,
    principal: Self,
    address: Annotated[str, Form(max_length=254)] = "",
):
    return await _add_email(request, session, principal, principal.user_id, address)


@router.post("/users/{user_id}/profile/emails")
async def add_user_email(
    user_id: int,
    request: Request,
    session: SessionDep,
    principal: Admin,
    address: Annotated[str, Form(max_length=254)] = "",
):
    return await _add_email(request, session, principal, user_id, address)


@router.post("/profile/emails/{identity_id}/remove")
async def remove_my_email(identity_id: int, session: SessionDep, principal: Self):
    await _remove_email(session, principal, principal.user_id, identity_id)
    return RedirectResponse("/profile?saved=1#emails", status_code=303)


@router.post("/users/{user_id}/profile/emails/{identity_id}/remove")
async def remove_user_email(user_id: int, identity_id: int, session: SessionDep, principal: Admin):
    await _remove_email(session, principal, user_id, identity_id)
    return RedirectResponse(f"/users/{user_id}/profile?saved=1#emails", status_code=303)


async def _remove_email(
    session: SessionDep, principal: Principal, user_id: int, identity_id: int
) -> None:
    found = next(
        (i for i in await identity.list_identities(session, user_id) if i.id == identity_id),
        None,
    )
    if found is None or found.kind != IdentityKind.email:  # handles are cleared on the form
        raise NotFound(f"no e-mail address {identity_id}", code="unknown_identity")
    await identity.remove_identity(
        session, identity_id, user_id=user_id, actor_id=principal.user_id
    )


_MAILED_LINK = public("the link mailed to the address is the credential; it is signed and expires")


@router.get("/identities/verify/{token}", dependencies=[_MAILED_LINK])
async def verify_email_page(request: Request, token: str):
    """Mail scanners open links: adding the address needs a click on this page."""
    _user_id, address = identity.read_verification_token(token)
    return render(
        request, "user/verify_email.html", {"token": token, "address": address, "done": False}
    )


@router.post("/identities/verify/{token}", dependencies=[_MAILED_LINK])
async def verify_email_submit(request: Request, token: str, session: SessionDep):
    added = await identity.verify_email_identity(session, token)
    return render(
        request,
        "user/verify_email.html",
        {"token": token, "address": added.value, "done": True},
    )
