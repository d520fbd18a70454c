"""What the SLA plugs into (registered in `app/wiring.py`): the ticket view (`sla` states in
every ticket's output) and the board's rows (`sla` countdowns). Its ticket hook is
`service.follow_ticket`, its periodic job `sweep.breach_sweep_job`."""

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import pk
from app.sla.service import clock_countdowns, clock_states, sla_now
from app.ticket.models import Ticket


async def sla_view_extra(session: AsyncSession, tickets: list[Ticket]) -> dict[int, dict[str, Any]]:
    states = await clock_states(session, [pk(t) for t in tickets], sla_now())
    return {ticket_id: {"sla": s} for ticket_id, s in states.items()}


async def sla_board_extra(
    session: AsyncSession, tickets: list[Ticket]
) -> dict[int, dict[str, Any]]:
    countdowns = await clock_countdowns(session, [pk(t) for t in tickets], sla_now())
    return {ticket_id: {"sla": c} for ticket_id, c in countdowns.items()}
