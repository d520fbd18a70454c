"""FastAPI dependencies: the database session, who is asking, and what they may do."""

import inspect
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


async def _once_per_request(request: Request, key: str, find) -> Principal | None:
    """Who the caller is, looked up once per request: the access gate asks first, then the
    route's own dependencies ask again."""
    if hasattr(request.state, key):
        return getattr(request.state, key)
    principal = await find()
    setattr(request.state, key, principal)
    return principal


async def api_principal(request: Request, session: SessionDep) -> Principal | None:
    return await _once_per_request(request, "api_principal", lambda: _api_principal(request, session))


async def _api_principal(request: Request, session: AsyncSession) -> Principal | None:
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
    dependency.permission = permission  # type: ignore[attr-defined]  # read by the route-table authorization test
    dependency.surface = "api"  # type: ignore[attr-defined]
    return Depends(dependency)


async def api_caller(principal: Annotated[Principal | None, Depends(api_principal)]) -> Principal:
    """Any valid token. Lookups (`ticket_or_404`) depend on it, so an anonymous caller gets
    401 for every id alike and cannot learn from 404s which tickets exist."""
    if principal is None:
        raise Unauthorized("sign in or send a bearer token")
    return principal


ApiCaller = Annotated[Principal, Depends(api_caller)]


def public(reason: str, *, signed: bool = False):
    """Mark a route as deliberately open to anonymous callers.

    Every route declares its rule: a permission (api_permission / page_permission) or this.
    `signed=True` says the handler verifies a shared secret or signature itself (GitHub,
    Slack, a mail relay): anyone may call it, and an unsigned call is answered 401.
    """

    async def dependency() -> None:
        return None

    dependency.__name__ = "public"
    dependency.public_reason = reason  # type: ignore[attr-defined]  # read by the route-table test
    dependency.signed = signed  # type: ignore[attr-defined]
    return Depends(dependency)


# --- pages: the session cookie, with a CSRF token on every state-changing request ---------


class LoginRequired(AppError):
    """A page needs a signed-in staff member; the handler redirects to /login."""

    status_code = 401
    code = "login_required"
    login_path = "/login"


async def page_principal(request: Request, session: SessionDep) -> Principal | None:
    async def find() -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE)
        return await principal_from_session(session, token) if token else None

    return await _once_per_request(request, "principal", find)


OptionalPagePrincipal = Annotated[Principal | None, Depends(page_principal)]


async def page_caller(principal: OptionalPagePrincipal) -> Principal:
    """Any signed-in staff member: page lookups depend on it, like `api_caller` for the API."""
    if principal is None:
        raise LoginRequired("sign in to continue")
    return principal


PageCaller = Annotated[Principal, Depends(page_caller)]


async def check_csrf(request: Request, principal: Principal) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]  # a file fails the check below
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
    dependency.permission = permission  # type: ignore[attr-defined]  # as above
    dependency.surface = "page"  # type: ignore[attr-defined]
    return Depends(dependency)


# --- the requester portal: contacts signed in by a one-time e-mail link ------------------


class PortalLoginRequired(LoginRequired):
    """A portal page needs a signed-in contact; the handler redirects to the portal sign-in."""

    code = "portal_login_required"
    login_path = "/portal/sign-in"


async def portal_principal(request: Request, session: SessionDep) -> Principal | None:
    from app.portal.service import principal_from_portal_session  # the portal imports deps' neighbours

    async def find() -> Principal | None:
        token = request.cookies.get(PORTAL_COOKIE)
        return await principal_from_portal_session(session, token) if token else None

    return await _once_per_request(request, "portal_principal", find)


OptionalPortalPrincipal = Annotated[Principal | None, Depends(portal_principal)]


def portal_access():
    """A portal route: any signed-in contact, with CSRF on writes. Which tickets they may
    see or act on is decided per ticket by `app/auth/visibility.py`."""

    async def dependency(request: Request, principal: OptionalPortalPrincipal) -> Principal:
        if principal is None:
            raise PortalLoginRequired("sign in with the link we e-mail you")
        await check_csrf(request, principal)
        return principal

    dependency.__name__ = "portal_contact"
    dependency.portal = True  # read by the route-table authorization test
    return Depends(dependency)


# --- the access gate: a route's declared rule runs before anything else it depends on ------


def declared_rules(dependant) -> list:
    """The access-rule dependencies in a route's dependency tree (normally exactly one)."""
    found, stack, seen = [], [dependant], set()
    while stack:
        for sub in stack.pop().dependencies:
            call = sub.call
            if id(call) in seen:
                continue
            seen.add(id(call))
            if getattr(call, "permission", None) or getattr(call, "portal", False) or getattr(call, "public_reason", None):
                found.append(call)
            stack.append(sub)
    return found


# Per route: each rule to run with the arguments it takes and where its caller comes from,
# worked out on the route's first request instead of inspecting signatures on every one.
_plans_by_route: dict[int, list[tuple]] = {}


def _gate_plan(dependant) -> list[tuple]:
    plan = []
    for call in declared_rules(dependant):
        if getattr(call, "public_reason", None):
            continue
        params = inspect.signature(call).parameters
        finder = None
        # A hand-written check (e.g. the alert receivers' shared token) finds its caller itself.
        if "principal" in params:
            if getattr(call, "portal", False):
                finder = portal_principal
            elif getattr(call, "surface", "api") == "page" or call.__name__.startswith("page_"):
                finder = page_principal
            else:
                finder = api_principal
        plan.append((call, "request" in params, "session" in params, finder))
    return plan


async def authorize_first(request: Request, session: SessionDep) -> None:
    """Run the route's own access rule first, so nobody learns anything from a lookup (a 404
    for an id, a 422 for a body) before being told they may not call the route at all.

    FastAPI runs router-level dependencies before a route's own parameters; the routers
    under /api/v1 and the pages install this one.
    """
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    plan = _plans_by_route.get(id(route))
    if plan is None:
        plan = _plans_by_route[id(route)] = _gate_plan(dependant)
    for call, wants_request, wants_session, finder in plan:
        kwargs: dict[str, object] = {}
        if wants_request:
            kwargs["request"] = request
        if wants_session:
            kwargs["session"] = session
        if finder is not None:
            kwargs["principal"] = await finder(request, session)
        await call(**kwargs)


AuthorizeFirst = Depends(authorize_first)


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
