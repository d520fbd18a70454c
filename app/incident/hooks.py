"""How incidents plug into tickets: linked tickets of an active incident go first on the board."""

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import memo
from app.incident.service import incident_ids_for_tickets
from app.ticket.models import Ticket
from app.ticket.service import FRESH_TICKETS


async def in_active_incident(session: AsyncSession, tickets: list[Ticket]) -> dict[int, dict]:
    fresh = memo(
        session, FRESH_TICKETS
    )  # created here and linked to nothing yet: intake skips the query
    found = await incident_ids_for_tickets(
        session, [t.id for t in tickets if t.id is not None and t.id not in fresh]
    )
    return {ticket_id: {"in_incident": True} for ticket_id in found}
