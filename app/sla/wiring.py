"""What the SLA plugs into: the ticket hook (clocks follow tickets), the ticket view
(`sla` states in every ticket's output) and the worker (the breach sweep)."""

from sqlmodel.ext.asyncio.session import AsyncSession

import app.sla.service  # noqa: F401 - registers the ticket hook
import app.sla.sweep  # noqa: F401 - registers the periodic breach sweep
from app.sla.service import clock_states, sla_now
from app.ticket.models import Ticket
from app.ticket.views import TICKET_VIEW_EXTRAS


async def sla_view_extra(session: AsyncSession, tickets: list[Ticket]) -> dict[int, dict]:
    states = await clock_states(session, [t.id for t in tickets], sla_now())
    return {ticket_id: {"sla": s} for ticket_id, s in states.items()}


if sla_view_extra not in TICKET_VIEW_EXTRAS:
    TICKET_VIEW_EXTRAS.append(sla_view_extra)
