"""SLA pages: the admin page at /sla (calendars, policies, a due-time preview), the ticket
page's SLA panel and the board's countdown badges. Every rule lives in app/sla/service.py."""

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.auth.policy import Principal
from app.community.service import list_communities
from app.deps import SessionDep, page_permission
from app.errors import AppError, InvalidInput
from app.sla import service
from app.sla.calendar import WEEKDAYS
from app.sla.models import SlaCalendarIn, SlaPolicyIn, SlaRuleIn
from app.sla.schemas import TARGET_LABELS, Target
from app.sla.views import sla_badges
from app.templating import env, render
from app.ticket.enums import Channel, Criticality, Urgency

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, page_permission("sla:read")]
Writer = Annotated[Principal, page_permission("sla:write")]

env.globals.update(
    sla_badges=sla_badges, TARGET_LABELS=TARGET_LABELS, SLA_TARGETS=list(Target), WEEKDAYS=WEEKDAYS
)


async def ticket_sla_panel(session, ticket, principal):
    states = (await service.clock_states(session, [ticket.id], service.sla_now()))[ticket.id]
    return {"states": states, "badges": sla_badges}


def _validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


async def _page_context(
    session, *, preview_args: dict | None = None, editing: dict | None = None
) -> dict:
    calendars = await service.list_calendars(session)
    args = {
        "channel": "email",
        "criticality": "",
        "urgency": "normal",
        "community": "",
        **(preview_args or {}),
    }
    return {
        "section": "sla",
        "calendars": calendars,
        "calendar_names": {c.id: c.name for c in calendars},
        "policies": await service.list_policies(session),
        "communities": await list_communities(session),
        "preview": await _preview(session, args),
        "preview_args": args,
        "editing": editing or {},
        "Channel": Channel,
        "Urgency": Urgency,
        "Criticality": Criticality,
    }


async def _preview(session, args: dict) -> dict:
    now = service.sla_now()
    try:
        channel = Channel(args.get("channel") or "email")
        urgency = Urgency(args.get("urgency") or "normal")
        crit = Criticality(int(args["criticality"])) if args.get("criticality") else None
    except ValueError:
        raise InvalidInput(
            "preview: unknown channel, urgency or criticality", code="bad_preview"
        ) from None
    items = await service.preview(
        session,
        channel=channel.value,
        criticality=int(crit) if crit else None,
        urgency=urgency.value,
        community=args.get("community") or None,
        at=now,
    )
    return {"at": now, "items": items, "channel": channel.value}


@router.get("/sla")
async def sla_admin(
    request: Request,
    session: SessionDep,
    principal: Reader,
    channel: str = "email",
    criticality: str = "",
    urgency: str = "normal",
    community: str = "",
):
    ctx = await _page_context(
        session,
        preview_args={
            "channel": channel,
            "criticality": criticality,
            "urgency": urgency,
            "community": community,
        },
    )
    return render(request, "sla/admin.html", ctx, block="preview")


def _calendar_from_form(form) -> SlaCalendarIn:
    try:
        return SlaCalendarIn(
            name=str(form.get("name", "")).strip(),
            kind=str(form.get("kind", "hours")),
            zone=str(form.get("zone", "UTC")).strip() or "UTC",
            hours={
                d: str(form.get(f"hours_{d}", "")).strip()
                for d in WEEKDAYS
                if str(form.get(f"hours_{d}", "")).strip()
            },
            holiday_country=str(form.get("holiday_country", "")).strip().upper() or None,
            holiday_subdiv=str(form.get("holiday_subdiv", "")).strip().upper() or None,
            custom_holidays=[
                d for d in str(form.get("custom_holidays", "")).replace(",", " ").split() if d
            ],
        )
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), code="bad_calendar") from None


async def _rerender_with_error(request, session, exc: AppError, editing: dict):
    ctx = await _page_context(session, editing={**editing, "error": exc.detail})
    status = exc.status_code if exc.status_code in (409, 422) else 422
    return render(request, "sla/admin.html", ctx, status_code=status)


@router.post("/sla/calendars")
async def create_calendar(request: Request, session: SessionDep, principal: Writer):
    return await _save_calendar(request, session, principal, None)


@router.post("/sla/calendars/{calendar_id}")
async def update_calendar(
    request: Request, calendar_id: int, session: SessionDep, principal: Writer
):
    return await _save_calendar(request, session, principal, calendar_id)


async def _save_calendar(request: Request, session, principal: Principal, calendar_id: int | None):
    form = await request.form()
    try:
        data = _calendar_from_form(form)
        await service.save_calendar(
            session, data, calendar_id=calendar_id, actor_id=principal.user_id
        )
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return await _rerender_with_error(
            request, session, exc, {"calendar": calendar_id or "new", "form": dict(form)}
        )
    return RedirectResponse("/sla#calendars", status_code=303)


def _policy_from_form(form) -> SlaPolicyIn:
    rules = []
    columns = [
        form.getlist(k)
        for k in (
            "rule_target",
            "rule_channel",
            "rule_criticality",
            "rule_urgency",
            "rule_hours",
            "rule_calendar",
        )
    ]
    for target, channel, crit, urgency, hours, calendar_id in zip(*columns):
        if not str(hours).strip():
            continue  # a blank duration removes the rule (and leaves the empty "add" row out)
        try:
            minutes = round(float(str(hours).replace(",", ".")) * 60)
            rules.append(
                SlaRuleIn.model_validate(
                    dict(
                        target=target,
                        channel=channel or None,
                        criticality=int(crit) if crit else None,
                        urgency=urgency or None,
                        minutes=minutes,
                        calendar_id=int(calendar_id),
                    )
                )
            )
        except ValueError as exc:
            msg = (
                _validation_message(exc)
                if isinstance(exc, ValidationError)
                else f"{hours!r} is not a number of hours"
            )
            raise InvalidInput(f"rule for {target}: {msg}", code="bad_rule") from None
    try:
        return SlaPolicyIn(
            name=str(form.get("name", "")),
            community=str(form.get("community", "")) or None,
            rules=rules,
        )
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), code="bad_policy") from None


@router.post("/sla/policies")
async def create_policy(request: Request, session: SessionDep, principal: Writer):
    return await _save_policy(request, session, principal, None)


@router.post("/sla/policies/{policy_id}")
async def update_policy(request: Request, policy_id: int, session: SessionDep, principal: Writer):
    return await _save_policy(request, session, principal, policy_id)


async def _save_policy(request: Request, session, principal: Principal, policy_id: int | None):
    form = await request.form()
    try:
        await service.save_policy(
            session, _policy_from_form(form), policy_id=policy_id, actor_id=principal.user_id
        )
    except AppError as exc:
        if exc.status_code == 404:
            raise
        return await _rerender_with_error(request, session, exc, {"policy": policy_id or "new"})
    return RedirectResponse("/sla#policies", status_code=303)


@router.post("/sla/policies/{policy_id}/delete")
async def delete_policy(request: Request, policy_id: int, session: SessionDep, principal: Writer):
    await service.delete_policy(session, policy_id, actor_id=principal.user_id)
    return RedirectResponse("/sla#policies", status_code=303)
