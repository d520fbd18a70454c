"""Shaping rota rows for the API and the pages (one place, so both show the same thing),
and laying final shifts out as the /rota page's week or month grid in the schedule's zone.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import pk
from app.rota import service
from app.rota.models import (
    DutyOut,
    Handoff,
    HandoffOut,
    OnCallOut,
    Override,
    OverrideOut,
    RoleOut,
    Schedule,
    ScheduleOut,
    ShiftOut,
    TriageMode,
)
from app.rota.schedule import RotationKind, Shift, local_instant
from app.user.models import User, UserRef


def ref(user: User | None) -> UserRef | None:
    return UserRef(id=pk(user), name=user.name, email=user.email) if user else None


def _unknown(user_id: int) -> UserRef:
    return UserRef(id=user_id, name=f"user {user_id}", email="")


async def schedule_out(session: AsyncSession, schedule: Schedule) -> ScheduleOut:
    members = (await service.role_members(session, [pk(schedule)])).get(pk(schedule), {})
    duties = await service.list_duties(session, pk(schedule))
    users = await service.users_by_id(session, {u for ids in members.values() for u in ids})
    roles = [
        RoleOut(
            name=role,
            members=[ref(users.get(u)) or _unknown(u) for u in members.get(role, ())],
            duties=[
                DutyOut(id=pk(d), role=d.role, title=d.title) for d in duties if d.role == role
            ],
        )
        for role in schedule.roles
    ]
    return ScheduleOut(
        id=pk(schedule),
        name=schedule.name,
        kind=RotationKind(schedule.kind),
        zone=schedule.zone,
        anchor_date=schedule.anchor_date,
        handoff_time=schedule.handoff_time,
        handoff_weekday=schedule.handoff_weekday,
        shift_days=schedule.shift_days,
        holiday_country=schedule.holiday_country,
        holiday_subdivision=schedule.holiday_subdivision,
        holiday_dates=[date.fromisoformat(d) for d in schedule.holiday_dates],
        roles=roles,
        triage_mode=TriageMode(schedule.triage_mode),
        reminder_hours=schedule.reminder_hours,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
    )


async def shifts_out(session: AsyncSession, shifts: list[Shift]) -> list[ShiftOut]:
    users = await service.users_by_id(session, {s.user_id for s in shifts})
    return [shift_out(s, users) for s in shifts]


def shift_out(s: Shift, users: dict[int | None, User]) -> ShiftOut:
    return ShiftOut(
        uid=s.uid,
        role=s.role,
        index=s.index,
        start=s.start,
        end=s.end,
        user=ref(users.get(s.user_id)) or _unknown(s.user_id),
        override_id=s.override_id,
    )


async def on_call_out(session: AsyncSession, who: service.WhoIsOn) -> OnCallOut:
    shifts = [s for s in (*who.now.values(), *who.next.values()) if s is not None]
    users = await service.users_by_id(session, {s.user_id for s in shifts})
    return OnCallOut(
        at=who.at,
        roles={r: shift_out(s, users) if s else None for r, s in who.now.items()},
        next={r: shift_out(s, users) if s else None for r, s in who.next.items()},
    )


async def overrides_out(session: AsyncSession, overrides: list[Override]) -> list[OverrideOut]:
    users = await service.users_by_id(
        session,
        {
            i
            for o in overrides
            for i in (o.user_id, o.replaces_user_id, o.requested_by_id, o.agreed_by_id)
        },
    )
    return [
        OverrideOut(
            id=pk(o),
            role=o.role,
            start=o.start_at,
            end=o.end_at,
            user=ref(users.get(o.user_id)) or _unknown(o.user_id),
            replaces=ref(users.get(o.replaces_user_id)),
            requested_by=ref(users.get(o.requested_by_id)),
            agreed_by=ref(users.get(o.agreed_by_id)),
            swap_group=o.swap_group,
            reason=o.reason,
            created_at=o.created_at,
        )
        for o in overrides
    ]


async def handoffs_out(session: AsyncSession, handoffs: list[Handoff]) -> list[HandoffOut]:
    users = await service.users_by_id(
        session, {i for h in handoffs for i in (h.outgoing_id, h.incoming_id, h.acknowledged_by_id)}
    )
    return [
        HandoffOut(
            id=pk(h),
            schedule_id=h.schedule_id,
            role=h.role,
            shift_index=h.shift_index,
            shift_start=h.shift_start_at,
            shift_end=h.shift_end_at,
            outgoing=ref(users.get(h.outgoing_id)),
            incoming=ref(users.get(h.incoming_id)),
            report=h.report,
            notes=h.notes,
            went_well=h.went_well,
            could_be_better=h.could_be_better,
            to_remember=h.to_remember,
            created_at=h.created_at,
            acknowledged_at=h.acknowledged_at,
            acknowledged_by=ref(users.get(h.acknowledged_by_id)),
            reminders_sent=h.reminders_sent,
        )
        for h in handoffs
    ]


# --- the week or month grid of the /rota page (pure) ---


@dataclass
class Entry:
    role: str
    user_id: int
    start: datetime  # local
    end: datetime  # local
    override: bool
    whole_day: bool


@dataclass
class Day:
    day: date
    in_range: bool  # false for the padding days of a month view
    entries: list[Entry] = field(default_factory=list)


def window(view: str, anchor: date) -> tuple[date, int, date]:
    """(first day shown, number of days, first day of the period): weeks start on Monday."""
    if view == "month":
        first = anchor.replace(day=1)
        start = first - timedelta(days=first.weekday())
        nxt = (first + timedelta(days=32)).replace(day=1)
        end = nxt + timedelta(days=(7 - nxt.weekday()) % 7)
        return start, (end - start).days, first
    start = anchor - timedelta(days=anchor.weekday())
    return start, 7, start


def build_grid(
    shifts: list[Shift],
    zone: str,
    first: date,
    days: int,
    period: tuple[date, date] | None = None,
    roles: list[str] | None = None,
) -> list[list[Day]]:
    """Weeks of days; each day lists the shift pieces that touch it, clipped to the day."""
    tz = ZoneInfo(zone)
    out: list[Day] = []
    for i in range(days):
        d = first + timedelta(days=i)
        lo, hi = local_instant(d, time(), zone), local_instant(d + timedelta(days=1), time(), zone)
        entries = []
        for s in shifts:
            if s.end <= lo or s.start >= hi:
                continue
            a, b = max(s.start, lo), min(s.end, hi)
            entries.append(
                Entry(
                    s.role,
                    s.user_id,
                    a.astimezone(tz),
                    b.astimezone(tz),
                    s.override_id is not None,
                    a == lo and b == hi,
                )
            )
        order = {r: i for i, r in enumerate(roles or [])}
        entries.sort(key=lambda e: (order.get(e.role, len(order)), e.start))
        in_range = period is None or period[0] <= d < period[1]
        out.append(Day(d, in_range, entries))
    return [out[i : i + 7] for i in range(0, len(out), 7)]
