"""Rota use cases: schedules, overrides and swaps, who is on, the final shifts, fairness, duties.

Every public writer is one use case and commits once. The arithmetic lives in schedule.py;
this module loads a schedule into plain values, calls it, and writes what changed.
"""

import uuid
from bisect import bisect_right
from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

from sqlalchemy import delete, func, inspect
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import record_event
from app.cache import cached
from app.db import keep_loaded, pk, transaction, utcnow
from app.errors import InvalidInput, NotFound
from app.rota.holidays import check_calendar, skipped_dates
from app.rota.models import (
    Duty,
    DutyTick,
    Member,
    Override,
    OverrideIn,
    Schedule,
    ScheduleIn,
    SwapIn,
)
from app.rota.schedule import (
    Fairness,
    Layout,
    OverrideWindow,
    Rotation,
    RotationKind,
    Shift,
    approx_index_date,
    base_shift_by_index,
    fairness,
    on_call,
    shifts_between,
)
from app.user.models import User

MAX_WINDOW = timedelta(days=430)  # /shifts and feeds: a year ahead and two months back at most


# --- reading ----------------------------------------------------------------------------------


async def get_schedule(session: AsyncSession, schedule_id: int) -> Schedule | None:
    return await session.get(Schedule, schedule_id)


async def find_schedule(session: AsyncSession, schedule_id: int) -> Schedule:
    """The schedule, or NotFound: one lookup rule for the API and the pages."""
    schedule = await get_schedule(session, schedule_id)
    if schedule is None:
        raise NotFound(f"schedule {schedule_id} does not exist")
    return schedule


async def list_schedules(session: AsyncSession) -> list[Schedule]:
    return list(
        (await session.exec(select(Schedule).order_by(col(Schedule.name), col(Schedule.id)))).all()
    )


async def role_members(
    session: AsyncSession, schedule_ids: list[int]
) -> dict[int, dict[str, tuple[int, ...]]]:
    """schedule id -> role -> user ids in rotation order."""
    out: dict[int, dict[str, list[int]]] = {sid: {} for sid in schedule_ids}
    if not schedule_ids:
        return {}
    stmt = (
        select(Member.schedule_id, Member.role, Member.user_id)
        .where(col(Member.schedule_id).in_(schedule_ids))
        .order_by(col(Member.position))
    )
    for sid, role, uid in (await session.exec(stmt)).all():
        out[sid].setdefault(role, []).append(uid)
    return {sid: {r: tuple(u) for r, u in roles.items()} for sid, roles in out.items()}


async def list_duties(session: AsyncSession, schedule_id: int) -> list[Duty]:
    stmt = (
        select(Duty)
        .where(Duty.schedule_id == schedule_id)
        .order_by(col(Duty.role), col(Duty.position))
    )
    return list((await session.exec(stmt)).all())


async def users_by_id(session: AsyncSession, ids: Set[int | None]) -> dict[int | None, User]:
    """Keyed `int | None` so a nullable foreign key is looked up as it is (None never matches)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = (await session.exec(select(User).where(col(User.id).in_(wanted)))).all()
    keep_loaded(session, *rows)
    return {pk(u): u for u in rows}


def _time(value: str) -> time:
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def rotation_of(schedule: Schedule, first_year: int, last_year: int) -> Rotation:
    extra = [date.fromisoformat(d) for d in schedule.holiday_dates]
    return Rotation(
        kind=RotationKind(schedule.kind),
        zone=schedule.zone,
        anchor=schedule.anchor_date,
        handoff_time=_time(schedule.handoff_time),
        handoff_weekday=schedule.handoff_weekday,
        shift_days=schedule.shift_days,
        # A year either side: a handoff moved past New Year, a window read in another zone.
        holidays=skipped_dates(
            schedule.holiday_country,
            schedule.holiday_subdivision,
            extra,
            first_year - 1,
            last_year + 1,
        ),
    )


@dataclass(frozen=True)
class Loaded:
    """A schedule as the pure rules see it, for one window of time."""

    schedule: Schedule
    layout: Layout
    overrides: list[OverrideWindow]

    @property
    def roles(self) -> list[str]:
        return [r for r in self.schedule.roles if r in self.layout.roles]


# A schedule's members and holidays change only with its version, so its plain-value layout
# (the holiday arithmetic is the costly part) is kept per (id, version, created_at, years).
_LAYOUTS: dict[tuple[object, ...], Layout] = {}


async def layout_for(
    session: AsyncSession,
    schedule: Schedule,
    first_year: int,
    last_year: int,
    *,
    members: dict[str, tuple[int, ...]] | None = None,
) -> Layout:
    """The schedule's layout; `members` (from the rota snapshot) spares the members query."""
    key = (schedule.id, schedule.version, schedule.created_at, first_year, last_year)
    layout = _LAYOUTS.get(key)
    if layout is None:
        if members is None:
            members = (await role_members(session, [pk(schedule)])).get(pk(schedule), {})
        layout = Layout(rotation=rotation_of(schedule, first_year, last_year), roles=members)
        if len(_LAYOUTS) > 1024:
            _LAYOUTS.clear()
        _LAYOUTS[key] = layout
    return layout


async def load(session: AsyncSession, schedule: Schedule, start: datetime, end: datetime) -> Loaded:
    """The layout and the overrides touching [start, end)."""
    snapshot = await rota_snapshot(session)
    if start >= snapshot.since and snapshot.has(schedule):
        overrides = [
            w for w in snapshot.by_schedule.get(pk(schedule), ()) if w.end > start and w.start < end
        ]
        layout = await layout_for(
            session, schedule, start.year, end.year, members=snapshot.members.get(pk(schedule), {})
        )
        return Loaded(schedule, layout, overrides)
    stmt = (
        select(Override)
        .where(
            Override.schedule_id == schedule.id,
            col(Override.end_at) > start,
            col(Override.start_at) < end,
        )
        .order_by(col(Override.id))
    )
    rows = (await session.exec(stmt)).all()
    overrides = [
        OverrideWindow(id=pk(o), role=o.role, start=o.start_at, end=o.end_at, user_id=o.user_id)
        for o in rows
    ]
    return Loaded(schedule, await layout_for(session, schedule, start.year, end.year), overrides)


def check_window(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput(
            "from and to need a UTC offset, e.g. 2026-03-01T00:00:00Z", code="naive_datetime"
        )
    if end <= start:
        raise InvalidInput("to must be after from", code="bad_window")
    if end - start > MAX_WINDOW:
        raise InvalidInput(
            f"ask for at most {MAX_WINDOW.days} days at a time", code="window_too_long"
        )


async def final_shifts(
    session: AsyncSession,
    schedule: Schedule,
    start: datetime,
    end: datetime,
    *,
    role: str | None = None,
    user_id: int | None = None,
) -> list[Shift]:
    """The final layout (base rotation, holidays skipped, overrides applied) overlapping [start, end)."""
    check_window(start, end)
    if role is not None and role not in schedule.roles:
        raise InvalidInput(
            f"this schedule has no role {role!r}; it has {', '.join(schedule.roles)}",
            code="unknown_role",
        )
    # Overrides reaching into the window from shifts that start before it still matter.
    loaded = await load(
        session, schedule, start - timedelta(days=schedule.shift_days + 8), end + timedelta(days=8)
    )
    shifts = shifts_between(
        loaded.layout, loaded.overrides, start, end, [role] if role else loaded.roles
    )
    return [s for s in shifts if user_id is None or s.user_id == user_id]


@dataclass(frozen=True)
class WhoIsOn:
    at: datetime
    now: dict[str, Shift | None]
    next: dict[str, Shift | None]


async def who_is_on(session: AsyncSession, schedule: Schedule, at: datetime) -> WhoIsOn:
    """Each role's final shift at `at`, and the shift after it (a different person's turn)."""
    horizon = timedelta(days=max(schedule.shift_days, 7) * 2 + 8)
    loaded = await load(session, schedule, at - timedelta(days=1), at + horizon)
    now: dict[str, Shift | None] = {}
    nxt: dict[str, Shift | None] = {}
    for role in loaded.roles:
        current = on_call(loaded.layout, loaded.overrides, role, at)
        now[role] = current
        nxt[role] = None
        upcoming = shifts_between(loaded.layout, loaded.overrides, at, at + horizon, [role])
        for s in upcoming:
            if s.start > at and (current is None or s.user_id != current.user_id):
                nxt[role] = s
                break
    return WhoIsOn(at=at, now=now, next=nxt)


# --- who is on call, from memory ----------------------------------------------------------

# Escalation and triage ask "who is on call" on every alert and every new ticket, and the
# target is 1 ms (issue 5) while one SQLite round trip alone costs about that. So each process
# keeps the schedules, their members and the recent overrides (app/cache.py: dropped when this
# process writes any of them, and at least every second for writes made elsewhere).
SNAPSHOT_BACK = timedelta(days=400)  # older instants are looked up in the database


@dataclass(frozen=True)
class RotaSnapshot:
    since: datetime
    schedules: tuple[Schedule, ...]  # detached copies in id order: never add them to a session
    members: dict[int, dict[str, tuple[int, ...]]]
    # (schedule id, role) -> overrides ending after `since`, by start, with their starts for bisect
    overrides: dict[tuple[int, str], tuple[tuple[datetime, ...], tuple[OverrideWindow, ...]]]

    @cached_property
    def by_schedule(self) -> dict[int, list[OverrideWindow]]:
        """Each schedule's overrides in id order (the order `load` reads them in)."""
        out: dict[int, list[OverrideWindow]] = {}
        for (sid, _role), (_starts, windows) in self.overrides.items():
            out.setdefault(sid, []).extend(windows)
        return {sid: sorted(ws, key=lambda w: w.id) for sid, ws in out.items()}

    def has(self, schedule: Schedule) -> bool:
        """True when the snapshot holds this very version of the schedule (members included)."""
        return any(s.id == schedule.id and s.version == schedule.version for s in self.schedules)

    def covering(self, schedule_id: int, role: str, at: datetime) -> list[OverrideWindow]:
        starts, windows = self.overrides.get((schedule_id, role), ((), ()))
        return [w for w in windows[: bisect_right(starts, at)] if w.end > at]


async def _load_snapshot(session: AsyncSession) -> RotaSnapshot:
    since = utcnow() - SNAPSHOT_BACK
    # Columns, not entities: rows in this session's identity map may be stale, and the snapshot
    # is shared by every session of the process.
    rows = (
        await session.exec(
            select(*inspect(Schedule).local_table.columns).order_by(col(Schedule.id))
        )
    ).all()
    schedules = tuple(Schedule(**row._mapping) for row in rows)
    members = await role_members(session, [pk(s) for s in schedules])
    # sqlmodel's select() has typed overloads for up to four columns only.
    stmt = (
        select(
            Override.id,
            Override.schedule_id,
            Override.role,
            Override.start_at,
            Override.end_at,  # type: ignore[call-overload]
            Override.user_id,
        )
        .where(col(Override.end_at) > since)
        .order_by(
            col(Override.schedule_id), col(Override.role), col(Override.start_at), col(Override.id)
        )
    )
    grouped: dict[tuple[int, str], list[OverrideWindow]] = {}
    for oid, sid, role, start, end, uid in (await session.exec(stmt)).all():
        grouped.setdefault((sid, role), []).append(
            OverrideWindow(id=oid, role=role, start=start, end=end, user_id=uid)
        )
    overrides = {key: (tuple(w.start for w in ws), tuple(ws)) for key, ws in grouped.items()}
    return RotaSnapshot(since=since, schedules=schedules, members=members, overrides=overrides)


async def rota_snapshot(session: AsyncSession) -> RotaSnapshot:
    return await cached(session, "rota", "snapshot", _load_snapshot)


async def on_call_ids(
    session: AsyncSession, role: str, at: datetime, *, schedule_id: int | None = None
) -> list[int]:
    """User ids holding `role` at `at` across schedules (or in one), in schedule order."""
    snapshot = await rota_snapshot(session)
    found: list[int] = []
    for schedule in snapshot.schedules:
        if (schedule_id is not None and schedule.id != schedule_id) or role not in schedule.roles:
            continue
        if at >= snapshot.since:
            layout = await layout_for(
                session, schedule, at.year, at.year, members=snapshot.members.get(pk(schedule), {})
            )
            covering = snapshot.covering(pk(schedule), role, at)
        else:  # older than the snapshot keeps: the overrides come from the database
            loaded = await load(session, schedule, at, at + timedelta(microseconds=1))
            layout, covering = loaded.layout, [w for w in loaded.overrides if w.role == role]
        shift = on_call(layout, covering, role, at)
        if shift is not None and shift.user_id not in found:
            found.append(shift.user_id)
    return found


async def fairness_summary(
    session: AsyncSession,
    schedule: Schedule,
    start: datetime,
    end: datetime,
    role: str | None = None,
) -> list[Fairness]:
    return fairness(await final_shifts(session, schedule, start, end, role=role), start, end)


# --- writing schedules ---------------------------------------------------------------------


async def check_staff(session: AsyncSession, ids: set[int], what: str) -> None:
    if not ids:
        return
    found = {
        u.id
        for u in (await session.exec(select(User).where(col(User.id).in_(ids)))).all()
        if u.staff_role and u.is_active
    }
    missing = sorted(ids - found)
    if missing:
        raise InvalidInput(
            f"{what}: no active staff member with id {', '.join(map(str, missing))}",
            code="unknown_user",
        )


async def _validate(session: AsyncSession, data: ScheduleIn) -> None:
    check_calendar(data.holiday_country, data.holiday_subdivision)
    await check_staff(session, {u for r in data.roles for u in r.members}, "members")


def _apply(schedule: Schedule, data: ScheduleIn) -> None:
    schedule.name = data.name.strip()
    schedule.kind = data.kind.value
    schedule.zone = data.zone
    schedule.anchor_date = data.anchor_date
    schedule.handoff_time = data.handoff_time.strftime("%H:%M")
    schedule.handoff_weekday = data.handoff_weekday
    schedule.shift_days = (
        data.shift_days
        if data.kind == RotationKind.custom
        else (7 if data.kind == RotationKind.weekly else 1)
    )
    schedule.holiday_country = (data.holiday_country or "").upper() or None
    schedule.holiday_subdivision = (data.holiday_subdivision or "").upper() or None
    schedule.holiday_dates = sorted({d.isoformat() for d in data.holiday_dates})
    schedule.roles = [r.name for r in data.roles]
    schedule.triage_mode = data.triage_mode.value
    schedule.reminder_hours = data.reminder_hours


def _add_roles(session: AsyncSession, schedule: Schedule, data: ScheduleIn) -> None:
    for role in data.roles:
        for position, user_id in enumerate(role.members):
            session.add(
                Member(schedule_id=pk(schedule), role=role.name, position=position, user_id=user_id)
            )
        for position, title in enumerate(role.duties):
            session.add(
                Duty(schedule_id=pk(schedule), role=role.name, title=title, position=position)
            )


async def create_schedule(
    session: AsyncSession, data: ScheduleIn, *, actor_id: int | None
) -> Schedule:
    if data.holiday_country is not None:
        data.holiday_country = data.holiday_country.upper()
    await _validate(session, data)
    async with transaction(session):
        schedule = Schedule(zone=data.zone, anchor_date=data.anchor_date, name=data.name)
        _apply(schedule, data)
        session.add(schedule)
        await session.flush()
        _add_roles(session, schedule, data)
        record_event(
            session,
            "schedule.created",
            subject_type="schedule",
            subject_id=pk(schedule),
            actor_id=actor_id,
            data={"name": schedule.name, "kind": schedule.kind, "roles": schedule.roles},
        )
    return schedule


async def replace_schedule(
    session: AsyncSession, schedule: Schedule, data: ScheduleIn, *, actor_id: int | None
) -> Schedule:
    """Replace the definition. Duties keep their ticks when the role and title stay the same."""
    await _validate(session, data)
    async with transaction(session):
        _apply(schedule, data)
        schedule.updated_at = utcnow()
        schedule.version += 1
        session.add(schedule)
        await session.exec(delete(Member).where(col(Member.schedule_id) == schedule.id))
        kept = {(d.role, d.title): d for d in await list_duties(session, pk(schedule))}
        wanted = {(r.name, t): i for r in data.roles for i, t in enumerate(r.duties)}
        for key, duty in kept.items():
            if key not in wanted:
                await session.delete(duty)
            else:
                duty.position = wanted[key]
                session.add(duty)
        for role in data.roles:
            for position, user_id in enumerate(role.members):
                session.add(
                    Member(
                        schedule_id=pk(schedule), role=role.name, position=position, user_id=user_id
                    )
                )
            for position, title in enumerate(role.duties):
                if (role.name, title) not in kept:
                    session.add(
                        Duty(
                            schedule_id=pk(schedule), role=role.name, title=title, position=position
                        )
                    )
        record_event(
            session,
            "schedule.updated",
            subject_type="schedule",
            subject_id=pk(schedule),
            actor_id=actor_id,
            data={"name": schedule.name, "kind": schedule.kind, "roles": schedule.roles},
        )
    return schedule


async def delete_schedule(
    session: AsyncSession, schedule: Schedule, *, actor_id: int | None
) -> None:
    async with transaction(session):
        record_event(
            session,
            "schedule.deleted",
            subject_type="schedule",
            subject_id=pk(schedule),
            actor_id=actor_id,
            data={"name": schedule.name},
        )
        await session.delete(schedule)


# --- overrides and swaps ---------------------------------------------------------------------


def _role_or_default(schedule: Schedule, role: str | None) -> str:
    role = role or schedule.roles[0]
    if role not in schedule.roles:
        raise InvalidInput(
            f"this schedule has no role {role!r}; it has {', '.join(schedule.roles)}",
            code="unknown_role",
        )
    return role


async def list_overrides(
    session: AsyncSession, schedule: Schedule, *, since: datetime | None = None
) -> list[Override]:
    stmt = select(Override).where(Override.schedule_id == schedule.id)
    if since is not None:
        stmt = stmt.where(col(Override.end_at) > since)
    return list((await session.exec(stmt.order_by(col(Override.start_at), col(Override.id)))).all())


async def add_override(
    session: AsyncSession, schedule: Schedule, data: OverrideIn, *, actor_id: int | None
) -> Override:
    """One person covers [start, end) of a role for whoever the rota had there."""
    role = _role_or_default(schedule, data.role)
    requested_by = data.requested_by_id if data.requested_by_id is not None else actor_id
    await check_staff(session, {data.user_id}, "user_id")
    await check_staff(
        session,
        {i for i in (data.replaces_user_id, requested_by, data.agreed_by_id) if i},
        "people",
    )
    async with transaction(session):
        override = Override(
            schedule_id=pk(schedule),
            role=role,
            start_at=data.start.astimezone(UTC),
            end_at=data.end.astimezone(UTC),
            user_id=data.user_id,
            replaces_user_id=data.replaces_user_id,
            requested_by_id=requested_by,
            agreed_by_id=data.agreed_by_id,
            reason=data.reason.strip(),
            created_by_id=actor_id,
        )
        session.add(override)
        await session.flush()
        record_event(
            session,
            "override.created",
            subject_type="schedule",
            subject_id=pk(schedule),
            actor_id=actor_id,
            data={
                "override_id": override.id,
                "role": role,
                "user_id": data.user_id,
                "start": override.start_at,
                "end": override.end_at,
            },
        )
    return override


async def swap_shifts(
    session: AsyncSession, schedule: Schedule, data: SwapIn, *, actor_id: int | None
) -> list[Override]:
    """Two people trade two base shifts: two overrides made together, sharing a swap group."""
    role = _role_or_default(schedule, data.role)
    if data.first_shift_index == data.second_shift_index:
        raise InvalidInput("a swap needs two different shifts", code="bad_swap")
    members = (await role_members(session, [pk(schedule)]))[pk(schedule)].get(role, ())
    shifts = []
    for index in (data.first_shift_index, data.second_shift_index):
        rough = approx_index_date(rotation_of(schedule, 2000, 2000), index)
        layout = Layout(
            rotation=rotation_of(schedule, rough.year, rough.year), roles={role: members}
        )
        shift = base_shift_by_index(layout, role, index)
        if shift is None:
            raise InvalidInput(f"no shift {index} in this rotation", code="bad_swap")
        shifts.append(shift)
    a, b = shifts
    if a.user_id == b.user_id:
        raise InvalidInput(
            "both shifts belong to the same person; nothing to swap", code="bad_swap"
        )
    if data.agreed_by_id is not None:
        await check_staff(session, {data.agreed_by_id}, "agreed_by_id")
    group = uuid.uuid4().hex[:12]
    made = []
    async with transaction(session):
        for shift, cover in ((a, b.user_id), (b, a.user_id)):
            override = Override(
                schedule_id=pk(schedule),
                role=role,
                start_at=shift.start,
                end_at=shift.end,
                user_id=cover,
                replaces_user_id=shift.user_id,
                requested_by_id=actor_id,
                agreed_by_id=data.agreed_by_id,
                swap_group=group,
                reason=data.reason.strip(),
                created_by_id=actor_id,
            )
            session.add(override)
            made.append(override)
        await session.flush()
        record_event(
            session,
            "override.swapped",
            subject_type="schedule",
            subject_id=pk(schedule),
            actor_id=actor_id,
            data={
                "swap_group": group,
                "role": role,
                "shifts": [a.index, b.index],
                "override_ids": [o.id for o in made],
            },
        )
    return made


async def delete_override(
    session: AsyncSession, schedule: Schedule, override_id: int, *, actor_id: int | None
) -> None:
    override = await session.get(Override, override_id)
    if override is None or override.schedule_id != schedule.id:
        raise NotFound(f"override {override_id} does not exist in this schedule")
    async with transaction(session):
        record_event(
            session,
            "override.deleted",
            subject_type="schedule",
            subject_id=schedule.id,
            actor_id=actor_id,
            data={"override_id": override.id, "user_id": override.user_id},
        )
        await session.delete(override)


# --- duties -------------------------------------------------------------------------------------


async def ticks_for(
    session: AsyncSession, schedule_id: int, shift_indexes: list[int]
) -> dict[tuple[int, int], DutyTick]:
    """(duty id, shift index) -> tick."""
    if not shift_indexes:
        return {}
    stmt = (
        select(DutyTick)
        .join(Duty, col(Duty.id) == DutyTick.duty_id)
        .where(Duty.schedule_id == schedule_id, col(DutyTick.shift_index).in_(shift_indexes))
    )
    return {(t.duty_id, t.shift_index): t for t in (await session.exec(stmt)).all()}


async def tick_duty(
    session: AsyncSession,
    schedule: Schedule,
    duty_id: int,
    shift_index: int,
    ticked: bool,
    *,
    actor_id: int | None,
) -> bool:
    """Tick (or untick) a duty for one shift; idempotent. Returns whether it is ticked now."""
    duty = await session.get(Duty, duty_id)
    if duty is None or duty.schedule_id != schedule.id:
        raise NotFound(f"duty {duty_id} does not exist in this schedule")
    async with transaction(session):
        existing = (
            await session.exec(
                select(DutyTick).where(
                    DutyTick.duty_id == duty_id, DutyTick.shift_index == shift_index
                )
            )
        ).first()
        if ticked and existing is None:
            session.add(DutyTick(duty_id=duty_id, shift_index=shift_index, ticked_by_id=actor_id))
        elif not ticked and existing is not None:
            await session.delete(existing)
        else:
            return ticked
        record_event(
            session,
            "duty.ticked" if ticked else "duty.unticked",
            subject_type="schedule",
            subject_id=schedule.id,
            actor_id=actor_id,
            data={"duty_id": duty_id, "title": duty.title, "shift_index": shift_index},
        )
    return ticked


async def count_schedules(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Schedule))).one()
