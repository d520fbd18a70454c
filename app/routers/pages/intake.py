"""The embeddable intake form: anonymous, works in an iframe and without JavaScript."""

import hashlib
import hmac

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUpload

from app.community.models import Community
from app.community.service import get_community_by_slug
from app.config import get_settings
from app.db import pk
from app.deps import SessionDep, SettingsDep, public, rate_limit
from app.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from app.intake.service import awaits_confirmation, confirm_request
from app.templating import render
from app.ticket.enums import Channel, Status, TicketType, Urgency
from app.ticket.models import TicketCreate
from app.ticket.service import UploadedFile, submit_ticket, ticket_key

router = APIRouter(
    include_in_schema=False, dependencies=[public("the intake form is for anyone; rate-limited")]
)

HONEYPOT = "website"  # hidden from people by CSS; bots fill every field
HELD = "awaiting_confirmation"  # receipt state: held until the address confirms (issue 17)


def frame_policy(community: Community) -> str:
    """CSP for the form: it may be framed by the community's own site and by us, nobody else."""
    ancestors = " ".join(["'self'", *community.allowed_origins])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        f"base-uri 'none'; object-src 'none'; frame-ancestors {ancestors}"
    )


def _receipt_sig(key: str, status: str) -> str:
    msg = f"intake-receipt|{key}|{status}".encode()
    return hmac.new(get_settings().secret_key.encode(), msg, hashlib.sha256).hexdigest()[:24]


async def _community_or_404(session, slug: str) -> Community:
    community = await get_community_by_slug(session, slug)
    if community is None:
        raise NotFound("this support form does not exist")
    return community


def _form(
    request: Request,
    community: Community,
    *,
    values: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "intake/form.html",
        {
            "community": community,
            "values": values or {},
            "errors": errors or {},
            "types": list(TicketType),
            "urgencies": list(Urgency),
            "honeypot": HONEYPOT,
            "limits": get_settings(),
        },
        status_code=status_code,
        headers={"Content-Security-Policy": frame_policy(community)},
    )


@router.get("/intake/{slug}")
async def intake_form(request: Request, slug: str, session: SessionDep):
    return _form(request, await _community_or_404(session, slug))


@router.post("/intake/{slug}")
async def intake_submit(request: Request, slug: str, session: SessionDep, settings: SettingsDep):
    community = await _community_or_404(session, slug)
    rate_limit("intake", settings.intake_rate_per_minute, request)
    form = await request.form(max_files=settings.max_attachments + 5, max_fields=50)
    values = {
        k: str(form.get(k, "")) for k in ("name", "email", "title", "body", "type", "urgency")
    }
    if form.get(HONEYPOT):
        # Looks like success to the bot, creates nothing.
        return RedirectResponse(f"/intake/{slug}/done", status_code=303)
    errors: dict[str, str] = {}
    try:
        data = TicketCreate.model_validate(
            dict(  # form text: the model parses the choices
                title=values["title"],
                body=values["body"],
                requester_email=values["email"],
                requester_name=values["name"] or None,
                community=community.slug,
                type=values["type"] or TicketType.question,
                urgency=values["urgency"] or Urgency.normal,
                channel=Channel.web,
            )
        )
    except ValidationError as exc:
        names = {"requester_email": "email", "requester_name": "name"}
        for err in exc.errors():
            field = names.get(str(err["loc"][0]), str(err["loc"][0])) if err["loc"] else "form"
            errors[field] = err["msg"].removeprefix("Value error, ")
        return _form(request, community, values=values, errors=errors, status_code=422)
    files = [
        UploadedFile(
            filename=f.filename or "upload", content_type=f.content_type or "", data=await f.read()
        )
        for f in form.getlist("attachments")
        if isinstance(f, (UploadFile, StarletteUpload)) and (f.filename or f.size)
    ]
    try:
        # Anyone can type any address here: it is unverified (held if it names a representative or staff).
        ticket = await submit_ticket(session, data, files=files, verified=False)
    except (
        PayloadTooLarge,
        UnsupportedMediaType,
    ) as exc:  # too big or a program: say so beside the field
        return _form(
            request,
            community,
            values=values,
            errors={"attachments": exc.detail},
            status_code=exc.status_code,
        )
    key = ticket_key(pk(ticket))
    shown = HELD if await awaits_confirmation(session, pk(ticket)) else str(ticket.status)
    sig = _receipt_sig(key, shown)
    return RedirectResponse(f"/intake/{slug}/done?key={key}&s={shown}&sig={sig}", status_code=303)


@router.get("/intake/{slug}/done")
async def intake_done(
    request: Request, slug: str, session: SessionDep, key: str = "", s: str = "", sig: str = ""
):
    community = await _community_or_404(session, slug)
    valid = bool(key) and hmac.compare_digest(sig, _receipt_sig(key, s))
    return render(
        request,
        "intake/done.html",
        {
            "community": community,
            "key": key if valid else None,
            "awaiting_approval": valid and s == Status.awaiting_approval,
            "awaiting_confirmation": valid and s == HELD,
        },
        headers={"Content-Security-Policy": frame_policy(community)},
    )


@router.get("/intake/confirm/{token}")
async def confirm_page(request: Request, token: str):
    """Mail scanners open links: confirming needs a click on this page, not just the GET."""
    return render(request, "intake/confirm.html", {"token": token, "ticket_key": None})


@router.post("/intake/confirm/{token}")
async def confirm_submit(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    rate_limit("intake-confirm", settings.intake_rate_per_minute, request)
    ticket = await confirm_request(session, token)
    return render(
        request, "intake/confirm.html", {"token": None, "ticket_key": ticket_key(pk(ticket))}
    )
