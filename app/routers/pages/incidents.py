"""Incident pages: the list (active first), the incident with its timeline, the update
composer with the cadence countdown, and the post-mortem editor; plus the ticket-page panel
that declares an incident from a ticket.

Every action is a plain form post (303 back to the incident); with htmx the response is
the incident block only. The rules live in app/incident/service.py, shared with the API.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.alerting.service import list_alerts
from app.auth.policy import Principal
from app.community.service import list_communities
from app.db import pk, utcnow
from app.deps import SessionDep, page_permission
from app.errors import InvalidInput, NotFound
from app.incident import service
from app.incident.models import (
    ActionItemCreate,
    Incident,
    IncidentCreate,
    IncidentPatch,
    PostMortemWrite,
    UpdateCreate,
)
from app.incident.rules import (
    ACTIVE,
    SEVERITIES,
    STATUS_LABELS,
    TRANSITIONS,
    IncidentStatus,
    countdown,
)
from app.incident.views import (
    action_item_views,
    incident_view,
    incident_views,
    timeline_views,
    update_views,
)
from app.templating import env, is_htmx, render
from app.ticket.enums import Urgency
from app.ticket.models import Ticket
from app.ticket.service import ticket_key
from app.user.service import list_staff

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, page_permission("incidents:read")]
Writer = Annotated[Principal, page_permission("incidents:write")]

env.globals.update(
    SEVERITIES=SEVERITIES, INCIDENT_STATUS_LABELS=STATUS_LABELS, IncidentStatus=IncidentStatus
)
env.globals["describe_incident_event"] = service.describe_event


def every(interval) -> str:
    minutes = int(interval.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 60 else f"{minutes} min"


env.globals["every"] = every


def _invalid(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return InvalidInput(f"{where}: {first['msg']}" if where else first["msg"], code="invalid")


async def incident_or_404(ref: str, session: SessionDep, _reader: Reader) -> Incident:
    incident = await service.get_incident(session, ref)
    if incident is None:
        raise NotFound(f"incident {ref} does not exist")
    return incident


IncidentDep = Annotated[Incident, Depends(incident_or_404)]


@router.get("/incidents")
async def incidents_page(
    request: Request, session: SessionDep, principal: Reader, ticket: str | None = None
):
    now = utcnow()
    views = await incident_views(session, await service.list_incidents(session), now=now)
    prefill = await service._tickets_by_ref(session, [ticket]) if ticket else []
    return render(
        request,
        "incident/list.html",
        {
            "section": "incidents",
            "active": [v for v in views if v.status in ACTIVE],
            "finished": [v for v in views if v.status not in ACTIVE],
            "proposals": await service.proposed_from_emergencies(session),
            "communities": await list_communities(session),
            "staff": await list_staff(session),
            "prefill": prefill[0] if prefill else None,
            "countdown": lambda due: countdown(due, now),
            "ticket_key": ticket_key,
        },
    )


@router.post("/incidents")
async def declare(
    request: Request,
    session: SessionDep,
    principal: Writer,
    title: Annotated[str, Form()],
    severity: Annotated[str, Form()] = "sev2",
    summary: Annotated[str, Form()] = "",
    tickets: Annotated[str, Form()] = "",
    communities: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI form default
    responder_id: Annotated[str, Form()] = "",
):
    try:
        data = IncidentCreate.model_validate(
            dict(
                title=title,
                severity=severity,
                summary=summary,
                tickets=[t for t in tickets.replace(",", " ").split() if t],
                communities=[c for c in communities if c],
                responder_id=int(responder_id) if responder_id.isdigit() else None,
            )
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    incident = await service.declare_incident(session, data, actor=principal)
    return RedirectResponse(f"/incidents/{incident.id}", status_code=303)


async def _context(session, incident: Incident, principal: Principal) -> dict:
    now = utcnow()
    view = await incident_view(session, incident, now=now)
    kind, template = await service.render_update_template(session, incident, now=now)
    pm = await service.get_postmortem(session, pk(incident))
    status = IncidentStatus(incident.status)
    return {
        "section": "incidents",
        "i": view,
        "moves": sorted(TRANSITIONS[status], key=list(IncidentStatus).index),
        "countdown": countdown(view.next_update_due_at, now),
        "update_kind": kind,
        "update_template": template,
        "client_key": uuid.uuid4().hex,
        "updates": await update_views(session, await service.list_updates(session, pk(incident))),
        "timeline": await timeline_views(session, await service.timeline(session, pk(incident))),
        "alerts": await list_alerts(session, incident_id=incident.id),
        "pm": pm,
        "action_items": await action_item_views(
            session, await service.list_action_items(session, pk(incident))
        ),
        "can_write_postmortem": status not in ACTIVE,
        "communities": await list_communities(session),
        "staff": await list_staff(session),
        "today": utcnow().date().isoformat(),
    }


async def _respond(request: Request, session, incident_id: int, principal: Principal) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
    incident = await service.get_incident(session, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return render(
        request,
        "incident/detail.html",
        await _context(session, incident, principal),
        block="incident",
    )


@router.get("/incidents/{ref}")
async def incident_page(
    request: Request, incident: IncidentDep, session: SessionDep, principal: Reader
):
    return render(
        request,
        "incident/detail.html",
        await _context(session, incident, principal),
        block="incident",
    )


@router.post("/incidents/{ref}/status/{target}")
async def move(request: Request, ref: str, target: str, session: SessionDep, principal: Writer):
    try:
        status = IncidentStatus(target)
    except ValueError:
        raise InvalidInput(f"unknown status {target!r}", code="bad_status") from None
    incident = await service.change_status(session, ref, status, actor=principal)
    return await _respond(request, session, pk(incident), principal)


@router.post("/incidents/{ref}/severity")
async def change_severity(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    severity: Annotated[str, Form()],
):
    try:
        patch = IncidentPatch.model_validate(dict(severity=severity))
    except ValidationError as exc:
        raise _invalid(exc) from None
    incident = await service.change_incident(session, ref, patch, actor=principal)
    return await _respond(request, session, pk(incident), principal)


@router.post("/incidents/{ref}/acknowledge")
async def acknowledge(request: Request, ref: str, session: SessionDep, principal: Writer):
    incident = await service.acknowledge_incident(session, ref, actor=principal)
    return await _respond(request, session, pk(incident), principal)


@router.post("/incidents/{ref}/updates")
async def post_update(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    body: Annotated[str, Form()],
    status: Annotated[str, Form()] = "",
    client_key: Annotated[str, Form()] = "",
):
    try:
        data = UpdateCreate.model_validate(
            dict(body=body, status=status or None, client_key=client_key or None)
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    posted = await service.post_update(session, ref, data, actor=principal)
    return await _respond(request, session, posted.update.incident_id, principal)


@router.post("/incidents/{ref}/tickets")
async def link_ticket(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    ticket: Annotated[str, Form()],
):
    incident = await service.link_ticket(session, ref, ticket.strip(), actor=principal)
    return await _respond(request, session, pk(incident), principal)


@router.post("/incidents/{ref}/communities")
async def add_community(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    community: Annotated[str, Form()],
):
    incident = await service.add_community(session, ref, community, actor=principal)
    return await _respond(request, session, pk(incident), principal)


@router.post("/incidents/{ref}/roles")
async def assign_role(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    role: Annotated[str, Form()],
    user_id: Annotated[int, Form()],
):
    from app.incident.models import RoleAssign

    try:
        data = RoleAssign(role=role, user_id=user_id)
    except ValidationError as exc:
        raise _invalid(exc) from None
    incident = await service.assign_role(session, ref, data.role, data.user_id, actor=principal)
    return await _respond(request, session, pk(incident), principal)


@router.post("/incidents/{ref}/postmortem")
async def write_postmortem(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    what_happened: Annotated[str, Form()] = "",
    went_well: Annotated[str, Form()] = "",
    went_badly: Annotated[str, Form()] = "",
    timeline: Annotated[str | None, Form()] = None,
):
    try:
        data = PostMortemWrite(
            what_happened=what_happened,
            went_well=went_well,
            went_badly=went_badly,
            timeline=timeline,
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    pm = await service.save_postmortem(session, ref, data, actor=principal)
    return await _respond(request, session, pm.incident_id, principal)


@router.post("/incidents/{ref}/action-items")
async def add_action_item(
    request: Request,
    ref: str,
    session: SessionDep,
    principal: Writer,
    title: Annotated[str, Form()],
    owner_id: Annotated[str, Form()],
    due_on: Annotated[str, Form()],
):
    try:
        data = ActionItemCreate.model_validate(
            dict(title=title, owner_id=int(owner_id) if owner_id.isdigit() else -1, due_on=due_on)
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    item = await service.add_action_item(session, ref, data, actor=principal)
    return await _respond(request, session, item.incident_id, principal)


# --- the ticket page's incident panel ---------------------------------------------------------


async def incident_panel(session, ticket: Ticket, principal: Principal) -> dict | None:
    if not principal.can("incidents:read"):
        return None
    linked = await service.incident_ids_for_tickets(session, [pk(ticket)], active_only=False)
    incidents = [await service.get_incident(session, i) for i in linked.get(pk(ticket), [])]
    return {
        "incidents": [(i, STATUS_LABELS[IncidentStatus(i.status)]) for i in incidents if i],
        "proposed": ticket.urgency == Urgency.emergency.value and not incidents,
        "can_declare": principal.can("incidents:write"),
        "ticket_id": ticket.id,
        "ticket_key": ticket_key(pk(ticket)),
        "title": ticket.title,
    }
