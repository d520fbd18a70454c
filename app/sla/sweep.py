"""The breach sweep: record each SLA breach as an `sla.breached` event, exactly once.

Runs every minute in the worker. A clock is "unsettled" until it is met on time or its
breach is recorded; the sweep claims unsettled clocks whose due instant has passed and
marks them (`breached_at`, `settled`) in the same transaction as the event, so a crash or
a second worker never records a breach twice. Events feed webhooks, escalation and the
rota's handoff report (they count `sla.breached` events).
"""

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.db import pk, transaction
from app.sla.models import SlaClock
from app.ticket.models import Ticket

BATCH = 500


async def sweep_breaches(session: AsyncSession, now: datetime, *, batch: int = BATCH) -> int:
    """Record every breach due by `now` not yet recorded; returns how many were recorded."""
    total = 0
    while True:
        async with transaction(session):
            stmt = (
                select(SlaClock, Ticket)
                .join(Ticket, col(Ticket.id) == SlaClock.ticket_id)
                .where(
                    col(SlaClock.settled).is_(False),
                    col(SlaClock.due_at) <= now,
                    col(SlaClock.breached_at).is_(None),
                    # a clock stopped on time is settled; one stopped late is still a breach
                    or_(
                        col(SlaClock.stopped_at).is_(None),
                        col(SlaClock.stopped_at) > col(SlaClock.due_at),
                    ),
                    # paused with time left has no due instant; paused after the breach keeps it
                )
                .order_by(col(SlaClock.due_at), col(SlaClock.id))
                .limit(batch)
                .with_for_update(skip_locked=True, of=SlaClock)
            )
            rows = (await session.exec(stmt)).all()
            for clock, ticket in rows:
                clock.breached_at = now
                clock.settled = True
                event = record_event(
                    session,
                    "sla.breached",
                    subject_type="ticket",
                    subject_id=pk(ticket),
                    ticket_id=ticket.id,
                    community_id=ticket.community_id,
                    actor_id=None,
                    data={
                        "ticket_id": ticket.id,
                        "target": clock.target,
                        "due_at": clock.due_at,
                        "target_minutes": clock.target_minutes,
                        "clock_id": clock.id,
                        "channel": ticket.channel,
                        "criticality": ticket.criticality,
                    },
                )
                event.created_at = now
        total += len(rows)
        if len(rows) < batch:
            return total


async def breach_sweep_job(session: AsyncSession, now: datetime) -> int:
    return await sweep_breaches(session, now)
