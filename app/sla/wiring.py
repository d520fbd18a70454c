"""What the SLA plugs into: the ticket hook (clocks follow tickets), the ticket view
(`sla` states in every ticket's output), the board's rows (`sla` countdowns) and the
worker (the breach sweep)."""

from sqlmodel.ext.asyncio.session import AsyncSession

import app.sla.service  # registers the ticket hook
import app.sla.sweep  # noqa: F401 - registers the periodic breach sweep
from app.db import pk
from app.sla.service import clock_countdowns, clock_states, sla_now
from app.ticket.models import Ticket
from app.ticket.views import BOARD_VIEW_EXTRAS, TICKET_VIEW_EXTRAS


async def sla_view_extra(session: AsyncSession, tickets: list[Ticket]) -> dict[int, dict]:
    states = await clock_states(session, [pk(t) for t in tickets], sla_now())
    return {ticket_id: {"sla": s} for ticket_id, s in states.items()}


if sla_view_extra not in TICKET_VIEW_EXTRAS:
    TICKET_VIEW_EXTRAS.append(sla_view_extra)


async def sla_board_extra(session: AsyncSession, tickets: list[Ticket]) -> dict[int, dict]:
    countdowns = await clock_countdowns(session, [pk(t) for t in tickets], sla_now())
    return {ticket_id: {"sla": c} for ticket_id, c in countdowns.items()}


if sla_board_extra not in BOARD_VIEW_EXTRAS:
    BOARD_VIEW_EXTRAS.append(sla_board_extra)
