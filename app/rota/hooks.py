"""What the rota plugs into: the on-call resolver, the handoff job, and new tickets (triage)."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.oncall import provide_on_call
from app.rota import handoff, service, triage
from app.ticket.enums import Status
from app.ticket.hooks import TicketChange, on_ticket_change
from app.ticket.models import Ticket
from app.worker.jobs import periodic


@provide_on_call
async def rota_on_call(session: AsyncSession, role: str, at: datetime, *, schedule_id: int | None = None) -> list[int]:
    return await service.on_call_ids(session, role, at, schedule_id=schedule_id)


@periodic("rota.handoffs", every_seconds=60)
async def handoff_job(session: AsyncSession, now: datetime) -> int:
    """Write the report of every shift that just ended; remind whoever has not acknowledged one."""
    return await handoff.write_due_handoffs(session, now) + await handoff.send_reminders(session, now)


@on_ticket_change
async def offer_new_ticket(session: AsyncSession, ticket: Ticket, change: TicketChange) -> None:
    """Rota-aware triage: a new ticket goes to the triager on call, per the schedule's setting."""
    if change.kind != "created" or ticket.status != Status.new or ticket.assignee_id is not None:
        return
    await triage.route_new_ticket(session, ticket, change.now)
