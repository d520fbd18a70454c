"""FastAPI dependencies: the database session, who is asking, and what they may do."""

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.policy import Principal, require
from app.auth.secrets import constant_time_equals
from app.config import Settings, get_settings
from app.db import get_database
from app.errors import AppError, Forbidden, RateLimited, Unauthorized
from app.ratelimit import RateLimiter
from app.user.service import principal_from_session, principal_from_token

SESSION_COOKIE = "fl_session"
# The requester portal has its own cookie: a contact's session never opens a staff page.
PORTAL_COOKIE = "fl_portal"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


async def get_session() -> AsyncIterator[AsyncSession]:
    session = get_database().session()
    try:
        yield session
    finally:
        await session.close()


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def current_settings() -> Settings:
    # `async` on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread
    # hop per request for a cached lookup.
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]


def client_ip(request: Request) -> str:
    if get_settings().trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


# --- API: bearer tokens only, so no cookie ever authorises an API call (no CSRF surface) ---


async def api_principal(request: Request, session: SessionDep) -> Principal | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if not auth:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use an Authorization: Bearer <token> header", code="bad_auth_header")
    principal = await principal_from_token(session, token.strip())
    if principal is None:
        raise Unauthorized("unknown or revoked token", code="bad_token")
    return principal


class AccessRule:
    """A route's declared access rule: every route depends on exactly one (api_permission,
    page_permission, portal_access or public), and the route-table authorization test finds
    it by this type. Lookups depend on their route's rule, so it runs before any of them."""

    surface: str = "api"  # api | page | portal | public
    permission: str | None = None
    portal: bool = False
    public_reason: str | None = None
    signed: bool = False


class ApiPermission(AccessRule):
    permission: str

    def __init__(self, permission: str) -> None:
        self.permission = permission

    async def __call__(
        self, principal: Annotated[Principal | None, Depends(api_principal)]
    ) -> Principal:
        return require(principal, self.permission)


def api_permission(permission: str) -> Any:
    return Depends(ApiPermission(permission))


class Public(AccessRule):
    """A route deliberately open to anonymous callers.

    `signed=True` says the handler verifies a shared secret or signature itself (GitHub,
    Slack, a mail relay): anyone may call it, and an unsigned call is answered 401.
    """

    surface = "public"

    def __init__(self, reason: str, signed: bool) -> None:
        self.public_reason = reason
        self.signed = signed

    async def __call__(self) -> None:
        return None


def public(reason: str, *, signed: bool = False) -> Any:
    return Depends(Public(reason, signed))


# --- pages: the session cookie, with a CSRF token on every state-changing request ---------


class LoginRequired(AppError):
    """A page needs a signed-in staff member; the handler redirects to /login."""

    status_code = 401
    code = "login_required"
    login_path = "/login"


async def page_principal(request: Request, session: SessionDep) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    principal = await principal_from_session(session, token) if token else None
    request.state.principal = principal  # the page layout shows who is signed in
    return principal


OptionalPagePrincipal = Annotated[Principal | None, Depends(page_principal)]


async def check_csrf(request: Request, principal: Principal) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]  # a file fails the check below
    if (
        not isinstance(sent, str)
        or not principal.csrf_token
        or not constant_time_equals(sent, principal.csrf_token)
    ):
        raise Forbidden(
            "the form expired or did not come from this site; reload the page and try again",
            code="csrf_failed",
        )


class PagePermission(AccessRule):
    surface = "page"
    permission: str

    def __init__(self, permission: str) -> None:
        self.permission = permission

    async def __call__(self, request: Request, principal: OptionalPagePrincipal) -> Principal:
        if principal is None:
            raise LoginRequired("sign in to continue")
        await check_csrf(request, principal)
        return require(principal, self.permission)


def page_permission(permission: str) -> Any:
    return Depends(PagePermission(permission))


# --- the requester portal: contacts signed in by a one-time e-mail link ------------------


class PortalLoginRequired(LoginRequired):
    """A portal page needs a signed-in contact; the handler redirects to the portal sign-in."""

    code = "portal_login_required"
    login_path = "/portal/sign-in"


async def portal_principal(request: Request, session: SessionDep) -> Principal | None:
    from app.portal.service import (
        principal_from_portal_session,  # the portal imports deps' neighbours
    )

    token = request.cookies.get(PORTAL_COOKIE)
    return await principal_from_portal_session(session, token) if token else None


OptionalPortalPrincipal = Annotated[Principal | None, Depends(portal_principal)]


class PortalAccess(AccessRule):
    """A portal route: any signed-in contact, with CSRF on writes. Which tickets they may
    see or act on is decided per ticket by `app/auth/visibility.py`."""

    surface = "portal"
    portal = True

    async def __call__(self, request: Request, principal: OptionalPortalPrincipal) -> Principal:
        if principal is None:
            raise PortalLoginRequired("sign in with the link we e-mail you")
        await check_csrf(request, principal)
        return principal


def portal_access() -> Any:
    return Depends(PortalAccess())


def declared_rules(dependant: Any) -> list[AccessRule]:
    """The access rules in a route's dependency tree (normally exactly one)."""
    found: list[AccessRule] = []
    stack, seen = [dependant], set()
    while stack:
        for sub in stack.pop().dependencies:
            call = sub.call
            if id(call) in seen:
                continue
            seen.add(id(call))
            if isinstance(call, AccessRule):
                found.append(call)
            stack.append(sub)
    return found


# --- rate limits on anonymous endpoints ---------------------------------------------------

_limiters: dict[str, RateLimiter] = {}


def rate_limit(bucket: str, per_minute: int, request: Request, *, key: str | None = None) -> None:
    """Count one attempt against `bucket` for `key` (default: the client's address); 429 past the limit."""
    limiter = _limiters.get(bucket)
    if limiter is None or limiter.limit != per_minute:
        limiter = _limiters[bucket] = RateLimiter(limit=per_minute)
    wait = limiter.hit(key or client_ip(request), time.monotonic())
    if wait:
        raise RateLimited(f"too many attempts; try again in {wait} s", retry_after=wait)


def reset_rate_limits() -> None:
    _limiters.clear()
