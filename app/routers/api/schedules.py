"""/api/v1/schedules: the rota. Who is on now, the final shifts, overrides, swaps, duties."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import Response as RawResponse
from pydantic import AwareDatetime

from app.auth.policy import Principal
from app.db import utcnow
from app.deps import SessionDep, api_permission, public
from app.rota import feeds, handoff, service, views
from app.rota.models import (
    DutyTickIn,
    FairnessOut,
    FeedIn,
    FeedOut,
    Handoff,
    HandoffOut,
    HandoffUpdate,
    OnCallOut,
    OverrideIn,
    OverrideOut,
    Schedule,
    ScheduleIn,
    ScheduleOut,
    ShiftOut,
    SwapIn,
)
from app.routers.api.common import errors

router = APIRouter(prefix="/schedules", tags=["schedules"])
feeds_router = APIRouter(prefix="/calendar-feeds", tags=["schedules"])
calendar_router = APIRouter(prefix="/calendar", tags=["schedules"])
handoffs_router = APIRouter(prefix="/handoffs", tags=["schedules"])
ICS = "text/calendar; charset=utf-8"
ICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "An RFC 5545 calendar"}
}

Reader = Annotated[Principal, api_permission("schedules:read")]
Writer = Annotated[Principal, api_permission("schedules:write")]


# Each lookup depends on its routes' permission, so the 401 or 403 comes before any 404.
async def schedule_or_404(schedule_id: int, session: SessionDep, _reader: Reader) -> Schedule:
    return await service.find_schedule(session, schedule_id)


async def schedule_for_writing(schedule_id: int, session: SessionDep, _writer: Writer) -> Schedule:
    return await service.find_schedule(session, schedule_id)


ScheduleDep = Annotated[Schedule, Depends(schedule_or_404)]
WritableScheduleDep = Annotated[Schedule, Depends(schedule_for_writing)]
From = Annotated[AwareDatetime, Query(alias="from", description="window start, with a UTC offset")]
To = Annotated[AwareDatetime, Query(alias="to", description="window end (exclusive)")]


@router.get("", response_model=list[ScheduleOut], responses=errors(401, 403))
async def list_schedules(session: SessionDep, principal: Reader):
    return [await views.schedule_out(session, s) for s in await service.list_schedules(session)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScheduleOut,
    responses=errors(400, 401, 403, 422),
)
async def create_schedule(
    data: ScheduleIn, session: SessionDep, principal: Writer, response: Response
):
    schedule = await service.create_schedule(session, data, actor_id=principal.user_id)
    response.headers["Location"] = f"/api/v1/schedules/{schedule.id}"
    return await views.schedule_out(session, schedule)


@router.get("/{schedule_id}", response_model=ScheduleOut, responses=errors(401, 403, 404))
async def read_schedule(schedule: ScheduleDep, session: SessionDep, principal: Reader):
    return await views.schedule_out(session, schedule)


@router.put(
    "/{schedule_id}",
    response_model=ScheduleOut,
    responses=errors(400, 401, 403, 404, 422),
    summary="Replace a schedule's definition (overrides and duty ticks stay)",
)
async def replace_schedule(
    data: ScheduleIn, schedule: WritableScheduleDep, session: SessionDep, principal: Writer
):
    schedule = await service.replace_schedule(session, schedule, data, actor_id=principal.user_id)
    return await views.schedule_out(session, schedule)


@router.delete(
    "/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404)
)
async def delete_schedule(schedule: WritableScheduleDep, session: SessionDep, principal: Writer):
    await service.delete_schedule(session, schedule, actor_id=principal.user_id)


@router.get(
    "/{schedule_id}/oncall",
    response_model=OnCallOut,
    responses=errors(401, 403, 404, 422),
    summary="Who holds each role at `at` (default now), and who is next",
)
async def on_call(
    schedule: ScheduleDep,
    session: SessionDep,
    principal: Reader,
    at: Annotated[AwareDatetime | None, Query(description="default: now")] = None,
):
    return await views.on_call_out(
        session, await service.who_is_on(session, schedule, at or utcnow())
    )


@router.get(
    "/{schedule_id}/shifts",
    response_model=list[ShiftOut],
    responses=errors(401, 403, 404, 422),
    summary="The final shifts (overrides applied, holidays skipped) overlapping [from, to)",
)
async def shifts(
    schedule: ScheduleDep,
    session: SessionDep,
    principal: Reader,
    start: From,
    end: To,
    role: str | None = None,
    user_id: int | None = None,
):
    return await views.shifts_out(
        session,
        await service.final_shifts(session, schedule, start, end, role=role, user_id=user_id),
    )


@router.get(
    "/{schedule_id}/fairness",
    response_model=list[FairnessOut],
    responses=errors(401, 403, 404, 422),
    summary="Shifts and on-call hours per person in [from, to)",
)
async def fairness(
    schedule: ScheduleDep,
    session: SessionDep,
    principal: Reader,
    start: From,
    end: To,
    role: str | None = None,
):
    rows = await service.fairness_summary(session, schedule, start, end, role)
    users = await service.users_by_id(session, {r.user_id for r in rows})
    return [
        FairnessOut(
            user=views.ref(users.get(r.user_id)) or views._unknown(r.user_id),
            shifts=r.shifts,
            hours=r.hours,
        )
        for r in rows
    ]


@router.get(
    "/{schedule_id}/overrides", response_model=list[OverrideOut], responses=errors(401, 403, 404)
)
async def list_overrides(
    schedule: ScheduleDep,
    session: SessionDep,
    principal: Reader,
    since: Annotated[AwareDatetime | None, Query(description="only those ending after")] = None,
):
    return await views.overrides_out(
        session, await service.list_overrides(session, schedule, since=since)
    )


@router.post(
    "/{schedule_id}/overrides",
    status_code=status.HTTP_201_CREATED,
    response_model=OverrideOut,
    responses=errors(400, 401, 403, 404, 422),
    summary="Someone covers a window for someone else",
)
async def add_override(
    data: OverrideIn, schedule: WritableScheduleDep, session: SessionDep, principal: Writer
):
    override = await service.add_override(session, schedule, data, actor_id=principal.user_id)
    return (await views.overrides_out(session, [override]))[0]


@router.post(
    "/{schedule_id}/swaps",
    status_code=status.HTTP_201_CREATED,
    response_model=list[OverrideOut],
    responses=errors(400, 401, 403, 404, 422),
    summary="Two people trade two shifts",
)
async def swap(data: SwapIn, schedule: WritableScheduleDep, session: SessionDep, principal: Writer):
    return await views.overrides_out(
        session, await service.swap_shifts(session, schedule, data, actor_id=principal.user_id)
    )


@router.delete(
    "/{schedule_id}/overrides/{override_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403, 404),
)
async def delete_override(
    override_id: int, schedule: WritableScheduleDep, session: SessionDep, principal: Writer
):
    await service.delete_override(session, schedule, override_id, actor_id=principal.user_id)


@router.put(
    "/{schedule_id}/duties/{duty_id}/ticks",
    response_model=DutyTickIn,
    responses=errors(401, 403, 404, 422),
    summary="Tick (or untick) a duty for one shift",
)
async def tick(
    duty_id: int,
    data: DutyTickIn,
    schedule: WritableScheduleDep,
    session: SessionDep,
    principal: Writer,
):
    ticked = await service.tick_duty(
        session, schedule, duty_id, data.shift_index, data.ticked, actor_id=principal.user_id
    )
    return DutyTickIn(shift_index=data.shift_index, ticked=ticked)


@router.get(
    "/{schedule_id}/calendar.ics",
    response_class=RawResponse,
    responses={**ICS_RESPONSE, **errors(401, 403, 404, 422)},
    summary="The final shifts as an iCalendar feed (signed-in callers; see /calendar-feeds for secret URLs)",
)
async def calendar(
    schedule: ScheduleDep,
    session: SessionDep,
    principal: Reader,
    user_id: int | None = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
):
    now = utcnow()
    window = feeds.requested_window(start, end, now)
    body = await feeds.render_feed(
        session, schedule=schedule, user_id=user_id, window=window, now=now
    )
    return RawResponse(body, media_type=ICS)


def _feed_out(feed, url: str | None = None) -> FeedOut:
    return FeedOut(
        id=feed.id,
        schedule_id=feed.schedule_id,
        user_id=feed.user_id,
        created_at=feed.created_at,
        revoked_at=feed.revoked_at,
        url=url,
    )


@feeds_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedOut,
    responses=errors(400, 401, 403, 404, 422),
    summary="Make a secret calendar URL (a schedule, a person in it, or a person everywhere)",
)
async def create_feed(data: FeedIn, session: SessionDep, principal: Reader):
    feed, token = await feeds.create_feed(
        session, principal, schedule_id=data.schedule_id, user_id=data.user_id
    )
    return _feed_out(feed, feeds.feed_url(token))


@feeds_router.get(
    "", response_model=list[FeedOut], responses=errors(401, 403), summary="The feeds you made"
)
async def list_feeds(session: SessionDep, principal: Reader):
    return [_feed_out(f) for f in await feeds.list_feeds(session, principal)]


@feeds_router.delete(
    "/{feed_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403, 404),
    summary="Revoke a secret calendar URL",
)
async def revoke_feed(feed_id: int, session: SessionDep, principal: Reader):
    await feeds.revoke_feed(session, principal, feed_id)


@calendar_router.get(
    "/{token}.ics",
    response_class=RawResponse,
    responses={**ICS_RESPONSE, **errors(404, 422)},
    dependencies=[
        public("the secret token in the URL is the credential (calendar apps cannot log in)")
    ],
    summary="A secret-URL calendar feed",
)
async def secret_calendar(
    token: str,
    session: SessionDep,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
):
    now = utcnow()
    window = feeds.requested_window(start, end, now)
    body = await feeds.render_feed_for_token(session, token, now, window)
    # Private data behind a secret URL: never cached by shared caches.
    return RawResponse(body, media_type=ICS, headers={"Cache-Control": "private, max-age=300"})


@router.get(
    "/{schedule_id}/handoffs",
    response_model=list[HandoffOut],
    responses=errors(401, 403, 404, 422),
    summary="This schedule's handoffs and retros, newest first; `q` searches notes and retro answers",
)
async def schedule_handoffs(
    schedule: ScheduleDep,
    session: SessionDep,
    principal: Reader,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    return await views.handoffs_out(
        session, await handoff.search_handoffs(session, schedule_id=schedule.id, q=q, limit=limit)
    )


@handoffs_router.get(
    "",
    response_model=list[HandoffOut],
    responses=errors(401, 403, 422),
    summary="Search every handoff and retro",
)
async def search_handoffs(
    session: SessionDep,
    principal: Reader,
    q: Annotated[str | None, Query(max_length=200)] = None,
    schedule_id: int | None = None,
    person_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    return await views.handoffs_out(
        session,
        await handoff.search_handoffs(
            session, schedule_id=schedule_id, q=q, person_id=person_id, limit=limit
        ),
    )


async def handoff_or_404(handoff_id: int, session: SessionDep, _reader: Reader):
    return handoff.require_handoff(await handoff.get_handoff(session, handoff_id), handoff_id)


HandoffDep = Annotated[Handoff, Depends(handoff_or_404)]


@handoffs_router.get("/{handoff_id}", response_model=HandoffOut, responses=errors(401, 403, 404))
async def read_handoff(item: HandoffDep, session: SessionDep, principal: Reader):
    return (await views.handoffs_out(session, [item]))[0]


@handoffs_router.patch(
    "/{handoff_id}",
    response_model=HandoffOut,
    responses=errors(400, 401, 403, 404, 422),
    summary="The outgoing person's notes and retro answers",
)
async def update_handoff(
    data: HandoffUpdate, item: HandoffDep, session: SessionDep, principal: Reader
):
    item = await handoff.update_handoff(session, item, data, principal)
    return (await views.handoffs_out(session, [item]))[0]


@handoffs_router.post(
    "/{handoff_id}/acknowledge",
    response_model=HandoffOut,
    responses=errors(401, 403, 404),
    summary="The incoming person has read the handoff",
)
async def acknowledge(item: HandoffDep, session: SessionDep, principal: Reader):
    item = await handoff.acknowledge_handoff(session, item, principal, utcnow())
    return (await views.handoffs_out(session, [item]))[0]
