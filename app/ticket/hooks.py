"""Extension point: other domains react to ticket changes inside the same transaction.

The SLA clock recomputes due instants, the rota offers new tickets to whoever is on duty,
and so on, without the ticket code importing those domains. A hook runs before commit, so
what it writes commits (or rolls back) with the change that caused it.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from app.registry import Hooks
from app.ticket.models import Ticket


@dataclass(frozen=True)
class TicketChange:
    # created | updated | status | message | claimed | unclaimed | voted | linked
    kind: str
    now: datetime
    actor_id: int | None = None
    fields: frozenset[str] = field(default_factory=frozenset)
    status_before: str | None = None
    status_after: str | None = None
    message_kind: str | None = None
    by_staff: bool | None = None
    # created: the requester's address was not verified and would have carried a
    # representative's or staff member's rights, so the ticket is held (issue 17).
    held_unverified: bool = False


TicketHook = Callable[[AsyncSession, Ticket, TicketChange], Awaitable[None]]
TICKET_HOOKS: Hooks[TicketHook] = Hooks("ticket hooks")  # filled by app/wiring.py, run in order


async def run_ticket_hooks(session: AsyncSession, ticket: Ticket, change: TicketChange) -> None:
    for hook in TICKET_HOOKS:
        await hook(session, ticket, change)
