"""FastAPI dependencies: the database session, who is asking, and what they may do."""

import time
from collections.abc import AsyncIterator
from typing import Annotated

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
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


async def get_session() -> AsyncIterator[AsyncSession]:
    session = get_database().session()
    try:
        yield session
    finally:
        await session.close()


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


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


def api_permission(permission: str):
    async def dependency(principal: Annotated[Principal | None, Depends(api_principal)]) -> Principal:
        return require(principal, permission)

    dependency.__name__ = f"requires_{permission.replace(':', '_')}"
    dependency.permission = permission  # read by the route-table authorization test
    return Depends(dependency)


def public(reason: str):
    """Mark a route as deliberately open to anonymous callers (it may check a signature itself).

    Every route declares its rule: a permission (api_permission / page_permission) or this.
    """

    async def dependency() -> None:
        return None

    dependency.__name__ = "public"
    dependency.public_reason = reason
    return Depends(dependency)


# --- pages: the session cookie, with a CSRF token on every state-changing request ---------


class LoginRequired(AppError):
    """A page needs a signed-in staff member; the handler redirects to /login."""

    status_code = 401
    code = "login_required"


async def page_principal(request: Request, session: SessionDep) -> Principal | None:
    if hasattr(request.state, "principal"):
        return request.state.principal
    token = request.cookies.get(SESSION_COOKIE)
    principal = await principal_from_session(session, token) if token else None
    request.state.principal = principal
    return principal


OptionalPagePrincipal = Annotated[Principal | None, Depends(page_principal)]


async def check_csrf(request: Request, principal: Principal) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get(CSRF_FIELD)
    if not isinstance(sent, str) or not principal.csrf_token or not constant_time_equals(sent, principal.csrf_token):
        raise Forbidden("the form expired or did not come from this site; reload the page and try again",
                        code="csrf_failed")


def page_permission(permission: str):
    async def dependency(request: Request, principal: OptionalPagePrincipal) -> Principal:
        if principal is None:
            raise LoginRequired("sign in to continue")
        await check_csrf(request, principal)
        return require(principal, permission)

    dependency.__name__ = f"page_requires_{permission.replace(':', '_')}"
    dependency.permission = permission
    return Depends(dependency)


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
