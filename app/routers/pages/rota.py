"""/rota: who is on now, the week/month grid of final shifts, overrides, duties, feeds, handoffs.

Every action is a plain form post (303 back) and calls the same service as the API.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.auth.policy import Principal
from app.db import pk, utcnow
from app.deps import SessionDep, page_permission
from app.errors import AppError, InvalidInput
from app.rota import feeds, handoff, service
from app.rota.handoff import RETRO_QUESTIONS
from app.rota.models import Handoff, HandoffUpdate, OverrideIn, RoleIn, Schedule, ScheduleIn
from app.rota.schedule import fairness
from app.rota.views import build_grid, window
from app.templating import render
from app.user.service import list_staff

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, page_permission("schedules:read")]
Writer = Annotated[Principal, page_permission("schedules:write")]


# Each lookup depends on its routes' permission, so the login or 403 comes before any 404.
async def schedule_or_404(schedule_id: int, session: SessionDep, _reader: Reader) -> Schedule:
    return await service.find_schedule(session, schedule_id)


async def schedule_for_writing(schedule_id: int, session: SessionDep, _writer: Writer) -> Schedule:
    return await service.find_schedule(session, schedule_id)


ScheduleDep = Annotated[Schedule, Depends(schedule_or_404)]
WritableScheduleDep = Annotated[Schedule, Depends(schedule_for_writing)]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _validation_detail(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors())


def _local_input(value: str, zone: str, name: str) -> datetime:
    """A datetime-local form value, read as wall-clock time in the schedule's zone."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name}: give a date and time, e.g. 2026-03-02T09:00", code="bad_datetime"
        ) from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=ZoneInfo(zone))


async def _page_context(
    session,
    schedule: Schedule | None,
    principal: Principal,
    *,
    view: str,
    start: date | None,
    now: datetime,
) -> dict:
    schedules = await service.list_schedules(session)
    ctx: dict = {
        "section": "rota",
        "schedules": schedules,
        "schedule": schedule,
        "view": view,
        "staff": await list_staff(session),
        "WEEKDAYS": WEEKDAYS,
        "can_write": principal.can("schedules:write"),
    }
    if schedule is None:
        return ctx
    tz = ZoneInfo(schedule.zone)
    today = now.astimezone(tz).date()
    first, days, period_start = window(view, start or today)
    period_end = (
        (period_start + timedelta(days=32)).replace(day=1)
        if view == "month"
        else period_start + timedelta(7)
    )
    lo = datetime.combine(first, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(first + timedelta(days=days), datetime.min.time(), tzinfo=tz).astimezone(
        UTC
    )
    shifts = await service.final_shifts(session, schedule, lo, hi)
    who = await service.who_is_on(session, schedule, now)
    members = (await service.role_members(session, [pk(schedule)])).get(pk(schedule), {})
    duties = await service.list_duties(session, pk(schedule))
    current = {role: s for role, s in who.now.items() if s}
    ticks = await service.ticks_for(
        session, pk(schedule), sorted({s.index for s in current.values()})
    )
    overrides = await service.list_overrides(session, schedule, since=now - timedelta(days=1))
    fair_from = now - timedelta(days=90)
    fair = fairness(await service.final_shifts(session, schedule, fair_from, now), fair_from, now)
    people = await service.users_by_id(
        session,
        {s.user_id for s in shifts}
        | {s.user_id for s in who.next.values() if s}
        | {s.user_id for s in current.values()}
        | {u for ids in members.values() for u in ids}
        | {
            i
            for o in overrides
            for i in (o.user_id, o.requested_by_id, o.agreed_by_id, o.replaces_user_id)
        }
        | {f.user_id for f in fair},
    )
    prev_anchor = (
        (period_start - timedelta(days=1)).replace(day=1)
        if view == "month"
        else period_start - timedelta(7)
    )
    ctx.update(
        {
            "zone": schedule.zone,
            "tz": tz,
            "today": today,
            "who": who,
            "current": current,
            "members": members,
            "people": people,
            "duties": duties,
            "ticks": ticks,
            "overrides": overrides,
            "fairness": fair,
            "grid": build_grid(
                shifts, schedule.zone, first, days, (period_start, period_end), schedule.roles
            ),
            "period_start": period_start,
            "prev_start": prev_anchor,
            "next_start": period_end,
            "handoffs": await handoff.search_handoffs(session, schedule_id=schedule.id, limit=5),
            "roles": schedule.roles,
            "role_index": {r: i for i, r in enumerate(schedule.roles)},
            "default_start": now.astimezone(tz).strftime("%Y-%m-%dT%H:00"),
            "default_end": (now + timedelta(days=1)).astimezone(tz).strftime("%Y-%m-%dT%H:00"),
        }
    )
    return ctx


@router.get("/rota")
async def rota_page(
    request: Request,
    session: SessionDep,
    principal: Reader,
    schedule: int | None = None,
    view: str = "week",
    start: date | None = None,
):
    if view not in ("week", "month"):
        raise InvalidInput("view is week or month", code="bad_view")
    chosen = None
    if schedule is not None:
        chosen = await service.find_schedule(session, schedule)
    else:
        all_ = await service.list_schedules(session)
        chosen = all_[0] if all_ else None
    ctx = await _page_context(session, chosen, principal, view=view, start=start, now=utcnow())
    return render(request, "rota/index.html", ctx, block="grid")


async def _rerender(
    request,
    session,
    schedule,
    principal,
    *,
    error: str,
    form: dict | None = None,
    status_code: int = 422,
    **extra,
):
    ctx = await _page_context(session, schedule, principal, view="week", start=None, now=utcnow())
    ctx.update(form_error=error, form=form or {}, **extra)
    return render(request, "rota/index.html", ctx, status_code=status_code)


@router.post("/rota/{schedule_id}/overrides")
async def add_override(
    request: Request,
    schedule: WritableScheduleDep,
    session: SessionDep,
    principal: Writer,
    user_id: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    agreed_by_id: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
):
    form = {
        "user_id": user_id,
        "start": start,
        "end": end,
        "role": role,
        "agreed_by_id": agreed_by_id,
        "reason": reason,
    }
    try:
        data = OverrideIn(
            role=role or None,
            user_id=int(user_id) if user_id.isdigit() else -1,
            start=_local_input(start, schedule.zone, "from"),
            end=_local_input(end, schedule.zone, "to"),
            agreed_by_id=int(agreed_by_id) if agreed_by_id.isdigit() else None,
            reason=reason,
        )
        if data.user_id < 0:
            raise InvalidInput("choose who covers", code="bad_user")
        # Who the cover replaces is whoever the rota had at the start of the window.
        who = await service.who_is_on(session, schedule, data.start)
        replaced = who.now.get(data.role or schedule.roles[0])
        data.replaces_user_id = replaced.user_id if replaced else None
        await service.add_override(session, schedule, data, actor_id=principal.user_id)
    except ValidationError as exc:
        return await _rerender(
            request, session, schedule, principal, error=_validation_detail(exc), form=form
        )
    except AppError as exc:
        if exc.status_code != 422:
            raise
        return await _rerender(request, session, schedule, principal, error=exc.detail, form=form)
    day = data.start.astimezone(ZoneInfo(schedule.zone)).date()
    return RedirectResponse(
        f"/rota?schedule={schedule.id}&start={day.isoformat()}", status_code=303
    )


@router.post("/rota/{schedule_id}/overrides/{override_id}/delete")
async def delete_override(
    schedule: WritableScheduleDep, override_id: int, session: SessionDep, principal: Writer
):
    await service.delete_override(session, schedule, override_id, actor_id=principal.user_id)
    return RedirectResponse(f"/rota?schedule={schedule.id}", status_code=303)


@router.post("/rota/{schedule_id}/duties/{duty_id}/tick")
async def tick(
    schedule: WritableScheduleDep,
    duty_id: int,
    session: SessionDep,
    principal: Writer,
    shift_index: Annotated[int, Form(ge=0)],
    ticked: Annotated[str, Form()] = "1",
):
    await service.tick_duty(
        session, schedule, duty_id, shift_index, ticked == "1", actor_id=principal.user_id
    )
    return RedirectResponse(f"/rota?schedule={schedule.id}", status_code=303)


@router.post("/rota/{schedule_id}/feed")
async def make_feed(
    request: Request,
    schedule: ScheduleDep,
    session: SessionDep,
    principal: Reader,
    scope: Annotated[str, Form()] = "mine",
):
    if scope not in ("mine", "schedule", "everything-mine"):
        raise InvalidInput("scope is mine, schedule or everything-mine", code="bad_scope")
    _feed, token = await feeds.create_feed(
        session,
        principal,
        schedule_id=None if scope == "everything-mine" else schedule.id,
        user_id=None if scope == "schedule" else principal.user_id,
    )
    # The secret is shown once, on this response; it is never stored in clear.
    return await _rerender(
        request,
        session,
        schedule,
        principal,
        error="",
        status_code=200,
        feed_url=feeds.feed_url(token),
        feed_scope=scope,
    )


# --- creating a schedule ---------------------------------------------------------------------


def _emails(raw: str) -> list[str]:
    return [e.strip().lower() for e in raw.replace("\n", ",").split(",") if e.strip()]


async def _role(session, name: str, emails: str, duties: str) -> RoleIn | None:
    if not name.strip() and not emails.strip():
        return None
    staff = {u.email: pk(u) for u in await list_staff(session)}
    wanted = _emails(emails)
    unknown = [e for e in wanted if e not in staff]
    if unknown:
        raise InvalidInput(f"not staff members: {', '.join(unknown)}", code="unknown_user")
    return RoleIn(
        name=name.strip(),
        members=[staff[e] for e in wanted],
        duties=[d for d in duties.splitlines() if d.strip()],
    )


@router.get("/rota/new")
async def new_schedule_page(request: Request, session: SessionDep, principal: Writer):
    return render(
        request,
        "rota/new.html",
        {"section": "rota", "form": {}, "WEEKDAYS": WEEKDAYS, "staff": await list_staff(session)},
    )


@router.post("/rota/new")
async def create_schedule(
    request: Request,
    session: SessionDep,
    principal: Writer,
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "weekly",
    zone: Annotated[str, Form()] = "UTC",
    anchor_date: Annotated[str, Form()] = "",
    handoff_time: Annotated[str, Form()] = "09:00",
    handoff_weekday: Annotated[str, Form()] = "0",
    shift_days: Annotated[str, Form()] = "7",
    holiday_country: Annotated[str, Form()] = "",
    holiday_subdivision: Annotated[str, Form()] = "",
    holiday_dates: Annotated[str, Form()] = "",
    triage_mode: Annotated[str, Form()] = "off",
    role1: Annotated[str, Form()] = "triager",
    members1: Annotated[str, Form()] = "",
    duties1: Annotated[str, Form()] = "",
    role2: Annotated[str, Form()] = "",
    members2: Annotated[str, Form()] = "",
):
    form = dict(
        name=name,
        kind=kind,
        zone=zone,
        anchor_date=anchor_date,
        handoff_time=handoff_time,
        handoff_weekday=handoff_weekday,
        shift_days=shift_days,
        holiday_country=holiday_country,
        holiday_subdivision=holiday_subdivision,
        holiday_dates=holiday_dates,
        triage_mode=triage_mode,
        role1=role1,
        members1=members1,
        duties1=duties1,
        role2=role2,
        members2=members2,
    )
    try:
        roles = [
            r
            for r in [
                await _role(session, role1, members1, duties1),
                await _role(session, role2, members2, ""),
            ]
            if r is not None
        ]
        data = ScheduleIn.model_validate(
            dict(  # form text: the model parses dates, times and choices
                name=name,
                kind=kind,
                zone=zone.strip(),
                anchor_date=anchor_date or utcnow().date().isoformat(),
                handoff_time=handoff_time or "09:00",
                handoff_weekday=handoff_weekday or 0,
                shift_days=shift_days or 7,
                holiday_country=holiday_country.strip() or None,
                holiday_subdivision=holiday_subdivision.strip() or None,
                holiday_dates=[
                    d.strip() for d in holiday_dates.replace("\n", ",").split(",") if d.strip()
                ],
                roles=roles,
                triage_mode=triage_mode,
            )
        )
        schedule = await service.create_schedule(session, data, actor_id=principal.user_id)
    except (ValidationError, AppError) as exc:
        if isinstance(exc, AppError) and exc.status_code != 422:
            raise
        detail = _validation_detail(exc) if isinstance(exc, ValidationError) else exc.detail
        return render(
            request,
            "rota/new.html",
            {
                "section": "rota",
                "form": form,
                "form_error": detail,
                "WEEKDAYS": WEEKDAYS,
                "staff": await list_staff(session),
            },
            status_code=422,
        )
    return RedirectResponse(f"/rota?schedule={schedule.id}", status_code=303)


# --- handoffs ----------------------------------------------------------------------------------


@router.get("/rota/handoffs")
async def handoffs_page(
    request: Request,
    session: SessionDep,
    principal: Reader,
    q: str | None = None,
    schedule: int | None = None,
):
    if q is not None and len(q) > 200:
        raise InvalidInput("search at most 200 characters", code="bad_query")
    items = await handoff.search_handoffs(session, schedule_id=schedule, q=q or None, limit=100)
    people = await service.users_by_id(
        session, {i for h in items for i in (h.outgoing_id, h.incoming_id)}
    )
    names = {s.id: s.name for s in await service.list_schedules(session)}
    return render(
        request,
        "rota/handoffs.html",
        {
            "section": "rota",
            "items": items,
            "people": people,
            "q": q or "",
            "schedule_names": names,
        },
        block="results",
    )


async def _handoff_or_404(handoff_id: int, session: SessionDep, _reader: Reader):
    return handoff.require_handoff(await handoff.get_handoff(session, handoff_id), handoff_id)


@router.get("/rota/handoffs/{handoff_id}")
async def handoff_page(
    request: Request,
    session: SessionDep,
    principal: Reader,
    item: Annotated[Handoff, Depends(_handoff_or_404)],
):
    schedule = await service.get_schedule(session, item.schedule_id)
    people = await service.users_by_id(
        session, {item.outgoing_id, item.incoming_id, item.acknowledged_by_id}
    )
    return render(
        request,
        "rota/handoff.html",
        {
            "section": "rota",
            "h": item,
            "r": item.report,
            "schedule": schedule,
            "people": people,
            "questions": RETRO_QUESTIONS,
            "can_edit": principal.user_id == item.outgoing_id or principal.can("schedules:write"),
            "can_ack": item.acknowledged_at is None
            and (principal.user_id == item.incoming_id or principal.can("schedules:write")),
        },
    )


@router.post("/rota/handoffs/{handoff_id}")
async def update_handoff(
    session: SessionDep,
    principal: Reader,
    item: Annotated[Handoff, Depends(_handoff_or_404)],
    notes: Annotated[str, Form(max_length=20_000)] = "",
    went_well: Annotated[str, Form(max_length=20_000)] = "",
    could_be_better: Annotated[str, Form(max_length=20_000)] = "",
    to_remember: Annotated[str, Form(max_length=20_000)] = "",
):
    await handoff.update_handoff(
        session,
        item,
        HandoffUpdate(
            notes=notes,
            went_well=went_well,
            could_be_better=could_be_better,
            to_remember=to_remember,
        ),
        principal,
    )
    return RedirectResponse(f"/rota/handoffs/{item.id}", status_code=303)


@router.post("/rota/handoffs/{handoff_id}/acknowledge")
async def acknowledge(
    session: SessionDep, principal: Reader, item: Annotated[Handoff, Depends(_handoff_or_404)]
):
    await handoff.acknowledge_handoff(session, item, principal, utcnow())
    return RedirectResponse(f"/rota/handoffs/{item.id}", status_code=303)


# --- the board's header: who is on now and next ------------------------------------------------


async def on_call_panel(session, principal: Principal) -> dict | None:
    if not principal.can("schedules:read"):
        return None
    now = utcnow()
    rows = []
    # From the process's snapshot (app/cache.py): the board header costs no query for this.
    schedules = sorted(
        (await service.rota_snapshot(session)).schedules, key=lambda s: (s.name, s.id)
    )
    for schedule in schedules:
        role = schedule.roles[0] if schedule.roles else None
        if role is None:
            continue
        who = await service.who_is_on(session, schedule, now)
        rows.append((schedule, role, who.now.get(role), who.next.get(role)))
        if len(rows) == 2:  # the header has room for two rotas
            break
    if not rows:
        return None
    people = await service.users_by_id(
        session, {s.user_id for _, _, a, b in rows for s in (a, b) if s}
    )
    return {"rows": rows, "people": people, "now": now}
