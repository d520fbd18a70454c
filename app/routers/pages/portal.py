"""The requester portal: sign in by e-mailed link; see, reply to, approve, confirm or reopen tickets.

Contacts never see staff pages (their cookie is a different one) and staff pages never
accept a contact. Which tickets a contact sees is `app/auth/visibility.py`'s rule.
"""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.policy import Principal
from app.auth.secrets import constant_time_equals
from app.auth.uploads import download_headers
from app.auth.visibility import can_approve, can_speak_for, represented
from app.community.models import Community
from app.db import pk
from app.deps import (
    PORTAL_COOKIE,
    OptionalPortalPrincipal,
    SessionDep,
    SettingsDep,
    check_csrf,
    portal_access,
    public,
    rate_limit,
)
from app.errors import Forbidden, InvalidInput
from app.intake import service as intake
from app.portal import service
from app.templating import render
from app.ticket.models import Ticket
from app.ticket.service import ticket_key
from app.ticket.views import communities_by_id, message_views, users_by_id

router = APIRouter(include_in_schema=False)
signin = APIRouter(
    include_in_schema=False, dependencies=[public("portal sign-in: anyone may ask for a link")]
)

Contact = Annotated[Principal, portal_access()]
# Sign-in happens before there is a session, so its CSRF token is a double-submit cookie.
SIGNIN_CSRF_COOKIE = "fl_portal_csrf"


def _with_csrf_cookie(
    request: Request, template: str, ctx: dict, *, path: str, status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, template, {**ctx, "form_csrf": token}, status_code=status_code)
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path=path)
    return response


def _check_form_csrf(request: Request, sent: str) -> None:
    cookie = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    if not cookie or not sent or not constant_time_equals(cookie, sent):
        raise Forbidden("the form expired; reload the page and try again", code="csrf_failed")


@signin.get("/portal/sign-in")
async def sign_in_page(
    request: Request, principal: OptionalPortalPrincipal, next: str | None = None
):
    if principal is not None:
        return RedirectResponse(service.safe_portal_path(next), status_code=303)
    return _with_csrf_cookie(
        request,
        "portal/sign_in.html",
        {"next": service.safe_portal_path(next)},
        path="/portal/sign-in",
    )


@signin.post("/portal/sign-in")
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/portal",
):
    _check_form_csrf(request, csrf_token)
    if "@" not in email or len(email.strip()) < 3:
        return _with_csrf_cookie(
            request,
            "portal/sign_in.html",
            {
                "next": service.safe_portal_path(next),
                "email": email,
                "error": "enter the e-mail address you use with us",
            },
            path="/portal/sign-in",
            status_code=422,
        )
    rate_limit("portal-link", settings.portal_link_rate_per_minute, request)
    rate_limit(
        "portal-link-email",
        settings.portal_link_rate_per_minute,
        request,
        key=email.strip().lower(),
    )
    await service.request_sign_in_link(session, email, next_path=next)
    # The same answer whether or not we know the address: the page tells nobody who is a contact.
    return render(request, "portal/sign_in_sent.html", {"email": email})


@signin.get("/portal/auth/{token}")
async def auth_confirm_page(request: Request, token: str):
    """Mail scanners open links: signing in needs a click on this page, not just the GET."""
    return _with_csrf_cookie(
        request, "portal/auth_confirm.html", {"token": token}, path="/portal/auth"
    )


@signin.post("/portal/auth/{token}")
async def auth_redeem(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
):
    _check_form_csrf(request, csrf_token)
    rate_limit("portal-redeem", settings.portal_link_rate_per_minute * 4, request)
    cookie, next_path = await service.redeem_link(session, token)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        PORTAL_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.portal_session_days * 86400,
        path="/",
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/portal/auth")
    return response


@signin.post("/portal/sign-out")
async def sign_out(request: Request, session: SessionDep, principal: OptionalPortalPrincipal):
    if principal is not None:
        await check_csrf(request, principal)
        await service.sign_out(session, request.cookies.get(PORTAL_COOKIE, ""))
    response = RedirectResponse("/portal/sign-in", status_code=303)
    response.delete_cookie(PORTAL_COOKIE, path="/")
    return response


# --- signed in -------------------------------------------------------------------------------


def _ctx(principal: Principal, **more) -> dict:
    # The portal's own principal and CSRF token (render() only knows the staff one).
    return {"contact": principal, "csrf_token": principal.csrf_token, "section": "portal", **more}


async def _rows(session, tickets: list[Ticket]) -> list[dict]:
    communities = await communities_by_id(session, {t.community_id for t in tickets})
    people = await users_by_id(session, {t.requester_id for t in tickets})
    return [
        {
            "t": t,
            "key": ticket_key(pk(t)),
            "community": communities.get(t.community_id),
            "requester": people.get(t.requester_id),
        }
        for t in tickets
    ]


@router.get("/portal")
async def portal_home(
    request: Request,
    session: SessionDep,
    principal: Contact,
    view: str = "open",
    community: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
):
    rows = await service.list_visible_tickets(
        session, principal, view=view, community=community or None, text=q
    )
    member_of = await communities_by_id(session, set(principal.memberships))
    waiting = []
    if represented(principal):
        waiting = await service.list_visible_tickets(session, principal, view="approval")
        waiting = [t for t in waiting if t.community_id in represented(principal)]
    return render(
        request,
        "portal/list.html",
        _ctx(
            principal,
            rows=await _rows(session, rows),
            view=view,
            views=service.PORTAL_VIEWS,
            q=q or "",
            community=community or "",
            counts=await service.count_visible(session, principal),
            member_of=sorted(member_of.values(), key=lambda c: c.name),
            represented=represented(principal),
            waiting=await _rows(session, waiting),
        ),
    )


async def _ticket_page(
    request: Request,
    session,
    principal: Principal,
    ticket: Ticket,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    messages = await message_views(
        session, await service.visible_messages(session, principal, ticket)
    )
    community = await session.get(Community, ticket.community_id) if ticket.community_id else None
    requester = (await users_by_id(session, {ticket.requester_id})).get(ticket.requester_id)
    return render(
        request,
        "portal/ticket.html",
        _ctx(
            principal,
            t=ticket,
            key=ticket_key(pk(ticket)),
            community=community,
            requester=requester,
            messages=messages,
            attachments=await service.visible_attachments(session, principal, ticket),
            csat=await service.latest_csat(session, pk(ticket)),
            can_approve=can_approve(principal, ticket),
            can_speak=can_speak_for(principal, ticket),
            held_for_me=await intake.held_in_name_of(session, pk(ticket), principal.user_id),
            error=error,
        ),
        status_code=status_code,
    )


@router.get("/portal/tickets/{ref}")
async def portal_ticket(request: Request, ref: str, session: SessionDep, principal: Contact):
    return await _ticket_page(
        request, session, principal, await service.get_visible_ticket(session, principal, ref)
    )


def _back_to(ref: str | int) -> RedirectResponse:
    return RedirectResponse(f"/portal/tickets/{ref}", status_code=303)


@router.post("/portal/tickets/{ref}/messages")
async def portal_reply(
    ref: str,
    session: SessionDep,
    principal: Contact,
    body: Annotated[str, Form(max_length=50_000)] = "",
):
    message = await service.reply(session, principal, ref, body)
    return _back_to(message.ticket_id)


@router.post("/portal/tickets/{ref}/confirm")
async def portal_confirm(
    ref: str,
    session: SessionDep,
    principal: Contact,
    score: Annotated[str, Form(max_length=2)] = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
):
    await service.get_visible_ticket(
        session, principal, ref
    )  # "not found" before any word about the form
    if not score.isdigit():
        raise InvalidInput("choose a rating from 1 (poor) to 5 (great)", code="bad_score")
    ticket = await service.confirm_resolution(
        session, principal, ref, service.Rating(int(score), comment)
    )
    return _back_to(pk(ticket))


@router.post("/portal/tickets/{ref}/reopen")
async def portal_reopen(
    ref: str,
    session: SessionDep,
    principal: Contact,
    comment: Annotated[str, Form(max_length=50_000)] = "",
):
    ticket = await service.report_not_fixed(session, principal, ref, comment)
    return _back_to(pk(ticket))


@router.post("/portal/tickets/{ref}/approve")
async def portal_approve(ref: str, session: SessionDep, principal: Contact):
    ticket = await service.approve_request(session, principal, ref)
    return _back_to(pk(ticket))


@router.post("/portal/tickets/{ref}/decline")
async def portal_decline(
    ref: str,
    session: SessionDep,
    principal: Contact,
    reason: Annotated[str, Form(max_length=5000)] = "",
):
    ticket = await service.decline_request(session, principal, ref, reason)
    return _back_to(pk(ticket))


@router.post("/portal/tickets/{ref}/sent-by-me")
async def portal_answer_hold(
    ref: str,
    session: SessionDep,
    principal: Contact,
    answer: Annotated[str, Form(max_length=8)] = "",
):
    """A request held because it named this person's address from an unverified sender."""
    ticket = await service.get_visible_ticket(session, principal, ref)
    if answer not in ("yes", "no"):
        raise InvalidInput("answer yes or no", code="bad_answer")
    ticket = await intake.answer_hold_in_portal(
        session, principal, pk(ticket), mine=answer == "yes"
    )
    return _back_to(pk(ticket))


@router.get("/portal/tickets/{ref}/attachments/{attachment_id}")
async def portal_attachment(ref: str, attachment_id: int, session: SessionDep, principal: Contact):
    ticket = await service.get_visible_ticket(session, principal, ref)
    att = await service.get_visible_attachment(session, principal, ticket, attachment_id)
    return Response(att.data, headers=download_headers(att.filename))
