"""What the rota plugs into: the on-call resolver, the handoff job, and new tickets (triage)."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.rota import handoff, service, triage
from app.ticket.enums import Status
from app.ticket.hooks import TicketChange
from app.ticket.models import Ticket


async def rota_on_call(
    session: AsyncSession, role: str, at: datetime, *, schedule_id: int | None = None
) -> list[int]:
    return await service.on_call_ids(session, role, at, schedule_id=schedule_id)


async def handoff_job(session: AsyncSession, now: datetime) -> int:
    """Write the report of every shift that just ended; remind whoever has not acknowledged one."""
    return await handoff.write_due_handoffs(session, now) + await handoff.send_reminders(
        session, now
    )


async def offer_new_ticket(session: AsyncSession, ticket: Ticket, change: TicketChange) -> None:
    """Rota-aware triage: a new ticket goes to the triager on call, per the schedule's setting."""
    if change.kind != "created" or ticket.status != Status.new or ticket.assignee_id is not None:
        return
    await triage.route_new_ticket(session, ticket, change.now)
