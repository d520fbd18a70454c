"""Staff sign-in and sign-out."""

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.secrets import constant_time_equals
from app.deps import (
    SESSION_COOKIE,
    OptionalPagePrincipal,
    SessionDep,
    SettingsDep,
    check_csrf,
    public,
    rate_limit,
)
from app.errors import Forbidden, Unauthorized
from app.templating import render
from app.user.service import log_in, log_out

router = APIRouter(include_in_schema=False, dependencies=[public("signing in and out")])

# Login happens before there is a session, so its CSRF token is a double-submit cookie.
LOGIN_CSRF_COOKIE = "fl_login_csrf"


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never let ?next= bounce someone to another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_form(
    request: Request,
    *,
    next_url: str,
    error: str | None = None,
    email: str = "",
    status_code: int = 200,
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "auth/login.html",
        {"next": next_url, "error": error, "email": email, "login_csrf": token},
        status_code=status_code,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.get("/login")
async def login_page(request: Request, principal: OptionalPagePrincipal, next: str | None = None):
    if principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_form(request, next_url=_safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
):
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not constant_time_equals(cookie, csrf_token):
        raise Forbidden(
            "the sign-in form expired; reload the page and try again", code="csrf_failed"
        )
    rate_limit("login", settings.login_rate_per_minute, request)
    try:
        token, _login_session = await log_in(session, email, password, days=settings.session_days)
    except Unauthorized as exc:
        return _login_form(
            request, next_url=_safe_next(next), error=exc.detail, email=email, status_code=401
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_days * 86400,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, principal: OptionalPagePrincipal):
    if principal is not None:
        await check_csrf(request, principal)
        await log_out(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
