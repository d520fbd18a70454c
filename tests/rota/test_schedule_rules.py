"""The pure rota arithmetic: DST in several zones, holidays, weekday rotas, overrides."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rota.holidays import skipped_dates
from app.rota.schedule import (
    Layout,
    OverrideWindow,
    Rotation,
    RotationKind,
    base_shift_by_index,
    base_shifts,
    fairness,
    final_shifts,
    on_call,
    shifts_between,
)
from tests.properties import examples

A, B, C = 1, 2, 3
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
    "UTC",
]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(
    zone: str, at: time = time(9), weekday: int = 0, members=(A, B, C), holidays=()
) -> Layout:
    return Layout(
        Rotation(
            RotationKind.weekly,
            zone,
            date(2025, 1, 1),
            at,
            handoff_weekday=weekday,
            holidays=tuple(sorted(holidays)),
        ),
        {"triager": tuple(members)},
    )


def assert_tiles(shifts, start, end):
    """No gaps, no overlaps: each shift ends where the next begins, and they cover [start, end)."""
    assert shifts[0].start <= start and shifts[-1].end >= end
    for a, b in pairwise(shifts):
        assert a.end == b.start, (a, b)
        assert a.start < a.end


@pytest.mark.parametrize("zone", ZONES)
def test_weekly_handoffs_stay_at_local_time_across_dst(zone):
    layout = weekly(zone, time(9), weekday=0)
    start, end = utc(2026, 1, 1), utc(2027, 1, 1)
    shifts = base_shifts(layout, start, end)
    assert_tiles(shifts, start, end)
    tz = ZoneInfo(zone)
    for s in shifts:
        local = s.start.astimezone(tz)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0), local
    lengths = {s.hours for s in shifts}
    # A week is 168 h, except the weeks a DST change falls in (Lord Howe moves by 30 minutes).
    assert lengths <= {168, 167, 169, 167.5, 168.5}
    if zone in ("UTC", "Asia/Kolkata"):
        assert lengths == {168}
    else:
        assert len(lengths) == 3


def test_berlin_spring_forward_week_is_167_hours_and_autumn_169():
    shifts = {
        s.start.date(): s
        for s in base_shifts(weekly("Europe/Berlin"), utc(2026, 3, 20), utc(2026, 11, 1))
    }
    # DST starts Sunday 29 March 2026, ends Sunday 25 October 2026.
    assert shifts[date(2026, 3, 23)].hours == 167
    assert shifts[date(2026, 3, 23)].end == utc(2026, 3, 30, 7)  # 09:00 CEST
    assert shifts[date(2026, 10, 19)].hours == 169
    assert shifts[date(2026, 10, 19)].end == utc(2026, 10, 26, 8)  # 09:00 CET


def test_a_handoff_inside_the_spring_gap_happens_at_the_jump_not_lost():
    # New York skips 02:00-03:00 on Sunday 8 March 2026; a Sunday 02:30 handoff happens at the jump,
    # 03:00 EDT, as an SLA period starting at 02:30 does (app.wallclock).
    layout = weekly("America/New_York", time(2, 30), weekday=6)
    shifts = base_shifts(layout, utc(2026, 3, 1), utc(2026, 3, 22))
    assert_tiles(shifts, utc(2026, 3, 1), utc(2026, 3, 22))
    gap_day = next(s for s in shifts if s.start.date() == date(2026, 3, 8))
    assert gap_day.start == utc(2026, 3, 8, 7)  # 03:00 EDT
    # An ambiguous autumn time (01:30 on 1 Nov 2026 happens twice) means the first occurrence.
    autumn = base_shifts(
        weekly("America/New_York", time(1, 30), weekday=6), utc(2026, 10, 30), utc(2026, 11, 3)
    )
    assert utc(2026, 11, 1, 5, 30) in {s.start for s in autumn}  # 01:30 EDT


@pytest.mark.parametrize("zone", ["Europe/London", "America/Chicago", "Australia/Adelaide"])
def test_custom_three_day_rotation_tiles_and_rotates(zone):
    layout = Layout(
        Rotation(RotationKind.custom, zone, date(2026, 3, 1), time(18), shift_days=3),
        {"triager": (A, B)},
    )
    start, end = utc(2026, 3, 2), utc(2026, 12, 1)
    shifts = base_shifts(layout, start, end)
    assert_tiles(shifts, start, end)
    assert [s.user_id for s in shifts[:4]] == [A, B, A, B]
    assert all(s.start.astimezone(ZoneInfo(zone)).time() == time(18) for s in shifts)


def test_weekday_rota_skips_weekends_and_holidays_without_using_a_turn():
    # Monday 4 May 2026 is a UK bank holiday (Early May).
    hols = skipped_dates("GB", "ENG", [], 2026, 2026)
    assert date(2026, 5, 4) in hols
    layout = Layout(
        Rotation(RotationKind.weekdays, "Europe/London", date(2026, 4, 27), time(9), holidays=hols),
        {"triager": (A, B, C)},
    )
    shifts = base_shifts(layout, utc(2026, 4, 27), utc(2026, 5, 9))
    days = [(s.start.astimezone(ZoneInfo("Europe/London")).date(), s.user_id) for s in shifts]
    assert days == [
        (date(2026, 4, 27), A),
        (date(2026, 4, 28), B),
        (date(2026, 4, 29), C),
        (date(2026, 4, 30), A),
        (date(2026, 5, 1), B),
        # weekend and the bank holiday Monday: nobody; the turn is not used up
        (date(2026, 5, 5), C),
        (date(2026, 5, 6), A),
        (date(2026, 5, 7), B),
        (date(2026, 5, 8), C),
    ]
    assert all(s.hours == 24 for s in shifts)
    assert on_call(layout, [], "triager", utc(2026, 5, 4, 12)) is None  # bank holiday
    assert on_call(layout, [], "triager", utc(2026, 5, 2, 12)) is None  # Saturday
    # Friday's shift runs until Saturday 09:00, then nobody.
    assert on_call(layout, [], "triager", utc(2026, 5, 2, 7, 59)).user_id == B


def test_weekly_handoff_on_a_holiday_moves_to_the_next_day():
    layout = weekly("Europe/Berlin", holidays=[date(2026, 4, 6)])  # Easter Monday
    shifts = {s.index: s for s in base_shifts(layout, utc(2026, 3, 30), utc(2026, 4, 20))}
    moved = [s for s in shifts.values() if s.end.date() == date(2026, 4, 7)]
    assert moved and moved[0].end == utc(2026, 4, 7, 7)  # Tuesday 09:00 CEST
    assert moved[0].hours == 168 + 24


def test_overrides_win_and_later_overrides_win_over_earlier_ones():
    layout = Layout(
        Rotation(RotationKind.weekly, "UTC", date(2026, 1, 5), time(9)), {"triager": (A, B)}
    )
    week = base_shifts(layout, utc(2026, 1, 5), utc(2026, 1, 6))[0]
    assert week.user_id == A and week.start == utc(2026, 1, 5, 9)
    overrides = [
        OverrideWindow(1, "triager", utc(2026, 1, 7), utc(2026, 1, 9), C),
        OverrideWindow(2, "triager", utc(2026, 1, 8), utc(2026, 1, 8, 12), B),
    ]
    pieces = final_shifts([week], overrides)
    assert [(p.start, p.end, p.user_id, p.override_id) for p in pieces] == [
        (utc(2026, 1, 5, 9), utc(2026, 1, 7), A, None),
        (utc(2026, 1, 7), utc(2026, 1, 8), C, 1),
        (utc(2026, 1, 8), utc(2026, 1, 8, 12), B, 2),
        (utc(2026, 1, 8, 12), utc(2026, 1, 9), C, 1),
        (utc(2026, 1, 9), utc(2026, 1, 12, 9), A, None),
    ]
    assert on_call(layout, overrides, "triager", utc(2026, 1, 8, 6)).user_id == B
    assert on_call(layout, overrides, "triager", utc(2026, 1, 10)).user_id == A
    # An override for another role changes nothing here.
    assert final_shifts(
        [week], [OverrideWindow(3, "lead", utc(2026, 1, 6), utc(2026, 1, 7), C)]
    ) == [week]


def test_several_roles_rotate_independently():
    layout = Layout(
        Rotation(RotationKind.weekly, "UTC", date(2026, 1, 5), time(9)),
        {"triager": (A, B, C), "lead-tracker": (C,)},
    )
    shifts = base_shifts(layout, utc(2026, 1, 5, 9), utc(2026, 1, 26))
    assert [(s.role, s.user_id) for s in shifts] == [
        ("triager", A),
        ("lead-tracker", C),
        ("triager", B),
        ("lead-tracker", C),
        ("triager", C),
        ("lead-tracker", C),
    ]


def test_fairness_counts_shifts_and_clipped_hours():
    layout = weekly("UTC", members=(A, B))
    start, end = utc(2026, 1, 5, 9), utc(2026, 2, 2, 9)  # four whole weeks
    shifts = shifts_between(
        layout,
        [OverrideWindow(1, "triager", utc(2026, 1, 6, 9), utc(2026, 1, 7, 9), B)],
        start,
        end,
    )
    got = {f.user_id: (f.shifts, f.hours) for f in fairness(shifts, start, end)}
    # A: two weeks less the day B covered, in two pieces around it; B: two weeks plus that day.
    assert got == {A: (3, 2 * 168 - 24), B: (3, 2 * 168 + 24)}


# --- a slow, obviously-correct reference ---------------------------------------------------------
# Walks the calendar one handoff (or one day) at a time from the rotation's first day, the way a
# person would count on a paper calendar; the code under test jumps there in O(1).


def _wall(day: date, at: time, zone: str) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def reference_on_call(rotation: Rotation, members: tuple[int, ...], instant: datetime):
    """(index, start, end, person) of the base shift at `instant`, or None."""
    holidays = set(rotation.holidays)
    if rotation.kind == RotationKind.weekdays:
        found = [
            s
            for s in reference_weekday_shifts(rotation, members, instant)
            if s[1] <= instant < s[2]
        ]
        return found[0] if found else None
    period = 7 if rotation.kind == RotationKind.weekly else rotation.shift_days
    first = rotation.anchor
    while rotation.kind == RotationKind.weekly and first.weekday() != rotation.handoff_weekday:
        first += timedelta(days=1)

    def handoff(k: int) -> datetime:
        day = first + timedelta(days=k * period)
        for _ in range(period - 1):  # a holiday pushes the handoff on, but not onto the next one
            if day not in holidays:
                break
            day += timedelta(days=1)
        return _wall(day, rotation.handoff_time, rotation.zone)

    if instant < handoff(0):
        return None
    k = 0
    while handoff(k + 1) <= instant:
        k += 1
    return k, handoff(k), handoff(k + 1), members[k % len(members)]


def reference_weekday_shifts(
    rotation: Rotation, members: tuple[int, ...], until: datetime
) -> list[tuple]:
    """Every weekday shift from the anchor to `until`: count the working days one by one."""
    holidays, out = set(rotation.holidays), []
    day, k = rotation.anchor, 0
    while _wall(day, rotation.handoff_time, rotation.zone) <= until:
        if day.weekday() < 5 and day not in holidays:
            start = _wall(day, rotation.handoff_time, rotation.zone)
            end = _wall(day + timedelta(days=1), rotation.handoff_time, rotation.zone)
            out.append((k, start, end, members[k % len(members)]))
            k += 1
        day += timedelta(days=1)
    return out


def as_tuple(shift):
    return None if shift is None else (shift.index, shift.start, shift.end, shift.user_id)


# --- properties -------------------------------------------------------------------------------

rotations = st.builds(
    Rotation,
    kind=st.sampled_from([RotationKind.weekly, RotationKind.custom]),
    zone=st.sampled_from([*ZONES, "America/St_Johns", "Europe/Dublin", "Pacific/Chatham"]),
    anchor=st.dates(date(2024, 1, 1), date(2027, 12, 31)),
    handoff_time=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    handoff_weekday=st.integers(0, 6),
    shift_days=st.integers(1, 30),
    holidays=st.lists(st.dates(date(2024, 1, 1), date(2028, 12, 31)), max_size=30).map(
        lambda d: tuple(sorted(set(d)))
    ),
)
instants = st.datetimes(datetime(2024, 1, 1), datetime(2028, 6, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@examples(150)
@given(rotation=rotations, at=instants, span=st.integers(1, 120), n=st.integers(1, 6))
def test_periodic_layouts_tile_time_and_agree_with_on_call(rotation, at, span, n):
    layout = Layout(rotation, {"triager": tuple(range(1, n + 1))})
    members = layout.roles["triager"]
    assert as_tuple(on_call(layout, [], "triager", at)) == reference_on_call(rotation, members, at)
    end = at + timedelta(days=span)
    shifts = base_shifts(layout, at, end)
    if not shifts:  # the window is before the rotation starts
        assert reference_on_call(rotation, members, end - timedelta(microseconds=1)) is None
        return
    assert as_tuple(shifts[0]) == reference_on_call(rotation, members, max(shifts[0].start, at))
    assert as_tuple(shifts[-1]) == reference_on_call(rotation, members, shifts[-1].start)
    assert shifts[-1].end >= end
    for a, b in pairwise(shifts):
        assert a.end == b.start and a.start < a.end
        assert b.index == a.index + 1 and b.user_id == layout.roles["triager"][b.index % n]
    for s in shifts[:5]:
        probe = max(s.start, at)
        assert on_call(layout, [], "triager", probe) == s
        assert base_shift_by_index(layout, "triager", s.index) == s


@examples(100)
@given(
    zone=st.sampled_from(ZONES),
    anchor=st.dates(date(2025, 1, 1), date(2027, 1, 1)),
    at=instants,
    holidays=st.lists(st.dates(date(2024, 1, 1), date(2028, 12, 31)), max_size=40),
)
def test_weekday_shifts_fall_on_working_days_and_agree_with_on_call(zone, anchor, at, holidays):
    hol = tuple(sorted(set(holidays)))
    layout = Layout(
        Rotation(RotationKind.weekdays, zone, anchor, time(8, 30), holidays=hol), {"t": (1, 2, 3)}
    )
    shifts = base_shifts(layout, at, at + timedelta(days=21))
    tz = ZoneInfo(zone)
    assert as_tuple(on_call(layout, [], "t", at)) == reference_on_call(
        layout.rotation, (1, 2, 3), at
    )
    # Every shift of the window, as the day-by-day count gives them (none before the anchor).
    end = at + timedelta(days=21)
    expected = [
        r
        for r in reference_weekday_shifts(layout.rotation, (1, 2, 3), end)
        if r[2] > at and r[1] < end
    ]
    assert [as_tuple(s) for s in shifts] == expected
    for a, b in pairwise(shifts):
        assert a.end <= b.start and b.index == a.index + 1
    for s in shifts:
        day = s.start.astimezone(tz).date()
        assert day.weekday() < 5 and day not in hol and s.start.astimezone(tz).time() == time(8, 30)
        assert on_call(layout, [], "t", s.start) == s
        assert on_call(layout, [], "t", s.end - timedelta(seconds=1)) == s
        assert base_shift_by_index(layout, "t", s.index) == s


windows = st.tuples(instants, st.integers(1, 24 * 20)).map(
    lambda t: (t[0], t[0] + timedelta(hours=t[1]))
)


@examples(150)
@given(
    at=instants.filter(lambda d: d >= datetime(2025, 2, 1, tzinfo=UTC)),
    overrides=st.lists(st.tuples(windows, st.integers(10, 12)), max_size=6),
)
def test_overrides_keep_the_tiling_and_the_last_override_wins(at, overrides):
    layout = weekly("Europe/Berlin", members=(1, 2))
    ovs = [OverrideWindow(i + 1, "triager", s, e, u) for i, ((s, e), u) in enumerate(overrides)]
    start, end = at, at + timedelta(days=40)
    final = shifts_between(layout, ovs, start, end)
    base = shifts_between(layout, [], start, end)
    assert final[0].start <= start and final[-1].end >= end and base[-1].end >= end
    for a, b in pairwise(final):
        assert a.end == b.start and a.start < a.end
    for piece in final:
        mid = piece.start + (piece.end - piece.start) / 2
        covering = [o for o in ovs if o.start <= mid < o.end]
        base = reference_on_call(layout.rotation, (1, 2), mid)
        expected = covering[-1].user_id if covering else base[3]
        assert piece.user_id == expected and piece.index == base[0]
        assert piece.override_id == (covering[-1].id if covering else None)
        assert on_call(layout, ovs, "triager", mid).user_id == expected
        # Pieces change hands only where a base shift or an override starts or ends.
        assert (
            piece.start in {base[1]} | {o.start for o in ovs} | {o.end for o in ovs}
            or piece.start == start
        )
