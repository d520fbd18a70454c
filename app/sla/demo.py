"""Demo SLA history: the demo ages its tickets after creating them, so their clocks are
replayed here from each ticket's age, with mostly-on-time and some late replies, and the
breach sweep then records the breaches (so the board, ticket pages and /reports look lived-in)."""

import random
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import transaction
from app.sla import clock as clocks
from app.sla.models import SlaClock
from app.sla.service import build_calendar, calendars_by_id
from app.sla.sweep import sweep_breaches
from app.ticket.enums import Status
from app.ticket.models import Ticket
from app.ticket.ranking import refresh_rank


async def replay_demo_clocks(session: AsyncSession, now: datetime, *, seed: int = 4) -> int:
    rng = random.Random(seed)
    async with transaction(session):
        tickets = {t.id: t for t in (await session.exec(select(Ticket))).all()}
        rows = list((await session.exec(select(SlaClock).order_by(col(SlaClock.id)))).all())
        cals = {
            cid: build_calendar(row)
            for cid, row in (await calendars_by_id(session, {c.calendar_id for c in rows})).items()
        }
        for c in rows:
            t = tickets[c.ticket_id]
            cal = cals[c.calendar_id]
            was_stopped, was_paused = (
                c.stopped_at is not None,
                c.running_since is None and c.stopped_at is None,
            )
            c.stopped_at = c.elapsed_us = c.breached_at = None
            c.settled = False
            c.opened_at = t.created_at  # the demo aged the ticket after its clocks started
            clocks.start(c, cal, t.created_at)
            total = timedelta(minutes=c.target_minutes)
            if was_stopped:
                share = rng.uniform(0.05, 0.9) if rng.random() < 0.82 else rng.uniform(1.05, 2.0)
                when = cal.add_business(t.created_at, total * share)
                if when < now:
                    clocks.stop(c, cal, when)
                    if c.target == "first_response":
                        t.first_response_at = when
                    if c.target == "resolution" and t.resolved_at is not None:
                        t.resolved_at = when
            elif was_paused:
                when = cal.add_business(t.created_at, total * rng.uniform(0.1, 0.6))
                clocks.pause(c, cal, min(when, now))
        for t in tickets.values():
            live = [
                c for c in rows if c.ticket_id == t.id and c.stopped_at is None and c.running_since
            ]
            t.due_at = min((c.due_at for c in live if c.due_at is not None), default=None)
            if t.status in (Status.resolved, Status.closed) and t.first_response_at is None:
                t.first_response_at = t.created_at
            await refresh_rank(session, t)
    return await sweep_breaches(session, now)
