"""The handoff: at each shift end, a report built from the data, the retro, the acknowledgement.

The report counts what the exterminator form asked people to count by hand
(weekly-exterminator-rotation.md: distinct external requesters per day, tickets the
exterminator created) plus what the next person must know: SLA breaches, incidents, the
hot tickets still open, duties left unticked. SLA breaches and incidents are counted from
the audit log (`sla.breached`, `incident.declared`), so the rota needs neither package.
The retro questions are Fleet's (oncall-and-retro.md).
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import Event
from app.audit.service import record_event
from app.auth.policy import Principal
from app.config import get_settings
from app.db import pk, transaction
from app.errors import Conflict, Forbidden, NotFound
from app.outbox.service import enqueue
from app.registry import Hooks
from app.rota import service
from app.rota.models import Duty, DutyTick, Handoff, HandoffUpdate, Schedule
from app.rota.schedule import base_shift_by_index, base_shifts, final_shifts, local_date
from app.ticket.enums import UNFINISHED_STATUSES, Urgency
from app.ticket.models import Ticket
from app.user.models import User

RETRO_QUESTIONS = {
    "went_well": "What went well?",
    "could_be_better": "What could have gone better?",
    "to_remember": "What should we remember next time?",
}


@dataclass(frozen=True)
class HandoffNotice:
    """What other domains hear of a handoff: who holds each role of the schedule now."""

    handoff_id: int
    schedule_name: str
    role: str
    on_now: dict[str, str]  # role -> the name of whoever holds it now, in the schedule's role order


HandoffListener = Callable[[AsyncSession, HandoffNotice], Awaitable[None]]
# Told of each handoff inside its transaction (e.g. the support channel's topic); filled by app/wiring.py.
HANDOFF_LISTENERS: Hooks[HandoffListener] = Hooks("handoff listeners")

MAX_REMINDERS = 6
CATCH_UP = timedelta(days=3)  # a worker that was down this long still writes the missed handoff


def _key(ticket_id: int) -> str:
    return f"{get_settings().ticket_prefix}-{ticket_id}"


async def build_report(
    session: AsyncSession,
    schedule: Schedule,
    role: str,
    shift_index: int,
    start: datetime,
    end: datetime,
    outgoing_id: int | None,
) -> dict[str, Any]:
    """The numbers for the shift [start, end), from tickets, the audit log and the duty ticks."""
    created = (
        await session.exec(
            select(Ticket.id, Ticket.requester_id, Ticket.created_at, User.staff_role)
            .outerjoin(User, col(User.id) == Ticket.requester_id)
            .where(col(Ticket.created_at) >= start, col(Ticket.created_at) < end)
        )
    ).all()
    per_day: dict[str, set[int]] = defaultdict(set)
    day = local_date(start, schedule.zone)
    while day <= local_date(end - timedelta(microseconds=1), schedule.zone):
        per_day[day.isoformat()] = set()  # every day of the shift appears, quiet ones with 0
        day += timedelta(days=1)
    for _tid, requester_id, created_at, staff_role in created:
        if (
            requester_id is not None and staff_role is None
        ):  # staff filing for themselves is not support load
            per_day[local_date(created_at, schedule.zone).isoformat()].add(requester_id)

    async def events(kind: str) -> list[Event]:
        stmt = (
            select(Event)
            .where(Event.kind == kind, col(Event.created_at) >= start, col(Event.created_at) < end)
            .order_by(col(Event.id))
        )
        return list((await session.exec(stmt)).all())

    by_triager = 0
    if outgoing_id is not None:
        by_triager = (
            await session.exec(
                select(func.count())
                .select_from(Event)
                .where(
                    Event.kind == "ticket.created",
                    Event.actor_id == outgoing_id,
                    col(Event.created_at) >= start,
                    col(Event.created_at) < end,
                )
            )
        ).one()
    breaches = await events("sla.breached")
    incidents = await events("incident.declared")
    hot = (
        await session.exec(
            select(Ticket)
            .where(
                col(Ticket.status).in_([s.value for s in UNFINISHED_STATUSES]),
                or_(
                    col(Ticket.criticality).in_([1, 2]),
                    col(Ticket.urgency).in_([Urgency.urgent.value, Urgency.emergency.value]),
                ),
            )
            .order_by(
                col(Ticket.criticality).is_(None), col(Ticket.criticality), col(Ticket.created_at)
            )
            .limit(50)
        )
    ).all()
    duties = (
        await session.exec(
            select(Duty)
            .where(Duty.schedule_id == schedule.id, Duty.role == role)
            .order_by(col(Duty.position))
        )
    ).all()
    ticked = (
        set(
            (
                await session.exec(
                    select(DutyTick.duty_id).where(
                        col(DutyTick.duty_id).in_([d.id for d in duties]),
                        DutyTick.shift_index == shift_index,
                    )
                )
            ).all()
        )
        if duties
        else set()
    )
    return {
        "window": {"start": start.isoformat(), "end": end.isoformat(), "zone": schedule.zone},
        "requests_received": len(created),
        "external_requesters_per_day": {d: len(ids) for d, ids in sorted(per_day.items())},
        "tickets_created_by_triager": by_triager,
        "sla_breaches": len(breaches),
        "sla_breach_tickets": sorted({e.ticket_id for e in breaches if e.ticket_id}),
        "incidents": [{"id": e.subject_id, "title": e.data.get("title", "")} for e in incidents],
        "hot_open_tickets": [
            {
                "id": t.id,
                "key": _key(pk(t)),
                "title": t.title,
                "status": t.status,
                "criticality": t.criticality,
                "urgency": t.urgency,
            }
            for t in hot
        ],
        "unticked_duties": [d.title for d in duties if d.id not in ticked],
        "duties_done": [d.title for d in duties if d.id in ticked],
    }


def _email(user: User, subject: str, text: str) -> dict[str, Any]:
    return {"to": [user.email], "subject": subject, "text": text}


def _handoff_url(handoff: Handoff) -> str:
    return f"{get_settings().base_url.rstrip('/')}/rota/handoffs/{handoff.id}"


async def write_due_handoffs(session: AsyncSession, now: datetime) -> int:
    """Write the handoff of every primary-role shift that ended (within CATCH_UP) and has none yet."""
    made = 0
    for schedule in await service.list_schedules(session):
        if not schedule.roles:
            continue
        role = schedule.roles[0]  # the report is about the front-line role (triager / exterminator)
        loaded = await service.load(
            session,
            schedule,
            now - CATCH_UP - timedelta(days=schedule.shift_days + 8),
            now + timedelta(days=schedule.shift_days + 8),
        )
        ended = [
            s
            for s in base_shifts(
                loaded.layout, now - CATCH_UP - timedelta(days=schedule.shift_days), now, [role]
            )
            if s.end <= now and s.end > now - CATCH_UP
        ]
        if not ended:
            continue
        existing = set(
            (
                await session.exec(
                    select(Handoff.shift_index).where(
                        Handoff.schedule_id == schedule.id,
                        Handoff.role == role,
                        col(Handoff.shift_index).in_([s.index for s in ended]),
                    )
                )
            ).all()
        )
        for shift in ended:
            if shift.index in existing:
                continue
            pieces = final_shifts([shift], loaded.overrides)
            outgoing = pieces[-1].user_id
            nxt = base_shift_by_index(loaded.layout, role, shift.index + 1)
            incoming = final_shifts([nxt], loaded.overrides)[0].user_id if nxt else None
            made += await _create(
                session,
                schedule,
                role,
                shift.index,
                shift.start,
                shift.end,
                outgoing,
                incoming,
                now,
            )
    return made


async def _create(
    session: AsyncSession,
    schedule: Schedule,
    role: str,
    index: int,
    start: datetime,
    end: datetime,
    outgoing_id: int | None,
    incoming_id: int | None,
    now: datetime,
) -> int:
    report = await build_report(session, schedule, role, index, start, end, outgoing_id)
    on = await service.who_is_on(session, schedule, now) if len(HANDOFF_LISTENERS) else None
    holders = {r: shift.user_id for r, shift in on.now.items() if shift is not None} if on else {}
    users = await service.users_by_id(session, {outgoing_id, incoming_id, *holders.values()})
    try:
        async with transaction(session):
            handoff = Handoff(
                schedule_id=pk(schedule),
                role=role,
                shift_index=index,
                shift_start_at=start,
                shift_end_at=end,
                outgoing_id=outgoing_id,
                incoming_id=incoming_id,
                report=report,
                created_at=now,
            )
            session.add(handoff)
            await session.flush()
            record_event(
                session,
                "handoff.created",
                subject_type="handoff",
                subject_id=pk(handoff),
                actor_id=None,
                data={
                    "schedule_id": schedule.id,
                    "role": role,
                    "shift_index": index,
                    "outgoing_id": outgoing_id,
                    "incoming_id": incoming_id,
                    "requests_received": report["requests_received"],
                    "sla_breaches": report["sla_breaches"],
                },
            )
            url = _handoff_url(handoff)
            if outgoing_id in users:
                enqueue(
                    session,
                    "email.send",
                    _email(
                        users[outgoing_id],
                        f"Your {role} shift on {schedule.name} ended: notes and retro",
                        f"Thanks for the shift. Add your notes and answer the retro questions:\n{url}\n\n"
                        + "\n".join(RETRO_QUESTIONS.values()),
                    ),
                    idempotency_key=f"handoff-{handoff.id}-outgoing",
                )
            if incoming_id in users and incoming_id != outgoing_id:
                enqueue(
                    session,
                    "email.send",
                    _email(
                        users[incoming_id],
                        f"You are now {role} on {schedule.name}: please acknowledge the handoff",
                        f"Read the handoff report and acknowledge it:\n{url}",
                    ),
                    idempotency_key=f"handoff-{handoff.id}-incoming",
                )
            notice = HandoffNotice(
                handoff_id=pk(handoff),
                schedule_name=schedule.name,
                role=role,
                on_now={r: users[u].name for r, u in holders.items() if u in users},
            )
            for listener in HANDOFF_LISTENERS:
                await listener(session, notice)
    except Conflict:
        return 0  # another worker wrote it first (unique schedule, role, shift)
    return 1


async def send_reminders(session: AsyncSession, now: datetime) -> int:
    """Remind the incoming person every `reminder_hours` until they acknowledge (at most MAX_REMINDERS)."""
    stmt = (
        select(Handoff, Schedule)
        .join(Schedule, col(Schedule.id) == Handoff.schedule_id)
        .where(
            col(Handoff.acknowledged_at).is_(None),
            col(Handoff.incoming_id).is_not(None),
            Handoff.reminders_sent < MAX_REMINDERS,
            col(Handoff.created_at) > now - timedelta(days=14),
        )
    )
    sent = 0
    for handoff, schedule in (await session.exec(stmt)).all():
        if handoff.incoming_id == handoff.outgoing_id:
            continue
        last = handoff.last_reminded_at or handoff.created_at
        if now - last < timedelta(hours=schedule.reminder_hours):
            continue
        user = await session.get(User, handoff.incoming_id)
        if user is None:
            continue
        try:
            async with transaction(session):
                n = handoff.reminders_sent + 1
                handoff.reminders_sent = n
                handoff.last_reminded_at = now
                session.add(handoff)
                enqueue(
                    session,
                    "email.send",
                    _email(
                        user,
                        f"Reminder: acknowledge the {handoff.role} handoff on {schedule.name}",
                        f"The handoff from the last shift is waiting for you:\n{_handoff_url(handoff)}",
                    ),
                    idempotency_key=f"handoff-{handoff.id}-reminder-{n}",
                )
        except Conflict:
            continue
        sent += 1
    return sent


# --- reading and the people's part ------------------------------------------------------------


async def get_handoff(session: AsyncSession, handoff_id: int) -> Handoff | None:
    return await session.get(Handoff, handoff_id)


async def search_handoffs(
    session: AsyncSession,
    *,
    schedule_id: int | None = None,
    q: str | None = None,
    person_id: int | None = None,
    limit: int = 50,
) -> list[Handoff]:
    """Newest first; `q` matches the notes and the retro answers (case-insensitive)."""
    stmt = select(Handoff)
    if schedule_id is not None:
        stmt = stmt.where(Handoff.schedule_id == schedule_id)
    if person_id is not None:
        stmt = stmt.where(
            or_(col(Handoff.outgoing_id) == person_id, col(Handoff.incoming_id) == person_id)
        )
    if q:
        needle = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                *(
                    func.lower(getattr(Handoff, f)).like(needle)
                    for f in ("notes", "went_well", "could_be_better", "to_remember")
                )
            )
        )
    stmt = stmt.order_by(col(Handoff.shift_end_at).desc(), col(Handoff.id).desc()).limit(limit)
    return list((await session.exec(stmt)).all())


async def update_handoff(
    session: AsyncSession, handoff: Handoff, data: HandoffUpdate, principal: Principal
) -> Handoff:
    """The outgoing person (or a rota manager) writes the notes and the retro answers."""
    if principal.user_id != handoff.outgoing_id and not principal.can("schedules:write"):
        raise Forbidden(
            "only the outgoing person or a rota manager may edit this handoff", code="not_yours"
        )
    fields = data.model_dump(exclude_unset=True, exclude_none=True)
    async with transaction(session):
        for name, value in fields.items():
            setattr(handoff, name, value.strip())
        session.add(handoff)
        record_event(
            session,
            "handoff.updated",
            subject_type="handoff",
            subject_id=pk(handoff),
            actor_id=principal.user_id,
            data={"fields": sorted(fields)},
        )
    return handoff


async def acknowledge_handoff(
    session: AsyncSession, handoff: Handoff, principal: Principal, now: datetime
) -> Handoff:
    if principal.user_id != handoff.incoming_id and not principal.can("schedules:write"):
        raise Forbidden(
            "only the incoming person or a rota manager may acknowledge this handoff",
            code="not_yours",
        )
    if handoff.acknowledged_at is not None:
        return handoff  # acknowledging twice changes nothing
    async with transaction(session):
        handoff.acknowledged_at = now
        handoff.acknowledged_by_id = principal.user_id
        session.add(handoff)
        record_event(
            session,
            "handoff.acknowledged",
            subject_type="handoff",
            subject_id=pk(handoff),
            actor_id=principal.user_id,
            data={"schedule_id": handoff.schedule_id},
        )
    return handoff


def require_handoff(handoff: Handoff | None, handoff_id: int) -> Handoff:
    if handoff is None:
        raise NotFound(f"handoff {handoff_id} does not exist")
    return handoff
