"""Rota arithmetic: who is on at instant t, and the shifts in a window. Pure, no I/O.

Boundaries are computed as *local* wall-clock times (handoff day and time in an IANA zone)
and only then converted to UTC, so a weekly handoff stays "Monday 09:00" across DST and a
shift simply lasts 167 or 169 hours that week. That is the bug users of other on-call tools
report most (grafana/oncall #3261, #558).

Three rotation kinds:
- weekly:   one shift per N=7 days, starting on the handoff weekday at the handoff time;
- custom:   one shift per N days (any N >= 1), starting on the anchor date;
- weekdays: one shift per working day (Mon-Fri, not a holiday), from the handoff time to the
            same time on the next calendar day; weekends and holidays have nobody on.
Holidays: in weekly/custom rotations a handoff that falls on a holiday moves to the next
non-holiday day (the outgoing person keeps the shift a little longer); in weekday rotations a
holiday has no shift and does not use up anyone's turn.

Overrides (covers and swaps) win over the base layout: `final_shifts` cuts the base shifts
at each override window and gives the window to the override's person; a later override wins
over an earlier one where they overlap.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from app.wallclock import wall_to_utc
from app.wallclock import zone as _zone


class RotationKind(StrEnum):
    weekly = "weekly"
    weekdays = "weekdays"
    custom = "custom"


@dataclass(frozen=True)
class Rotation:
    kind: RotationKind
    zone: str
    anchor: date  # the first shift starts on (or, for weekly, on the first handoff weekday from) this date
    handoff_time: time
    handoff_weekday: int = 0  # 0 = Monday; weekly only
    shift_days: int = 7  # custom only
    # Sorted dates (local to `zone`) on which no handoff happens: public holidays plus custom ones.
    holidays: tuple[date, ...] = ()

    @property
    def period_days(self) -> int:
        return (
            7
            if self.kind == RotationKind.weekly
            else 1
            if self.kind == RotationKind.weekdays
            else self.shift_days
        )

    @property
    def start_date(self) -> date:
        if self.kind == RotationKind.weekly:
            return self.anchor + timedelta(days=(self.handoff_weekday - self.anchor.weekday()) % 7)
        return self.anchor


@dataclass(frozen=True)
class Shift:
    role: str
    index: int  # the base shift's number in the rotation (0 = first); stable, used for ids and duty ticks
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    user_id: int
    override_id: int | None = None  # set when an override gave (this part of) the shift to user_id

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def uid(self) -> str:
        """Stable while the layout is unchanged, so calendar apps update rather than duplicate."""
        source = f"o{self.override_id}" if self.override_id else "b"
        return f"{self.role}-{self.index}-{source}-{int(self.start.timestamp())}"


@dataclass(frozen=True)
class OverrideWindow:
    id: int
    role: str
    start: datetime
    end: datetime
    user_id: int


@dataclass(frozen=True)
class Layout:
    """A schedule as plain values: its rotation and each role's ordered participants."""

    rotation: Rotation
    roles: dict[str, tuple[int, ...]] = field(default_factory=dict)


def local_instant(day: date, at: time, zone: str) -> datetime:
    """`day` at wall-clock `at` in `zone`, as UTC, by the rule the SLA calendar uses too
    (app.wallclock): a handoff at a time skipped by a spring-forward gap happens at the jump
    (02:30 becomes 03:00 summer time); a repeated one (autumn) means its first occurrence.
    """
    return wall_to_utc(day, at, zone)


def local_date(instant: datetime, zone: str) -> date:
    return instant.astimezone(_zone(zone)).date()


def _is_holiday(rotation: Rotation, day: date) -> bool:
    i = bisect.bisect_left(rotation.holidays, day)
    return i < len(rotation.holidays) and rotation.holidays[i] == day


def _holidays_between(rotation: Rotation, first: date, last: date) -> int:
    """How many holidays fall on weekdays in [first, last)."""
    lo = bisect.bisect_left(rotation.holidays, first)
    hi = bisect.bisect_left(rotation.holidays, last)
    return sum(1 for d in rotation.holidays[lo:hi] if d.weekday() < 5)


def _weekdays_between(first: date, last: date) -> int:
    """Mon-Fri days in [first, last), for first <= last, in O(1)."""
    days = (last - first).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    start = first.weekday()
    count += sum(1 for i in range(rest) if (start + i) % 7 < 5)
    return count


def _is_working_day(rotation: Rotation, day: date) -> bool:
    return day.weekday() < 5 and not _is_holiday(rotation, day)


# --- periodic rotations (weekly, custom) --------------------------------------------------


def _boundary(rotation: Rotation, k: int) -> datetime:
    """Start of shift k: the k-th handoff, moved past holidays."""
    day = rotation.start_date + timedelta(days=k * rotation.period_days)
    moved = 0
    while _is_holiday(rotation, day) and moved < rotation.period_days - 1:
        day += timedelta(
            days=1
        )  # hand over on the next non-holiday day, never past the next handoff
        moved += 1
    return local_instant(day, rotation.handoff_time, rotation.zone)


def _periodic_slot(rotation: Rotation, instant: datetime) -> tuple[int, datetime, datetime]:
    """(k, start, end) of the shift containing `instant` (k < 0: before the rotation starts)."""
    days = (local_date(instant, rotation.zone) - rotation.start_date).days
    k = days // rotation.period_days
    start, end = _boundary(rotation, k), _boundary(rotation, k + 1)
    # The local-date estimate can only be late (the handoff is later that day, or a holiday moved
    # it): boundary k+1 falls on a later local date than the instant, so `end` is always after it.
    while start > instant:
        k, end, start = k - 1, start, _boundary(rotation, k - 1)
    return k, start, end


def _periodic_index(rotation: Rotation, instant: datetime) -> int:
    return _periodic_slot(rotation, instant)[0]


# --- weekday rotations ------------------------------------------------------------------


def _working_index(rotation: Rotation, day: date) -> int:
    """How many working days from the rotation's start to `day` (exclusive)."""
    first = rotation.start_date
    if day >= first:
        return _weekdays_between(first, day) - _holidays_between(rotation, first, day)
    return -(_weekdays_between(day, first) - _holidays_between(rotation, day, first))


def _weekday_shift_for(
    rotation: Rotation, instant: datetime
) -> tuple[int, datetime, datetime] | None:
    """The weekday shift containing `instant`: (index, start, end), or None (weekend, holiday, night gap)."""
    today = local_date(instant, rotation.zone)
    for day in (today, today - timedelta(days=1)):  # a shift started yesterday may still run
        if not _is_working_day(rotation, day):
            continue
        start = local_instant(day, rotation.handoff_time, rotation.zone)
        end = local_instant(day + timedelta(days=1), rotation.handoff_time, rotation.zone)
        if start <= instant < end:
            return _working_index(rotation, day), start, end
    return None


# --- the base layout --------------------------------------------------------------------


def base_shifts(
    layout: Layout, start: datetime, end: datetime, roles: Iterable[str] | None = None
) -> list[Shift]:
    """Every base shift of the given roles overlapping [start, end), ordered by (start, role).

    Shifts are returned whole (they may begin before `start` or end after `end`).
    """
    rotation = layout.rotation
    wanted = [r for r in (roles if roles is not None else layout.roles) if layout.roles.get(r)]
    if not wanted or end <= start:
        return []
    slots: list[tuple[int, datetime, datetime]] = []
    if rotation.kind == RotationKind.weekdays:
        day = local_date(start, rotation.zone) - timedelta(days=1)
        last = local_date(end, rotation.zone)
        k = _working_index(rotation, day)
        while day <= last:
            if _is_working_day(rotation, day):
                s = local_instant(day, rotation.handoff_time, rotation.zone)
                e = local_instant(day + timedelta(days=1), rotation.handoff_time, rotation.zone)
                if s < end and e > start and k >= 0:
                    slots.append((k, s, e))
                k += 1
            day += timedelta(days=1)
    else:
        k = max(_periodic_index(rotation, start), 0)
        s = _boundary(rotation, k)
        while s < end:
            e = _boundary(rotation, k + 1)
            if e > start:
                slots.append((k, s, e))
            k, s = k + 1, e
    out = [
        Shift(
            role=role,
            index=k,
            start=s,
            end=e,
            user_id=layout.roles[role][k % len(layout.roles[role])],
        )
        for k, s, e in slots
        for role in wanted
    ]
    return out


def base_on_call(layout: Layout, role: str, instant: datetime) -> Shift | None:
    """The base shift of `role` at `instant`, in O(1) for any date (no iteration from the start)."""
    members = layout.roles.get(role)
    if not members:
        return None
    rotation = layout.rotation
    if rotation.kind == RotationKind.weekdays:
        found = _weekday_shift_for(rotation, instant)
        if found is None or found[0] < 0:
            return None
        k, s, e = found
    else:
        k, s, e = _periodic_slot(rotation, instant)
        if k < 0:
            return None
    return Shift(role=role, index=k, start=s, end=e, user_id=members[k % len(members)])


# --- overrides ----------------------------------------------------------------------------


def final_shifts(base: Sequence[Shift], overrides: Sequence[OverrideWindow]) -> list[Shift]:
    """The layout after overrides: base shifts cut at override windows, the windows given away.

    Overrides apply in the given order (callers pass them oldest first), so a later one wins
    where two overlap. An override only covers time inside base shifts of its role: it moves
    a duty from one person to another, it does not create duty where the rota has none.
    """
    # Per role: (start, order, override) sorted by start, so each shift only looks at the
    # overrides that begin before it ends (a year of shifts x hundreds of overrides stays fast).
    by_role: dict[str, list[tuple[datetime, int, OverrideWindow]]] = {}
    for order, o in enumerate(overrides):
        if o.end > o.start:
            by_role.setdefault(o.role, []).append((o.start, order, o))
    starts: dict[str, list[datetime]] = {}
    for role, items in by_role.items():
        items.sort(key=lambda t: (t[0], t[1]))
        starts[role] = [t[0] for t in items]
    out: list[Shift] = []
    for shift in base:
        items = by_role.get(shift.role, [])
        if not items:
            out.append(shift)
            continue
        upto = bisect.bisect_left(starts[shift.role], shift.end)
        hits = sorted((t for t in items[:upto] if t[2].end > shift.start), key=lambda t: t[1])
        pieces = [shift]
        for _start, _order, o in hits:
            next_pieces: list[Shift] = []
            for p in pieces:
                if o.end <= p.start or o.start >= p.end:
                    next_pieces.append(p)
                    continue
                if p.start < o.start:
                    next_pieces.append(replace(p, end=o.start))
                next_pieces.append(
                    replace(
                        p,
                        start=max(p.start, o.start),
                        end=min(p.end, o.end),
                        user_id=o.user_id,
                        override_id=o.id,
                    )
                )
                if o.end < p.end:
                    next_pieces.append(replace(p, start=o.end))
            pieces = next_pieces
        out.extend(pieces)
    out.sort(key=lambda s: (s.start, s.role))
    return out


def shifts_between(
    layout: Layout,
    overrides: Sequence[OverrideWindow],
    start: datetime,
    end: datetime,
    roles: Iterable[str] | None = None,
) -> list[Shift]:
    """The final shifts overlapping [start, end)."""
    return [
        s
        for s in final_shifts(base_shifts(layout, start, end, roles), overrides)
        if s.end > start and s.start < end
    ]


def on_call(
    layout: Layout, overrides: Sequence[OverrideWindow], role: str, instant: datetime
) -> Shift | None:
    """The final shift of `role` at `instant` (an override's piece when one covers it)."""
    shift = base_on_call(layout, role, instant)
    if shift is None:
        return None
    if not overrides:
        return shift
    for piece in final_shifts([shift], overrides):
        if piece.start <= instant < piece.end:
            return piece
    return None  # pragma: no cover - the pieces tile the base shift


@dataclass(frozen=True)
class Fairness:
    user_id: int
    shifts: int
    hours: float


def fairness(shifts: Iterable[Shift], start: datetime, end: datetime) -> list[Fairness]:
    """Shifts and on-call hours per person inside [start, end) (shifts clipped to the window)."""
    totals: dict[int, list[float]] = {}
    for s in shifts:
        lo, hi = max(s.start, start), min(s.end, end)
        if hi <= lo:
            continue
        t = totals.setdefault(s.user_id, [0, 0.0])
        t[0] += 1
        t[1] += (hi - lo).total_seconds() / 3600
    return [
        Fairness(user_id=u, shifts=int(n), hours=round(h, 2))
        for u, (n, h) in sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[0]))
    ]


def approx_index_date(rotation: Rotation, index: int) -> date:
    """Roughly when base shift `index` happens (to know which years of holidays to load)."""
    # Integer arithmetic: 7 / (7 / 3) in floats is 2.999..., which put shift 10 of a 3-day rota a day early.
    days = (
        index * 7 // 5 if rotation.kind == RotationKind.weekdays else index * rotation.period_days
    )
    return rotation.start_date + timedelta(days=days)


def base_shift_by_index(layout: Layout, role: str, index: int) -> Shift | None:
    """Base shift number `index` of `role` (None when the role is empty or index < 0)."""
    members = layout.roles.get(role)
    if not members or index < 0:
        return None
    rotation = layout.rotation
    if rotation.kind != RotationKind.weekdays:
        return Shift(
            role=role,
            index=index,
            start=_boundary(rotation, index),
            end=_boundary(rotation, index + 1),
            user_id=members[index % len(members)],
        )
    day = approx_index_date(rotation, index)
    # Settle on the working day whose index is exactly `index`.
    while _working_index(rotation, day) > index:
        day -= timedelta(days=1)
    while _working_index(rotation, day) < index or not _is_working_day(rotation, day):
        day += timedelta(days=1)
    start = local_instant(day, rotation.handoff_time, rotation.zone)
    end = local_instant(day + timedelta(days=1), rotation.handoff_time, rotation.zone)
    return Shift(
        role=role, index=index, start=start, end=end, user_id=members[index % len(members)]
    )
