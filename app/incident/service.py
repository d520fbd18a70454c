"""Incident use cases: declare, change status and severity, roles, communities and tickets,
customer updates on a cadence, and the post-mortem with its action items.

Every public function is one use case and commits once. Writers lock the incident row
(`lock_incident`) so two responders acting at once are serialised. The timeline is the
audit log: every change records an `incident.*` event in the same transaction.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import Event
from app.audit.service import record_event
from app.auth.policy import Principal
from app.community.models import Community, Membership, MembershipRole
from app.db import keep_loaded, memo, pk, transaction, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.incident.config import get_incident_settings
from app.incident.models import (
    ActionItem,
    ActionItemCreate,
    Incident,
    IncidentCommunity,
    IncidentCreate,
    IncidentPatch,
    IncidentRole,
    IncidentTicket,
    IncidentUpdate,
    PostMortem,
    PostMortemWrite,
    UpdateCreate,
)
from app.incident.rules import (
    ACTIVE,
    SEVERITIES,
    STATUS_LABELS,
    UPDATE_TEMPLATES,
    IncidentStatus,
    Severity,
    UpdateKind,
    check_incident_transition,
    next_update_due,
    update_kind,
)
from app.outbox.service import enqueue
from app.ticket.enums import UNFINISHED_STATUSES, Channel, MessageKind, TicketType, Urgency
from app.ticket.models import MessageCreate, Ticket, TicketCreate, TicketUpdate
from app.ticket.ranking import refresh_rank
from app.ticket.service import (
    FRESH_TICKETS,
    add_message_in_transaction,
    lock_ticket,
    parse_ticket_ref,
    submit_ticket,
    ticket_key,
    update_ticket,
)
from app.user.models import User

RESPONDER = "responder"


def incident_key(incident_id: int) -> str:
    return f"INC-{incident_id}"


def parse_incident_ref(ref: str | int) -> int | None:
    raw = str(ref).strip().upper().removeprefix("INC-")
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


# --- reading -------------------------------------------------------------------------------


async def get_incident(session: AsyncSession, ref: str | int) -> Incident | None:
    incident_id = parse_incident_ref(ref)
    return await session.get(Incident, incident_id) if incident_id is not None else None


async def lock_incident(session: AsyncSession, ref: str | int) -> Incident:
    incident_id = parse_incident_ref(ref)
    stmt = (
        select(Incident)
        .where(Incident.id == incident_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    incident = (await session.exec(stmt)).first() if incident_id is not None else None
    if incident is None:
        raise NotFound(f"incident {ref} does not exist")
    return incident


def _status_rank(incident: Incident) -> int:
    status = IncidentStatus(incident.status)
    return 0 if status in ACTIVE else (1 if status == IncidentStatus.resolved else 2)


async def list_incidents(
    session: AsyncSession, *, active_only: bool = False, limit: int = 200
) -> list[Incident]:
    """Active first (most severe, then newest), then resolved, then finished ones."""
    stmt = select(Incident)
    if active_only:
        stmt = stmt.where(col(Incident.status).in_([s.value for s in ACTIVE]))
    rows = list(
        (await session.exec(stmt.order_by(col(Incident.declared_at).desc()).limit(limit))).all()
    )
    rows.sort(
        key=lambda i: (
            _status_rank(i),
            i.severity if _status_rank(i) == 0 else "",
            -i.declared_at.timestamp(),
        )
    )
    return rows


async def incident_ids_for_tickets(
    session: AsyncSession, ticket_ids: list[int], *, active_only: bool = True
) -> dict[int, list[int]]:
    if not ticket_ids:
        return {}
    stmt = (
        select(IncidentTicket.ticket_id, IncidentTicket.incident_id)
        .join(Incident, col(Incident.id) == IncidentTicket.incident_id)
        .where(col(IncidentTicket.ticket_id).in_(ticket_ids))
    )
    if active_only:
        stmt = stmt.where(col(Incident.status).in_([s.value for s in ACTIVE]))
    out: dict[int, list[int]] = {}
    for ticket_id, incident_id in (await session.exec(stmt)).all():
        out.setdefault(ticket_id, []).append(incident_id)
    return out


async def linked_tickets(session: AsyncSession, incident_id: int) -> list[Ticket]:
    stmt = (
        select(Ticket)
        .join(IncidentTicket, col(IncidentTicket.ticket_id) == Ticket.id)
        .where(IncidentTicket.incident_id == incident_id)
        .order_by(col(Ticket.id))
    )
    return list((await session.exec(stmt)).all())


async def affected_communities(session: AsyncSession, incident_id: int) -> list[Community]:
    stmt = (
        select(Community)
        .join(IncidentCommunity, col(IncidentCommunity.community_id) == Community.id)
        .where(IncidentCommunity.incident_id == incident_id)
        .order_by(col(Community.name))
    )
    return list((await session.exec(stmt)).all())


async def responder_id(session: AsyncSession, incident_id: int) -> int | None:
    stmt = select(IncidentRole.user_id).where(
        IncidentRole.incident_id == incident_id, IncidentRole.role == RESPONDER
    )
    return (await session.exec(stmt)).first()


async def list_updates(session: AsyncSession, incident_id: int) -> list[IncidentUpdate]:
    stmt = (
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident_id)
        .order_by(col(IncidentUpdate.created_at).desc(), col(IncidentUpdate.id).desc())
    )
    return list((await session.exec(stmt)).all())


async def timeline(session: AsyncSession, incident_id: int, *, limit: int = 1000) -> list[Event]:
    stmt = (
        select(Event)
        .where(Event.subject_type == "incident", Event.subject_id == incident_id)
        .order_by(col(Event.created_at), col(Event.id))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def proposed_from_emergencies(session: AsyncSession, limit: int = 20) -> list[Ticket]:
    """Unfinished emergency requests not yet in an incident: each proposes one."""
    linked = select(IncidentTicket.ticket_id)
    stmt = (
        select(Ticket)
        .where(
            Ticket.urgency == Urgency.emergency.value,
            col(Ticket.status).in_([s.value for s in UNFINISHED_STATUSES]),
            col(Ticket.id).not_in(linked),
        )
        .order_by(col(Ticket.created_at))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


# --- declaring -----------------------------------------------------------------------------


async def _staff(session: AsyncSession, user_id: int, what: str) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_staff:
        raise InvalidInput(
            f"{what} must be an active staff member (user {user_id} is not)", code="not_staff"
        )
    return user


async def _communities_by_slug(session: AsyncSession, slugs: list[str]) -> list[Community]:
    wanted = sorted(set(slugs))
    if not wanted:
        return []
    found = list(
        (await session.exec(select(Community).where(col(Community.slug).in_(wanted)))).all()
    )
    missing = set(wanted) - {c.slug for c in found}
    if missing:
        raise InvalidInput(
            f"unknown community: {', '.join(sorted(missing))}", code="unknown_community"
        )
    return found


async def _tickets_by_ref(session: AsyncSession, refs: list[str]) -> list[Ticket]:
    ids = []
    for ref in refs:
        ticket_id = parse_ticket_ref(ref)
        if ticket_id is None:
            raise InvalidInput(f"{ref!r} is not a ticket id or key", code="bad_ticket_ref")
        ids.append(ticket_id)
    if not ids:
        return []
    found = list((await session.exec(select(Ticket).where(col(Ticket.id).in_(set(ids))))).all())
    missing = set(ids) - {t.id for t in found}
    if missing:
        raise InvalidInput(
            f"unknown ticket: {', '.join(ticket_key(i) for i in sorted(missing))}",
            code="unknown_ticket",
        )
    return found


def record_incident_event(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    actor_id: int | None,
    data: dict[str, Any],
    *,
    ticket_id: int | None = None,
    community_id: int | None = None,
) -> None:
    record_event(
        session,
        kind,
        subject_type="incident",
        subject_id=pk(incident),
        actor_id=actor_id,
        ticket_id=ticket_id,
        community_id=community_id,
        data={"incident": incident_key(pk(incident)), **data},
    )


async def _link_ticket(
    session: AsyncSession, incident: Incident, ticket: Ticket, actor_id: int | None
) -> bool:
    exists = (
        await session.exec(
            select(IncidentTicket).where(
                IncidentTicket.incident_id == incident.id, IncidentTicket.ticket_id == ticket.id
            )
        )
    ).first()
    if exists:
        return False
    session.add(IncidentTicket(incident_id=pk(incident), ticket_id=pk(ticket)))
    await session.flush()
    memo(session, FRESH_TICKETS).pop(ticket.id, None)  # its incident links must be read now
    ticket = await lock_ticket(session, pk(ticket))
    await refresh_rank(session, ticket)  # tickets in an incident go to the top of the board
    record_incident_event(
        session,
        incident,
        "incident.ticket_linked",
        actor_id,
        {"ticket": ticket_key(pk(ticket)), "title": ticket.title},
        ticket_id=ticket.id,
    )
    if ticket.community_id:
        await _add_community(session, incident, ticket.community_id, actor_id)
    return True


async def _add_community(
    session: AsyncSession, incident: Incident, community_id: int, actor_id: int | None
) -> bool:
    exists = await session.get(IncidentCommunity, (incident.id, community_id))
    if exists:
        return False
    session.add(IncidentCommunity(incident_id=pk(incident), community_id=community_id))
    await session.flush()
    community = await session.get(Community, community_id)
    record_incident_event(
        session,
        incident,
        "incident.community_added",
        actor_id,
        {"community": community.slug if community else community_id},
        community_id=community_id,
    )
    return True


async def _set_role(
    session: AsyncSession, incident: Incident, role: str, user: User, actor_id: int | None
) -> None:
    current = (
        await session.exec(
            select(IncidentRole).where(
                IncidentRole.incident_id == incident.id, IncidentRole.role == role
            )
        )
    ).first()
    if current and current.user_id == user.id:
        return
    before = current.user_id if current else None
    if current:
        current.user_id = pk(user)
    else:
        session.add(IncidentRole(incident_id=pk(incident), role=role, user_id=pk(user)))
    record_incident_event(
        session,
        incident,
        "incident.role_assigned",
        actor_id,
        {"role": role, "user_id": user.id, "user": user.name, "before": before},
    )


async def declare_in_transaction(
    session: AsyncSession,
    data: IncidentCreate,
    *,
    actor_id: int | None,
    now: datetime,
    source: str = "manual",
    group_key: str | None = None,
) -> Incident:
    """Declare inside the caller's transaction (alerts declare as they are received)."""
    communities = await _communities_by_slug(session, data.communities)
    tickets = await _tickets_by_ref(session, data.tickets)
    responder = None
    if data.responder_id is not None:
        responder = await _staff(session, data.responder_id, "the responder")
    elif actor_id is not None:
        actor = await session.get(User, actor_id)
        responder = actor if actor and actor.is_staff else None
    incident = Incident(
        title=data.title,
        summary=data.summary,
        severity=data.severity.value,
        status=IncidentStatus.investigating.value,
        source=source,
        group_key=group_key,
        declared_by_id=actor_id,
        declared_at=now,
        updated_at=now,
        # A person declaring is already on it; an alert-born incident waits for someone (escalation).
        acknowledged_at=now if responder is not None and responder.id == actor_id else None,
        acknowledged_by_id=actor_id if responder is not None and responder.id == actor_id else None,
        next_update_due_at=next_update_due(data.severity, IncidentStatus.investigating, None, now),
    )
    session.add(incident)
    await session.flush()
    record_incident_event(
        session,
        incident,
        "incident.declared",
        actor_id,
        {
            "title": incident.title,
            "severity": incident.severity,
            "source": source,
            "definition": SEVERITIES[data.severity].definition,
        },
    )
    if responder is not None:
        await _set_role(session, incident, RESPONDER, responder, actor_id)
    for community in communities:
        await _add_community(session, incident, pk(community), actor_id)
    for ticket in sorted(tickets, key=lambda t: pk(t)):
        await _link_ticket(session, incident, ticket, actor_id)
    enqueue(
        session,
        "slack.notify",
        {
            "text": f":rotating_light: {incident_key(pk(incident))} declared ({SEVERITIES[data.severity].label}): "
            f"{incident.title}"
        },
        idempotency_key=f"incident-{incident.id}-declared",
    )
    return incident


async def declare_incident(
    session: AsyncSession, data: IncidentCreate, *, actor: Principal, now: datetime | None = None
) -> Incident:
    async with transaction(session):
        incident = await declare_in_transaction(
            session,
            data,
            actor_id=actor.user_id,
            now=now or utcnow(),
            source="ticket" if data.tickets else "manual",
        )
    return incident


# --- responding ----------------------------------------------------------------------------


async def postmortem_written(session: AsyncSession, incident_id: int) -> bool:
    pm = (
        await session.exec(select(PostMortem).where(PostMortem.incident_id == incident_id))
    ).first()
    return bool(pm and pm.what_happened.strip())


async def _rerank_linked_tickets(session: AsyncSession, incident_id: int) -> None:
    """Linked tickets lead the board only while their incident is active: move them when that changes.

    The board is ordered by each ticket's stored key and reads its reasons from it, so a key
    left as it was would keep a resolved incident's tickets on top, saying they are in one.
    """
    await session.flush()  # the rank reads the incident's status from the database
    for ticket in await linked_tickets(session, incident_id):
        await refresh_rank(session, await lock_ticket(session, pk(ticket)))


async def move_locked_incident(
    session: AsyncSession,
    incident: Incident,
    target: IncidentStatus,
    actor_id: int | None,
    now: datetime,
    *,
    reason: str | None = None,
) -> None:
    before = IncidentStatus(incident.status)
    check_incident_transition(
        before,
        target,
        severity=Severity(incident.severity),
        postmortem_written=await postmortem_written(session, pk(incident)),
        postmortem_required_for=get_incident_settings().postmortem_required_for,
    )
    incident.status = target.value
    if target == IncidentStatus.resolved:
        incident.resolved_at = now
    elif target == IncidentStatus.postmortem_done:
        incident.done_at = now
    elif before == IncidentStatus.resolved:
        incident.resolved_at = None  # reopened: the fix did not hold
    if incident.acknowledged_at is None and actor_id is not None:
        incident.acknowledged_at, incident.acknowledged_by_id = (
            now,
            actor_id,
        )  # acting on it acknowledges it
    incident.next_update_due_at = next_update_due(
        Severity(incident.severity), target, incident.last_update_at, incident.declared_at
    )
    incident.updated_at = now
    if (before in ACTIVE) != (target in ACTIVE):
        await _rerank_linked_tickets(session, pk(incident))
    data = {"before": before.value, "after": target.value}
    if reason:
        data["reason"] = reason
    record_incident_event(session, incident, "incident.status_changed", actor_id, data)
    if target == IncidentStatus.resolved:
        record_incident_event(
            session,
            incident,
            "incident.resolved",
            actor_id,
            {"severity": incident.severity, **data},
        )
        enqueue(
            session,
            "slack.notify",
            {"text": f":white_check_mark: {incident_key(pk(incident))} resolved: {incident.title}"},
            idempotency_key=f"incident-{incident.id}-resolved-{now.isoformat()}",
        )
    elif target == IncidentStatus.postmortem_done:
        record_incident_event(session, incident, "incident.postmortem_done", actor_id, {})
    if before == IncidentStatus.resolved and target in ACTIVE:
        record_incident_event(session, incident, "incident.reopened", actor_id, data)


async def change_incident(
    session: AsyncSession,
    ref: str | int,
    patch: IncidentPatch,
    *,
    actor: Principal,
    now: datetime | None = None,
) -> Incident:
    now = now or utcnow()
    fields = patch.model_dump(exclude_unset=True)
    async with transaction(session):
        incident = await lock_incident(session, ref)
        if IncidentStatus(incident.status) == IncidentStatus.postmortem_done and set(fields) - {
            "status"
        }:
            raise Conflict(
                "the incident is finished and can no longer change", code="incident_done"
            )
        plain = {}
        for name in ("title", "summary"):
            if fields.get(name) is not None and fields[name] != getattr(incident, name):
                plain[name] = {"before": getattr(incident, name), "after": fields[name]}
                setattr(incident, name, fields[name])
        if plain:
            record_incident_event(
                session, incident, "incident.updated", actor.user_id, {"changes": plain}
            )
        if fields.get("severity") is not None and Severity(fields["severity"]) != Severity(
            incident.severity
        ):
            before = incident.severity
            incident.severity = Severity(fields["severity"]).value
            incident.next_update_due_at = next_update_due(
                Severity(incident.severity),
                IncidentStatus(incident.status),
                incident.last_update_at,
                incident.declared_at,
            )
            record_incident_event(
                session,
                incident,
                "incident.severity_changed",
                actor.user_id,
                {"before": before, "after": incident.severity},
            )
        if fields.get("status") is not None and IncidentStatus(fields["status"]) != IncidentStatus(
            incident.status
        ):
            await move_locked_incident(
                session, incident, IncidentStatus(fields["status"]), actor.user_id, now
            )
        incident.updated_at = now
    return incident


async def change_status(
    session: AsyncSession,
    ref: str | int,
    target: IncidentStatus,
    *,
    actor: Principal,
    now: datetime | None = None,
) -> Incident:
    now = now or utcnow()
    async with transaction(session):
        incident = await lock_incident(session, ref)
        await move_locked_incident(session, incident, IncidentStatus(target), actor.user_id, now)
    return incident


async def acknowledge_incident(
    session: AsyncSession, ref: str | int, *, actor: Principal, now: datetime | None = None
) -> Incident:
    """ "I've got it": stops escalation. Acknowledging twice is a no-op."""
    now = now or utcnow()
    async with transaction(session):
        incident = await lock_incident(session, ref)
        if incident.acknowledged_at is not None:
            return incident
        incident.acknowledged_at, incident.acknowledged_by_id = now, actor.user_id
        incident.updated_at = now
        record_incident_event(
            session, incident, "incident.acknowledged", actor.user_id, {"by": actor.name}
        )
        if await responder_id(session, pk(incident)) is None:
            await _set_role(
                session,
                incident,
                RESPONDER,
                await _staff(session, actor.user_id, "the responder"),
                actor.user_id,
            )
    return incident


async def assign_role(
    session: AsyncSession, ref: str | int, role: str, user_id: int, *, actor: Principal
) -> Incident:
    async with transaction(session):
        incident = await lock_incident(session, ref)
        user = await _staff(session, user_id, f"the {role}")
        await _set_role(session, incident, role, user, actor.user_id)
        incident.updated_at = utcnow()
    return incident


async def link_ticket(
    session: AsyncSession, ref: str | int, ticket_ref: str, *, actor: Principal
) -> Incident:
    async with transaction(session):
        incident = await lock_incident(session, ref)
        (ticket,) = await _tickets_by_ref(session, [ticket_ref])
        if not await _link_ticket(session, incident, ticket, actor.user_id):
            raise Conflict(
                f"{ticket_key(pk(ticket))} is already linked to this incident",
                code="already_linked",
            )
        incident.updated_at = utcnow()
    return incident


async def add_community(
    session: AsyncSession, ref: str | int, slug: str, *, actor: Principal
) -> Incident:
    async with transaction(session):
        incident = await lock_incident(session, ref)
        (community,) = await _communities_by_slug(session, [slug])
        if not await _add_community(session, incident, pk(community), actor.user_id):
            raise Conflict(f"{community.name} is already affected", code="already_affected")
        incident.updated_at = utcnow()
    return incident


# --- customer updates ----------------------------------------------------------------------


async def update_recipients(session: AsyncSession, incident_id: int) -> list[User]:
    """Representatives of every affected community, each once; a representative who opened a
    linked ticket hears through that ticket instead, so nobody gets the same update twice."""
    linked_requesters = (
        select(Ticket.requester_id)
        .join(IncidentTicket, col(IncidentTicket.ticket_id) == Ticket.id)
        .where(IncidentTicket.incident_id == incident_id)
    )
    stmt = (
        select(User)
        .join(Membership, col(Membership.user_id) == User.id)
        .join(IncidentCommunity, col(IncidentCommunity.community_id) == Membership.community_id)
        .where(
            IncidentCommunity.incident_id == incident_id,
            Membership.role == MembershipRole.representative,
            col(User.is_active).is_(True),
            col(User.id).not_in(linked_requesters),
        )
        .distinct()
        .order_by(col(User.id))
    )
    return list((await session.exec(stmt)).all())


async def render_update_template(
    session: AsyncSession,
    incident: Incident,
    kind: UpdateKind | None = None,
    *,
    now: datetime | None = None,
) -> tuple[UpdateKind, str]:
    now = now or utcnow()
    if kind is None:
        kind = update_kind(
            len(await list_updates(session, pk(incident))), IncidentStatus(incident.status)
        )
    communities = await affected_communities(session, pk(incident))
    rid = await responder_id(session, pk(incident))
    responder = await session.get(User, rid) if rid else None
    # The next update is promised one cadence interval from posting.
    due = now + SEVERITIES[Severity(incident.severity)].update_every
    values = {
        "title": incident.title,
        "communities": ", ".join(c.name for c in communities) or "your service",
        "responder": responder.name if responder else "on call",
        "status": STATUS_LABELS[IncidentStatus(incident.status)].lower(),
        "next_update": due.strftime("%H:%M UTC"),
    }
    return kind, UPDATE_TEMPLATES[kind].format(**values)


@dataclass(frozen=True)
class PostedUpdate:
    update: IncidentUpdate
    created: bool  # False when `client_key` named an update already posted


async def post_update(
    session: AsyncSession,
    ref: str | int,
    data: UpdateCreate,
    *,
    actor: Principal,
    now: datetime | None = None,
) -> PostedUpdate:
    """Send a status update: an e-mail (through the outbox) to every representative of the
    affected communities and a public reply on every linked ticket, in one commit.

    With `client_key`, posting again (a double submit, a retried request) returns the first
    update and sends nothing more.
    """
    now = now or utcnow()
    async with transaction(session):
        incident = await lock_incident(session, ref)
        if data.client_key:
            previous = (
                await session.exec(
                    select(IncidentUpdate).where(
                        IncidentUpdate.incident_id == incident.id,
                        IncidentUpdate.client_key == data.client_key,
                    )
                )
            ).first()
            if previous is not None:
                return PostedUpdate(previous, False)
        if IncidentStatus(incident.status) == IncidentStatus.postmortem_done:
            raise Conflict("the incident is finished; updates are closed", code="incident_done")
        if data.status is not None and IncidentStatus(data.status) != IncidentStatus(
            incident.status
        ):
            await move_locked_incident(
                session,
                incident,
                IncidentStatus(data.status),
                actor.user_id,
                now,
                reason="with an update",
            )
        count = len(await list_updates(session, pk(incident)))
        kind = update_kind(count, IncidentStatus(incident.status))
        update = IncidentUpdate(
            incident_id=pk(incident),
            kind=kind.value,
            status=incident.status,
            body=data.body,
            author_id=actor.user_id,
            client_key=data.client_key,
            created_at=now,
        )
        session.add(update)
        await session.flush()

        label = STATUS_LABELS[IncidentStatus(incident.status)]
        subject = f"[{incident_key(pk(incident))}] {incident.title} — {label}"
        recipients = await update_recipients(session, pk(incident))
        for user in recipients:
            enqueue(
                session,
                "email.send",
                {
                    "to": [user.email],
                    "subject": subject,
                    "text": data.body,
                    "incident_id": incident.id,
                },
                idempotency_key=f"incident-{incident.id}-update-{update.id}-user-{user.id}",
            )
        tickets = await linked_tickets(session, pk(incident))
        for ticket in tickets:
            ticket = await lock_ticket(session, pk(ticket))
            await add_message_in_transaction(
                session,
                ticket,
                MessageCreate(
                    body=f"**{incident_key(pk(incident))} — {label}**\n\n{data.body}",
                    kind=MessageKind.public,
                ),
                actor=actor,
                channel=Channel.web,
            )
        update.emails, update.ticket_replies = len(recipients), len(tickets)

        incident.last_update_at = now
        incident.next_update_due_at = next_update_due(
            Severity(incident.severity), IncidentStatus(incident.status), now, incident.declared_at
        )
        if incident.acknowledged_at is None:
            incident.acknowledged_at, incident.acknowledged_by_id = now, actor.user_id
        incident.updated_at = now
        record_incident_event(
            session,
            incident,
            "incident.update_posted",
            actor.user_id,
            {
                "update_id": update.id,
                "kind": kind.value,
                "status": incident.status,
                "body": data.body,
                "emails": len(recipients),
                "ticket_replies": len(tickets),
            },
        )
        keep_loaded(session, incident)
    return PostedUpdate(update, True)


# --- post-mortem ---------------------------------------------------------------------------

TIMELINE_LABELS = {
    "incident.declared": "Incident declared",
    "incident.acknowledged": "Acknowledged",
    "incident.status_changed": "Status",
    "incident.severity_changed": "Severity",
    "incident.update_posted": "Update posted",
    "incident.resolved": "Resolved",
    "incident.reopened": "Reopened",
    "incident.ticket_linked": "Ticket linked",
    "incident.community_added": "Community affected",
    "incident.role_assigned": "Role",
    "incident.escalated": "Escalated",
    "incident.alert_received": "Alert",
    "incident.alert_resolved": "Alert resolved",
    "incident.postmortem_saved": "Post-mortem saved",
    "incident.postmortem_done": "Post-mortem done",
    "incident.escalation_stopped": "Escalation stopped",
}


def _status_label(value: str | None) -> str:
    try:
        return STATUS_LABELS[IncidentStatus(value)].lower() if value is not None else str(value)
    except ValueError:
        return str(value)


def describe_event(event: Event, actor_name: str | None = None) -> str:
    """One line for the timeline (pages) and the post-mortem draft."""
    d = event.data or {}
    label = TIMELINE_LABELS.get(event.kind, event.kind)
    if event.kind == "incident.declared":
        text = f"{label} ({d.get('severity', '').upper()}): {d.get('title', '')}"
    elif event.kind == "incident.status_changed":
        text = f"{label}: {_status_label(d.get('before'))} → {_status_label(d.get('after'))}"
        if d.get("reason"):
            text += f" ({d['reason']})"
    elif event.kind == "incident.severity_changed":
        text = f"{label}: {str(d.get('before')).upper()} → {str(d.get('after')).upper()}"
    elif event.kind == "incident.update_posted":
        text = (
            f"{label} ({d.get('kind')}), sent to {d.get('emails', 0)} representative(s) and "
            f"{d.get('ticket_replies', 0)} ticket(s)"
        )
    elif event.kind == "incident.ticket_linked":
        text = f"{label}: {d.get('ticket')} {d.get('title', '')}"
    elif event.kind == "incident.community_added":
        text = f"{label}: {d.get('community')}"
    elif event.kind == "incident.role_assigned":
        text = f"{label}: {d.get('role')} is {d.get('user')}"
    elif event.kind == "incident.escalated":
        text = f"{label} (step {d.get('step')}, {d.get('role')}): paged {', '.join(d.get('paged', [])) or 'nobody'}"
    elif event.kind in ("incident.alert_received", "incident.alert_resolved"):
        text = f"{label}: {d.get('name')} ({d.get('source')})"
    elif event.kind == "incident.escalation_stopped":
        text = f"{label} ({d.get('reason')}) after {d.get('steps')} page(s)"
    elif event.kind == "incident.acknowledged":
        text = label
    elif event.kind == "incident.action_item_added":
        text = f"Action item: {d.get('title')} → {d.get('ticket')}"
    else:
        text = label
    return f"{text} — {actor_name}" if actor_name else text


async def draft_timeline(session: AsyncSession, incident_id: int) -> str:
    # Status lines already say resolved/reopened; the post-mortem's own edits are not the incident's story.
    skip = {"incident.resolved", "incident.reopened", "incident.action_item_added"}
    events = [
        e
        for e in await timeline(session, incident_id)
        if not e.kind.startswith("incident.postmortem") and e.kind not in skip
    ]
    names = {
        u.id: u.name
        for u in (
            await session.exec(
                select(User).where(col(User.id).in_({e.actor_id for e in events if e.actor_id}))
            )
        ).all()
    }
    return "\n".join(
        f"- {e.created_at:%Y-%m-%d %H:%M} UTC — {describe_event(e, names.get(e.actor_id))}"
        for e in events
    )


async def get_postmortem(session: AsyncSession, incident_id: int) -> PostMortem | None:
    return (
        await session.exec(select(PostMortem).where(PostMortem.incident_id == incident_id))
    ).first()


async def save_postmortem(
    session: AsyncSession,
    ref: str | int,
    data: PostMortemWrite,
    *,
    actor: Principal,
    now: datetime | None = None,
) -> PostMortem:
    """Write (or edit) the post-mortem; the timeline starts as a draft from the incident's events."""
    now = now or utcnow()
    async with transaction(session):
        incident = await lock_incident(session, ref)
        if IncidentStatus(incident.status) in ACTIVE:
            raise Conflict(
                "resolve the incident before writing its post-mortem", code="incident_active"
            )
        pm = await get_postmortem(session, pk(incident))
        created = pm is None
        if pm is None:
            pm = PostMortem(
                incident_id=pk(incident),
                timeline=await draft_timeline(session, pk(incident)),
                created_at=now,
            )
            session.add(pm)
        changed = []
        for name, value in data.model_dump(exclude_unset=True).items():
            if value is not None and value != getattr(pm, name):
                setattr(pm, name, value)
                changed.append(name)
        pm.updated_by_id, pm.updated_at = actor.user_id, now
        record_incident_event(
            session,
            incident,
            "incident.postmortem_saved",
            actor.user_id,
            {"created": created, "sections": changed},
        )
    return pm


async def list_action_items(session: AsyncSession, incident_id: int) -> list[ActionItem]:
    stmt = (
        select(ActionItem).where(ActionItem.incident_id == incident_id).order_by(col(ActionItem.id))
    )
    return list((await session.exec(stmt)).all())


async def add_action_item(
    session: AsyncSession, ref: str | int, data: ActionItemCreate, *, actor: Principal
) -> ActionItem:
    """An action item becomes a ticket assigned to its owner, so it is worked from the board.

    The ticket, its assignment and the item commit together (the ticket services join this
    unit of work), so a failure leaves neither an orphan ticket nor an item pointing nowhere.
    """
    incident = await get_incident(session, ref)
    if incident is None:
        raise NotFound(f"incident {ref} does not exist")
    owner = await _staff(session, data.owner_id, "the owner")
    if await get_postmortem(session, pk(incident)) is None:
        raise Conflict(
            "write the post-mortem before adding action items", code="postmortem_missing"
        )
    key = incident_key(pk(incident))
    async with transaction(session):
        return await _add_action_item(session, incident, owner, key, data, actor)


async def _add_action_item(
    session: AsyncSession,
    incident: Incident,
    owner: User,
    key: str,
    data: ActionItemCreate,
    actor: Principal,
) -> ActionItem:
    ticket = await submit_ticket(
        session,
        TicketCreate(
            title=f"{key} action: {data.title}"[:200],
            body=f"Action item from the post-mortem of {key} ({incident.title}). Due {data.due_on.isoformat()}.",
            requester_email=owner.email,
            requester_name=owner.name,
            type=TicketType.change_request,
            channel=Channel.internal,
        ),
        actor=actor,
    )
    await update_ticket(
        session, pk(ticket), TicketUpdate(assignee_id=owner.id, tags=["action-item"]), actor=actor
    )
    incident = await lock_incident(session, pk(incident))
    item = ActionItem(
        incident_id=pk(incident),
        title=data.title,
        owner_id=pk(owner),
        due_on=data.due_on,
        ticket_id=ticket.id,
    )
    session.add(item)
    await session.flush()
    record_incident_event(
        session,
        incident,
        "incident.action_item_added",
        actor.user_id,
        {
            "title": data.title,
            "owner": owner.name,
            "due_on": data.due_on.isoformat(),
            "ticket": ticket_key(pk(ticket)),
        },
        ticket_id=ticket.id,
    )
    return item
