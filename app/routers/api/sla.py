"""/api/v1/sla: business calendars, SLA policies, a due-date preview, and one ticket's clocks."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime
from sqlmodel import SQLModel

from app.auth.policy import Principal
from app.db import pk
from app.deps import SessionDep, api_permission
from app.errors import NotFound
from app.routers.api.common import errors
from app.sla import service
from app.sla.models import SlaCalendarIn, SlaCalendarPublic, SlaPolicyIn, SlaPolicyPublic
from app.sla.schemas import SlaTargetState, Target
from app.ticket.enums import Channel, Criticality, Urgency
from app.ticket.service import get_ticket

router = APIRouter(prefix="/sla", tags=["sla"])

Reader = Annotated[Principal, api_permission("sla:read")]
Writer = Annotated[Principal, api_permission("sla:write")]


@router.get("/calendars", response_model=list[SlaCalendarPublic], responses=errors(401, 403))
async def list_calendars(session: SessionDep, principal: Reader):
    return [service.calendar_public(c) for c in await service.list_calendars(session)]


@router.post(
    "/calendars",
    response_model=SlaCalendarPublic,
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, 409, 422),
    summary="Create a business calendar",
)
async def create_calendar(
    data: SlaCalendarIn, session: SessionDep, principal: Writer, response: Response
):
    """Working periods per weekday (`"09:00-12:00, 13:00-17:00"`) in an IANA zone, or
    kind `24x5` (each of Mon–Fri is one continuous 24-hour working day); holidays from a
    country/subdivision (`GB`/`ENG`) plus custom dates."""
    row = await service.save_calendar(session, data, actor_id=principal.user_id)
    response.headers["Location"] = f"/api/v1/sla/calendars/{row.id}"
    return service.calendar_public(row)


@router.get(
    "/calendars/{calendar_id}", response_model=SlaCalendarPublic, responses=errors(401, 403, 404)
)
async def read_calendar(calendar_id: int, session: SessionDep, principal: Reader):
    row = await service.get_calendar(session, calendar_id)
    if row is None:
        raise NotFound(f"calendar {calendar_id} does not exist")
    return service.calendar_public(row)


@router.put(
    "/calendars/{calendar_id}",
    response_model=SlaCalendarPublic,
    responses=errors(401, 403, 404, 409, 422),
    summary="Replace a calendar; running clocks on it are rescheduled",
)
async def replace_calendar(
    calendar_id: int, data: SlaCalendarIn, session: SessionDep, principal: Writer
):
    return service.calendar_public(
        await service.save_calendar(
            session, data, calendar_id=calendar_id, actor_id=principal.user_id
        )
    )


@router.delete(
    "/calendars/{calendar_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(401, 403, 404, 409),
)
async def delete_calendar(calendar_id: int, session: SessionDep, principal: Writer):
    await service.delete_calendar(session, calendar_id, actor_id=principal.user_id)


@router.get("/policies", response_model=list[SlaPolicyPublic], responses=errors(401, 403))
async def list_policies(session: SessionDep, principal: Reader):
    return await service.list_policies(session)


@router.post(
    "/policies",
    response_model=SlaPolicyPublic,
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403, 409, 422),
    summary="Create a policy (the default, or a community's override)",
)
async def create_policy(data: SlaPolicyIn, session: SessionDep, principal: Writer):
    """Rules match on channel, criticality and urgency (omitted = any); the most specific
    wins. A community's policy overrides the default target by target. Open tickets'
    targets are recomputed, and each change is an `sla.recomputed` event on the ticket."""
    policy = await service.save_policy(session, data, actor_id=principal.user_id)
    return await service.get_policy_public(session, pk(policy))


@router.get(
    "/policies/{policy_id}", response_model=SlaPolicyPublic, responses=errors(401, 403, 404)
)
async def read_policy(policy_id: int, session: SessionDep, principal: Reader):
    found = await service.get_policy_public(session, policy_id)
    if found is None:
        raise NotFound(f"policy {policy_id} does not exist")
    return found


@router.put(
    "/policies/{policy_id}",
    response_model=SlaPolicyPublic,
    responses=errors(401, 403, 404, 409, 422),
)
async def replace_policy(policy_id: int, data: SlaPolicyIn, session: SessionDep, principal: Writer):
    await service.save_policy(session, data, policy_id=policy_id, actor_id=principal.user_id)
    return await service.get_policy_public(session, policy_id)


@router.delete(
    "/policies/{policy_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404)
)
async def delete_policy(policy_id: int, session: SessionDep, principal: Writer):
    await service.delete_policy(session, policy_id, actor_id=principal.user_id)


class PreviewItem(SQLModel):
    target: Target
    minutes: int
    calendar: str
    zone: str
    due_at: datetime
    rule_id: int
    from_community_policy: bool


@router.get(
    "/preview",
    response_model=list[PreviewItem],
    responses=errors(401, 403, 422),
    summary="When a ticket opened at `at` would fall due",
)
async def preview(
    session: SessionDep,
    principal: Reader,
    channel: Channel = Channel.email,
    criticality: Criticality | None = None,
    urgency: Urgency = Urgency.normal,
    community: Annotated[str | None, Query(max_length=64)] = None,
    at: AwareDatetime | None = None,
):
    return await service.preview(
        session,
        channel=channel.value,
        criticality=int(criticality) if criticality else None,
        urgency=urgency.value,
        community=community or None,
        at=at or service.sla_now(),
    )


@router.get(
    "/tickets/{ref}",
    response_model=list[SlaTargetState],
    responses=errors(401, 403, 404),
    summary="One ticket's SLA targets and their state now",
)
async def ticket_sla(
    ref: str, session: SessionDep, principal: Annotated[Principal, api_permission("tickets:read")]
):
    ticket = await get_ticket(session, ref)
    if ticket is None:
        raise NotFound(f"ticket {ref} does not exist")
    return (await service.clock_states(session, [pk(ticket)], service.sla_now()))[pk(ticket)]
