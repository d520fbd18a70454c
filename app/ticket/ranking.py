"""Gathering the facts the board order needs from the database, and storing the result.

The rule itself is pure (`triage.rank`); this module only knows where each fact lives.
Facts owned by other domains (budgets, incidents) are looked up through the functions in
`RANK_CONTEXT`, so those domains can plug in without the ticket code importing them.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import memo, memo_for_reading
from app.registry import Hooks
from app.ticket.enums import Criticality, Urgency
from app.ticket.models import Ticket
from app.ticket.triage import Rank, RankFacts, rank


@dataclass(frozen=True)
class RankContext:
    budget_left: bool | None = None
    in_incident: bool = False


# Each provider gets (session, tickets) and returns {ticket_id: partial context fields}.
ContextProvider = Callable[[AsyncSession, list[Ticket]], Awaitable[dict[int, dict[str, Any]]]]
RANK_CONTEXT: Hooks[ContextProvider] = Hooks("rank context")  # filled by app/wiring.py


async def rank_contexts(session: AsyncSession, tickets: list[Ticket]) -> dict[int, RankContext]:
    ids = [t.id for t in tickets if t.id is not None]
    # A use case ranks its tickets last thing before commit; its response reuses that context.
    known = memo_for_reading(session, "rank_context")
    if ids and all(i in known for i in ids):
        return {i: known[i] for i in ids}
    merged: dict[int, dict[str, Any]] = {i: {} for i in ids}
    for provider in RANK_CONTEXT:
        for ticket_id, fields in (await provider(session, tickets)).items():
            merged.setdefault(ticket_id, {}).update(fields)
    out = {ticket_id: RankContext(**fields) for ticket_id, fields in merged.items()}
    memo(session, "rank_context").update(out)
    return out


def facts_of(ticket: Ticket, ctx: RankContext) -> RankFacts:
    return RankFacts(
        created_at=ticket.created_at,
        urgency=Urgency(ticket.urgency),
        criticality=Criticality(ticket.criticality) if ticket.criticality else None,
        in_incident=ctx.in_incident,
        funded=ticket.funded,
        affected_communities=ticket.affected_communities,
        fits_goals=ticket.fits_goals,
        budget_left=ctx.budget_left,
        has_workaround=ticket.has_workaround,
        data_loss=ticket.data_loss,
        blocks_priority_team=ticket.blocks_priority_team,
        due_at=ticket.due_at,
        vote_count=ticket.vote_count,
    )


def rank_with(ticket: Ticket, ctx: RankContext) -> Rank:
    return rank(facts_of(ticket, ctx))


async def refresh_rank(session: AsyncSession, ticket: Ticket) -> Rank:
    """Recompute and store the ticket's board position (call before commit on every change)."""
    ctx = (await rank_contexts(session, [ticket])).get(ticket.id or 0, RankContext())
    result = rank_with(ticket, ctx)
    ticket.rank_key = result.key
    return result
