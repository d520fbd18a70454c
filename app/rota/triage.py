"""Rota-aware triage: offer (or assign) each new ticket to whoever holds the triager role now.

The setting is per schedule (`triage_mode`): off, offer (the triager gets an e-mail and the
ticket's timeline says so) or assign. The first schedule, by id, whose triager is on wins,
so two rotas never fight over one ticket.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.config import get_settings
from app.db import pk
from app.outbox.service import enqueue
from app.rota import service
from app.rota.models import TriageMode
from app.ticket.models import Ticket
from app.user.models import User

TRIAGE_ROLE = "triager"


async def route_new_ticket(session: AsyncSession, ticket: Ticket, now: datetime) -> int | None:
    """Runs inside the ticket's own transaction; returns who it went to, if anyone."""
    for schedule in (await service.rota_snapshot(session)).schedules:
        if schedule.triage_mode == TriageMode.off.value or TRIAGE_ROLE not in schedule.roles:
            continue
        ids = await service.on_call_ids(session, TRIAGE_ROLE, now, schedule_id=schedule.id)
        if not ids:
            continue
        user = await session.get(User, ids[0])
        if user is None or not user.is_staff:
            continue
        key = f"{get_settings().ticket_prefix}-{ticket.id}"
        if schedule.triage_mode == TriageMode.assign.value:
            ticket.assignee_id = user.id
            session.add(ticket)
            record_event(
                session,
                "ticket.assigned_by_rota",
                subject_type="ticket",
                subject_id=pk(ticket),
                ticket_id=ticket.id,
                community_id=ticket.community_id,
                actor_id=None,
                data={"assignee_id": user.id, "schedule_id": schedule.id, "role": TRIAGE_ROLE},
            )
            subject = f"[{key}] assigned to you (you are on call): {ticket.title}"
        else:
            record_event(
                session,
                "ticket.offered",
                subject_type="ticket",
                subject_id=pk(ticket),
                ticket_id=ticket.id,
                community_id=ticket.community_id,
                actor_id=None,
                data={"user_id": user.id, "schedule_id": schedule.id, "role": TRIAGE_ROLE},
            )
            subject = f"[{key}] new request for the triager on call: {ticket.title}"
        url = f"{get_settings().base_url.rstrip('/')}/tickets/{ticket.id}"
        enqueue(
            session,
            "email.send",
            {
                "to": [user.email],
                "subject": subject[:200],
                "text": f"{ticket.title}\n\n{url}",
                "ticket_id": ticket.id,
            },
            idempotency_key=f"rota-triage-{ticket.id}",
        )
        return user.id
    return None
