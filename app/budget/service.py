"""Time entries and budget usage, and the budget facts the board order needs.

A community's budget is `budget_hours` per `budget_period` (calendar month or quarter,
in UTC). Usage is the time logged on its tickets inside the current period. The board
order (ticket/triage.py) puts communities with budget left above "other work" and
communities over budget last; `budget_rank_context` feeds it that fact.
"""

from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import changes, record_event
from app.auth.policy import Principal
from app.budget.models import BudgetPublic, TimeEntry, TimeEntryCreate, TimeEntryUpdate
from app.community.models import BudgetPeriod, Community
from app.db import pk, transaction, utcnow
from app.errors import InvalidInput, NotFound
from app.ticket.enums import UNFINISHED_STATUSES
from app.ticket.models import Ticket
from app.ticket.ranking import rank_contexts, rank_with
from app.ticket.service import lock_ticket, parse_ticket_ref
from app.ticket.views import communities_by_id


def period_bounds(period: BudgetPeriod | str, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month or quarter (UTC) containing `at`. Pure."""
    at = at.astimezone(UTC)
    first_month = (
        at.month if BudgetPeriod(period) == BudgetPeriod.month else 3 * ((at.month - 1) // 3) + 1
    )
    length = 1 if BudgetPeriod(period) == BudgetPeriod.month else 3
    start = datetime(at.year, first_month, 1, tzinfo=UTC)
    end_month = first_month + length
    end = datetime(at.year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=UTC)
    return start, end


def budget_state(budget_hours: float | None, used_hours: float) -> bool | None:
    """True: budget left; False: used up; None: the community has no budget. Pure."""
    if budget_hours is None:
        return None
    return used_hours < budget_hours


async def used_minutes(
    session: AsyncSession, community_ids: list[int], start: datetime, end: datetime
) -> dict[int, int]:
    if not community_ids:
        return {}
    stmt = (
        select(TimeEntry.community_id, func.sum(TimeEntry.minutes))
        .where(
            col(TimeEntry.community_id).in_(community_ids),
            col(TimeEntry.spent_at) >= start,
            col(TimeEntry.spent_at) < end,
        )
        .group_by(col(TimeEntry.community_id))
    )
    # The `in_` filter leaves out entries whose community is gone (NULL).
    return {
        cid: int(total or 0) for cid, total in (await session.exec(stmt)).all() if cid is not None
    }


async def budgets(
    session: AsyncSession, communities: list[Community], *, now: datetime | None = None
) -> dict[int, BudgetPublic]:
    """Each community's budget use in its current period: one query per kind of period."""
    now = now or utcnow()
    out: dict[int, BudgetPublic] = {}
    for period in BudgetPeriod:
        group = [c for c in communities if BudgetPeriod(c.budget_period) == period]
        if not group:
            continue
        start, end = period_bounds(period, now)
        used = await used_minutes(session, [pk(c) for c in group], start, end)
        for c in group:
            hours = round(used.get(pk(c), 0) / 60, 2)
            left = None if c.budget_hours is None else round(c.budget_hours - hours, 2)
            fraction = None if not c.budget_hours else hours / c.budget_hours
            out[pk(c)] = BudgetPublic(
                community=c.slug,
                funded=c.funded,
                period=period.value,
                period_start=start,
                period_end=end,
                budget_hours=c.budget_hours,
                used_hours=hours,
                left_hours=left,
                used_fraction=fraction,
                over_budget=budget_state(c.budget_hours, hours) is False,
            )
    return out


async def budget_of(
    session: AsyncSession, community: Community, *, now: datetime | None = None
) -> BudgetPublic:
    return (await budgets(session, [community], now=now))[pk(community)]


async def budget_rank_context(
    session: AsyncSession, tickets: list[Ticket]
) -> dict[int, dict[str, Any]]:
    """For the board order: whether each ticket's community has budget left."""
    ids = {t.community_id for t in tickets if t.community_id is not None}
    if not ids:
        return {}
    # Usually already loaded by this request (the board lists every community): no query then.
    budgeted = [
        c for c in (await communities_by_id(session, ids)).values() if c.budget_hours is not None
    ]
    state = {cid: b.over_budget is False for cid, b in (await budgets(session, budgeted)).items()}
    return {
        pk(t): {"budget_left": state[t.community_id]} for t in tickets if t.community_id in state
    }


async def rerank_community(session: AsyncSession, community_id: int) -> int:
    """Recompute the stored board position of the community's unfinished tickets (inside a transaction)."""
    stmt = select(Ticket).where(
        Ticket.community_id == community_id,
        col(Ticket.status).in_([s.value for s in UNFINISHED_STATUSES]),
    )
    rows = list((await session.exec(stmt)).all())
    contexts = await rank_contexts(session, rows)  # one batch, not a lookup per ticket
    for ticket in rows:
        key = rank_with(ticket, contexts[pk(ticket)]).key
        if ticket.rank_key != key:  # untouched rows keep their version (If-Match stays valid)
            ticket.rank_key = key
    return len(rows)


async def log_time(
    session: AsyncSession, ref: str | int, data: TimeEntryCreate, *, actor: Principal
) -> TimeEntry:
    ticket_id = parse_ticket_ref(ref)
    if ticket_id is None:
        raise NotFound(f"no ticket {ref}")
    spent_at = data.spent_at.astimezone(UTC) if data.spent_at else utcnow()
    if spent_at > utcnow():
        raise InvalidInput("time cannot be logged in the future", code="future_time")
    async with transaction(session):
        ticket = await lock_ticket(session, ticket_id)
        entry = TimeEntry(
            ticket_id=pk(ticket),
            community_id=ticket.community_id,
            user_id=actor.user_id,
            minutes=data.minutes,
            note=data.note.strip(),
            spent_at=spent_at,
        )
        session.add(entry)
        await session.flush()
        if ticket.community_id is not None:
            await rerank_community(session, ticket.community_id)  # the budget may just have run out
        record_event(
            session,
            "ticket.time_logged",
            subject_type="ticket",
            subject_id=pk(ticket),
            ticket_id=ticket.id,
            community_id=ticket.community_id,
            actor_id=actor.user_id,
            data={"time_entry_id": entry.id, "minutes": entry.minutes},
        )
    return entry


async def _entry_of(
    session: AsyncSession, ref: str | int, entry_id: int
) -> tuple[Ticket, TimeEntry]:
    ticket_id = parse_ticket_ref(ref)
    entry = await session.get(TimeEntry, entry_id)
    if ticket_id is None or entry is None or entry.ticket_id != ticket_id:
        raise NotFound(f"no time entry {entry_id} on ticket {ref}", code="unknown_time_entry")
    return await lock_ticket(session, ticket_id), entry


async def correct_time(
    session: AsyncSession, ref: str | int, entry_id: int, data: TimeEntryUpdate, *, actor: Principal
) -> TimeEntry:
    """Fix a mistyped entry. Anyone who may work the ticket may; the audit log keeps before and after."""
    fields = data.model_dump(exclude_unset=True, exclude_none=True)
    if "spent_at" in fields:
        fields["spent_at"] = fields["spent_at"].astimezone(UTC)
        if fields["spent_at"] > utcnow():
            raise InvalidInput("time cannot be logged in the future", code="future_time")
    if "note" in fields:
        fields["note"] = fields["note"].strip()
    async with transaction(session):
        ticket, entry = await _entry_of(session, ref, entry_id)
        if not fields:
            return entry  # nothing sent: no change, no event
        before = {k: getattr(entry, k) for k in fields}
        for key, value in fields.items():
            setattr(entry, key, value)
        session.add(entry)
        await session.flush()
        if entry.community_id is not None:
            await rerank_community(
                session, entry.community_id
            )  # the budget may now be over, or not
        record_event(
            session,
            "ticket.time_corrected",
            subject_type="ticket",
            subject_id=pk(ticket),
            ticket_id=ticket.id,
            community_id=entry.community_id,
            actor_id=actor.user_id,
            data={
                "time_entry_id": entry.id,
                "before": {
                    k: v.isoformat() if isinstance(v, datetime) else v for k, v in before.items()
                },
                "after": {
                    k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()
                },
            },
        )
    return entry


async def delete_time(
    session: AsyncSession, ref: str | int, entry_id: int, *, actor: Principal
) -> None:
    """Remove an entry logged by mistake; it stops counting against the budget at once."""
    async with transaction(session):
        ticket, entry = await _entry_of(session, ref, entry_id)
        community_id, minutes = entry.community_id, entry.minutes
        await session.delete(entry)
        await session.flush()
        if community_id is not None:
            await rerank_community(session, community_id)
        record_event(
            session,
            "ticket.time_deleted",
            subject_type="ticket",
            subject_id=pk(ticket),
            ticket_id=ticket.id,
            community_id=community_id,
            actor_id=actor.user_id,
            data={"time_entry_id": entry_id, "minutes": minutes},
        )


async def list_time_entries(session: AsyncSession, ticket_id: int) -> list[TimeEntry]:
    stmt = (
        select(TimeEntry)
        .where(TimeEntry.ticket_id == ticket_id)
        .order_by(col(TimeEntry.spent_at), col(TimeEntry.id))
    )
    return list((await session.exec(stmt)).all())


async def recent_entries(
    session: AsyncSession, community_id: int, start: datetime, end: datetime, limit: int = 50
) -> list[TimeEntry]:
    stmt = (
        select(TimeEntry)
        .where(
            TimeEntry.community_id == community_id,
            col(TimeEntry.spent_at) >= start,
            col(TimeEntry.spent_at) < end,
        )
        .order_by(col(TimeEntry.spent_at).desc(), col(TimeEntry.id).desc())
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())


async def set_budget(
    session: AsyncSession,
    community: Community,
    *,
    budget_hours: float | None,
    period: BudgetPeriod,
    funded: bool,
    actor: Principal,
) -> Community:
    """Change a community's budget (an admin action: audited, and the board re-ranked)."""
    if budget_hours is not None and budget_hours < 0:
        raise InvalidInput("budget hours cannot be negative", code="bad_budget")
    async with transaction(session):
        row = await session.get(Community, community.id, with_for_update=True)
        if row is None:
            raise NotFound("community not found")
        before = {
            "budget_hours": row.budget_hours,
            "budget_period": row.budget_period,
            "funded": row.funded,
        }
        row.budget_hours, row.budget_period, row.funded = budget_hours, period, funded
        diff = changes(
            before, {"budget_hours": budget_hours, "budget_period": period.value, "funded": funded}
        )
        if diff:
            await rerank_community(session, pk(row))
            record_event(
                session,
                "community.budget_set",
                subject_type="community",
                subject_id=pk(row),
                community_id=row.id,
                actor_id=actor.user_id,
                data={"changes": diff},
            )
    return row


async def rerank_budgeted_communities(session: AsyncSession, now: datetime) -> int:
    """A new month or quarter gives budgets back: refresh board positions. Idempotent."""
    ids = (
        await session.exec(select(Community.id).where(col(Community.budget_hours).is_not(None)))
    ).all()
    total = 0
    for community_id in [
        i for i in ids if i is not None
    ]:  # a primary key never is; its type allows it
        async with transaction(session):
            total += await rerank_community(session, community_id)
    return total
