"""Shaping incidents for output, shared by the JSON API and the pages (batched loads)."""

from datetime import datetime
from typing import overload

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.alerting.models import Alert
from app.audit.models import Event
from app.community.models import Community
from app.db import pk, utcnow
from app.incident.models import (
    ActionItem,
    ActionItemPublic,
    CommunityRef,
    Incident,
    IncidentCommunity,
    IncidentPublic,
    IncidentRole,
    IncidentTicket,
    IncidentUpdate,
    LinkedTicket,
    PostMortem,
    PostMortemPublic,
    RolePublic,
    TimelineEntry,
    UpdatePublic,
)
from app.incident.rules import SEVERITIES, IncidentStatus, Severity, UpdateKind, update_overdue
from app.incident.service import RESPONDER, incident_key
from app.ticket.models import Ticket
from app.ticket.service import ticket_key
from app.ticket.views import user_ref, users_by_id


@overload
def linked_ticket(ticket: Ticket) -> LinkedTicket: ...


@overload
def linked_ticket(ticket: Ticket | None) -> LinkedTicket | None: ...


def linked_ticket(ticket: Ticket | None) -> LinkedTicket | None:
    if ticket is None:
        return None
    return LinkedTicket(
        id=pk(ticket), key=ticket_key(pk(ticket)), title=ticket.title, status=ticket.status
    )


async def incident_views(
    session: AsyncSession, incidents: list[Incident], *, now: datetime | None = None
) -> list[IncidentPublic]:
    if not incidents:
        return []
    now = now or utcnow()
    ids = [i.id for i in incidents]
    roles = list(
        (
            await session.exec(
                select(IncidentRole)
                .where(col(IncidentRole.incident_id).in_(ids))
                .order_by(col(IncidentRole.id))
            )
        ).all()
    )
    communities = (
        await session.exec(
            select(IncidentCommunity.incident_id, Community)
            .join(Community, col(Community.id) == IncidentCommunity.community_id)
            .where(col(IncidentCommunity.incident_id).in_(ids))
            .order_by(col(Community.name))
        )
    ).all()
    tickets = (
        await session.exec(
            select(IncidentTicket.incident_id, Ticket)
            .join(Ticket, col(Ticket.id) == IncidentTicket.ticket_id)
            .where(col(IncidentTicket.incident_id).in_(ids))
            .order_by(col(Ticket.id))
        )
    ).all()
    open_alerts = dict(
        (
            await session.exec(
                select(Alert.incident_id, func.count())
                .where(col(Alert.incident_id).in_(ids), Alert.status == "firing")
                .group_by(col(Alert.incident_id))
            )
        ).all()
    )
    users = await users_by_id(session, {r.user_id for r in roles})
    out = []
    for inc in incidents:
        my_roles = [r for r in roles if r.incident_id == inc.id]
        responder = next((r for r in my_roles if r.role == RESPONDER), None)
        out.append(
            IncidentPublic(
                id=pk(inc),
                key=incident_key(pk(inc)),
                title=inc.title,
                summary=inc.summary,
                severity=Severity(inc.severity),
                severity_definition=SEVERITIES[Severity(inc.severity)].definition,
                status=IncidentStatus(inc.status),
                source=inc.source,
                responder=user_ref(users.get(responder.user_id)) if responder else None,
                roles=[
                    RolePublic(role=r.role, user=ref)
                    for r in my_roles
                    if (ref := user_ref(users.get(r.user_id))) is not None
                ],
                communities=[
                    CommunityRef(id=pk(c), slug=c.slug, name=c.name)
                    for i, c in communities
                    if i == inc.id
                ],
                tickets=[linked_ticket(t) for i, t in tickets if i == inc.id],
                declared_at=inc.declared_at,
                acknowledged_at=inc.acknowledged_at,
                resolved_at=inc.resolved_at,
                done_at=inc.done_at,
                last_update_at=inc.last_update_at,
                next_update_due_at=inc.next_update_due_at,
                update_overdue=update_overdue(inc.next_update_due_at, now),
                open_alerts=open_alerts.get(inc.id, 0),
            )
        )
    return out


async def incident_view(
    session: AsyncSession, incident: Incident, *, now: datetime | None = None
) -> IncidentPublic:
    return (await incident_views(session, [incident], now=now))[0]


async def update_views(session: AsyncSession, updates: list[IncidentUpdate]) -> list[UpdatePublic]:
    users = await users_by_id(session, {u.author_id for u in updates})
    return [
        UpdatePublic(
            id=pk(u),
            incident_id=u.incident_id,
            kind=UpdateKind(u.kind),
            status=IncidentStatus(u.status),
            body=u.body,
            author=user_ref(users.get(u.author_id)),
            emails=u.emails,
            ticket_replies=u.ticket_replies,
            created_at=u.created_at,
        )
        for u in updates
    ]


async def timeline_views(session: AsyncSession, events: list[Event]) -> list[TimelineEntry]:
    users = await users_by_id(session, {e.actor_id for e in events})
    return [
        TimelineEntry(
            id=pk(e),
            kind=e.kind,
            actor=user_ref(users.get(e.actor_id)),
            data=e.data,
            created_at=e.created_at,
        )
        for e in events
    ]


async def action_item_views(
    session: AsyncSession, items: list[ActionItem]
) -> list[ActionItemPublic]:
    users = await users_by_id(session, {i.owner_id for i in items})
    ticket_ids = [i.ticket_id for i in items if i.ticket_id]
    tickets = (
        {
            t.id: t
            for t in (
                await session.exec(select(Ticket).where(col(Ticket.id).in_(ticket_ids)))
            ).all()
        }
        if ticket_ids
        else {}
    )
    return [
        ActionItemPublic(
            id=pk(i),
            title=i.title,
            owner=user_ref(users.get(i.owner_id)),
            due_on=i.due_on,
            ticket=linked_ticket(tickets.get(i.ticket_id)),
        )
        for i in items
    ]


async def postmortem_view(
    session: AsyncSession, incident_id: int, pm: PostMortem | None, items: list[ActionItem]
) -> PostMortemPublic:
    return PostMortemPublic(
        incident_id=incident_id,
        what_happened=pm.what_happened if pm else "",
        went_well=pm.went_well if pm else "",
        went_badly=pm.went_badly if pm else "",
        timeline=pm.timeline if pm else "",
        action_items=await action_item_views(session, items),
        updated_at=pm.updated_at if pm else None,
    )
