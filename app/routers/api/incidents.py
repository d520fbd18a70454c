"""/api/v1/incidents: declare, respond, customer updates, timeline and the post-mortem."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.auth.policy import Principal
from app.db import pk
from app.deps import SessionDep, api_permission
from app.errors import NotFound
from app.incident import service
from app.incident.models import (
    ActionItemCreate,
    ActionItemPublic,
    Incident,
    IncidentCreate,
    IncidentPage,
    IncidentPatch,
    IncidentPublic,
    PostMortemPublic,
    PostMortemWrite,
    RoleAssign,
    TimelineEntry,
    UpdateCreate,
    UpdatePublic,
    UpdateTemplate,
)
from app.incident.rules import UpdateKind
from app.incident.views import (
    action_item_views,
    incident_view,
    incident_views,
    postmortem_view,
    timeline_views,
    update_views,
)
from app.routers.api.common import errors

router = APIRouter(prefix="/incidents", tags=["incidents"])

Reader = Annotated[Principal, api_permission("incidents:read")]
Writer = Annotated[Principal, api_permission("incidents:write")]
IncidentRef = Annotated[
    str, Path(description="incident id or key, e.g. `7` or `INC-7`", examples=["INC-7"])
]


async def incident_or_404(ref: IncidentRef, session: SessionDep, _reader: Reader) -> Incident:
    incident = await service.get_incident(session, ref)
    if incident is None:
        raise NotFound(f"incident {ref} does not exist")
    return incident


IncidentDep = Annotated[Incident, Depends(incident_or_404)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IncidentPublic,
    responses=errors(400, 401, 403, 422),
    summary="Declare an incident",
)
async def declare(data: IncidentCreate, session: SessionDep, principal: Writer, response: Response):
    """Linked tickets add their communities to the affected ones; the responder defaults to
    whoever declares. The first customer update is due one cadence interval from now."""
    incident = await service.declare_incident(session, data, actor=principal)
    response.headers["Location"] = f"/api/v1/incidents/{incident.id}"
    return await incident_view(session, incident)


@router.get(
    "",
    response_model=IncidentPage,
    responses=errors(401, 403, 422),
    summary="Incidents, active first",
)
async def list_incidents(
    session: SessionDep,
    principal: Reader,
    active: Annotated[bool, Query(description="only investigating/identified/monitoring")] = False,
):
    return IncidentPage(
        items=await incident_views(
            session, await service.list_incidents(session, active_only=active)
        )
    )


@router.get("/{ref}", response_model=IncidentPublic, responses=errors(401, 403, 404))
async def read_incident(incident: IncidentDep, session: SessionDep, principal: Reader):
    return await incident_view(session, incident)


@router.patch(
    "/{ref}",
    response_model=IncidentPublic,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Change status, severity, title or summary",
)
async def patch_incident(
    ref: IncidentRef, patch: IncidentPatch, session: SessionDep, principal: Writer
):
    """Statuses: investigating → identified → monitoring → resolved → postmortem_done (any active
    status may go to another or to resolved; resolved may reopen). An illegal move is a 409 with
    the reason; `postmortem_done` needs the post-mortem for the severities that require one."""
    return await incident_view(
        session, await service.change_incident(session, ref, patch, actor=principal)
    )


@router.post(
    "/{ref}/acknowledge",
    response_model=IncidentPublic,
    responses=errors(401, 403, 404),
    summary="Acknowledge: stops escalation",
)
async def acknowledge(ref: IncidentRef, session: SessionDep, principal: Writer):
    return await incident_view(
        session, await service.acknowledge_incident(session, ref, actor=principal)
    )


@router.put(
    "/{ref}/roles",
    response_model=IncidentPublic,
    responses=errors(401, 403, 404, 422),
    summary="Give a role (responder, communications, ...) to a staff member",
)
async def assign_role(ref: IncidentRef, data: RoleAssign, session: SessionDep, principal: Writer):
    return await incident_view(
        session, await service.assign_role(session, ref, data.role, data.user_id, actor=principal)
    )


@router.post(
    "/{ref}/tickets/{ticket_ref}",
    response_model=IncidentPublic,
    responses=errors(401, 403, 404, 409, 422),
    summary="Link a ticket",
)
async def link_ticket(ref: IncidentRef, ticket_ref: str, session: SessionDep, principal: Writer):
    return await incident_view(
        session, await service.link_ticket(session, ref, ticket_ref, actor=principal)
    )


@router.post(
    "/{ref}/communities/{slug}",
    response_model=IncidentPublic,
    responses=errors(401, 403, 404, 409, 422),
    summary="Mark a community as affected",
)
async def add_community(ref: IncidentRef, slug: str, session: SessionDep, principal: Writer):
    return await incident_view(
        session, await service.add_community(session, ref, slug, actor=principal)
    )


@router.get(
    "/{ref}/events",
    response_model=list[TimelineEntry],
    responses=errors(401, 403, 404),
    summary="The timeline: every event, oldest first",
)
async def read_timeline(incident: IncidentDep, session: SessionDep, principal: Reader):
    return await timeline_views(session, await service.timeline(session, pk(incident)))


@router.get("/{ref}/updates", response_model=list[UpdatePublic], responses=errors(401, 403, 404))
async def read_updates(incident: IncidentDep, session: SessionDep, principal: Reader):
    return await update_views(session, await service.list_updates(session, pk(incident)))


@router.get(
    "/{ref}/updates/template",
    response_model=UpdateTemplate,
    responses=errors(401, 403, 404, 422),
    summary="The text the next update starts from",
)
async def update_template(
    incident: IncidentDep, session: SessionDep, principal: Reader, kind: UpdateKind | None = None
):
    kind, body = await service.render_update_template(session, incident, kind)
    return UpdateTemplate(kind=kind, body=body)


@router.post(
    "/{ref}/updates",
    status_code=status.HTTP_201_CREATED,
    response_model=UpdatePublic,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Post a customer update",
)
async def post_update(
    ref: IncidentRef, data: UpdateCreate, session: SessionDep, principal: Writer, response: Response
):
    """E-mails every representative of the affected communities (outbox `email.send`) and
    replies publicly on every linked ticket, once each. Repeating a request with the same
    `client_key` returns the first update (200) and sends nothing."""
    posted = await service.post_update(session, ref, data, actor=principal)
    if not posted.created:
        response.status_code = status.HTTP_200_OK
    return (await update_views(session, [posted.update]))[0]


@router.get("/{ref}/postmortem", response_model=PostMortemPublic, responses=errors(401, 403, 404))
async def read_postmortem(incident: IncidentDep, session: SessionDep, principal: Reader):
    pm = await service.get_postmortem(session, pk(incident))
    return await postmortem_view(
        session, pk(incident), pm, await service.list_action_items(session, pk(incident))
    )


@router.put(
    "/{ref}/postmortem",
    response_model=PostMortemPublic,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Write the post-mortem (what happened, went well, went badly, timeline)",
)
async def write_postmortem(
    ref: IncidentRef, data: PostMortemWrite, session: SessionDep, principal: Writer
):
    """The first write drafts the timeline from the incident's events; send `timeline` to edit it."""
    pm = await service.save_postmortem(session, ref, data, actor=principal)
    return await postmortem_view(
        session, pm.incident_id, pm, await service.list_action_items(session, pm.incident_id)
    )


@router.post(
    "/{ref}/postmortem/action-items",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionItemPublic,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Add an action item (it becomes a ticket)",
)
async def add_action_item(
    ref: IncidentRef, data: ActionItemCreate, session: SessionDep, principal: Writer
):
    item = await service.add_action_item(session, ref, data, actor=principal)
    return (await action_item_views(session, [item]))[0]
