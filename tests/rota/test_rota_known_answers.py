"""Known answers for the rota, worked out from the 2026 calendar by hand (not by the code).

German public holidays 2026 (`holidays` package, checked against the official lists):
national: Thu 1 Jan, Fri 3 Apr (Good Friday), Mon 6 Apr (Easter Monday), Fri 1 May, Thu 14 May
(Ascension), Mon 25 May (Whit Monday), Sat 3 Oct, Fri 25 Dec, Sat 26 Dec; Bavaria (BY) adds
Tue 6 Jan (Epiphany), Thu 4 Jun (Corpus Christi) and Sun 1 Nov. 2027: Fri 1 Jan.
Europe/Berlin is UTC+1 in winter and UTC+2 from 29 March to 25 October 2026, so a 09:00
handoff is 08:00 or 07:00 UTC.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.errors import InvalidInput
from app.rota.holidays import check_calendar, skipped_dates
from app.rota.schedule import (
    Layout,
    OverrideWindow,
    Rotation,
    RotationKind,
    base_shift_by_index,
    base_shifts,
    final_shifts,
    on_call,
    shifts_between,
)

A, B, C, D, E = 1, 2, 3, 4, 5
BERLIN = "Europe/Berlin"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekday_rota(
    anchor: date,
    holidays: tuple[date, ...],
    members=(A, B, C, D, E),
    at: time = time(9),
    zone: str = BERLIN,
) -> Layout:
    return Layout(
        Rotation(RotationKind.weekdays, zone, anchor, at, holidays=holidays), {"t": tuple(members)}
    )


def who(layout: Layout, instant: datetime, role: str = "t") -> int | None:
    shift = on_call(layout, [], role, instant)
    return None if shift is None else shift.user_id


def by() -> tuple[date, ...]:
    """Bavaria's holidays; built inside each test, so a fault in `skipped_dates` shows (mutation testing
    forks after import: a module-level constant would be computed by the unchanged code)."""
    return skipped_dates("DE", "BY", [], 2026, 2027)


def de() -> tuple[date, ...]:
    return skipped_dates("DE", None, [], 2026, 2027)


def test_the_holiday_lists_the_tables_rely_on():
    bavaria, germany = by(), de()
    assert [d for d in bavaria if d.year == 2026] == [
        date(2026, 1, 1),
        date(2026, 1, 6),
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 5, 14),
        date(2026, 5, 25),
        date(2026, 6, 4),
        date(2026, 10, 3),
        date(2026, 11, 1),
        date(2026, 12, 25),
        date(2026, 12, 26),
    ]
    assert {d for d in germany if d.year == 2026} == {d for d in bavaria if d.year == 2026} - {
        date(2026, 1, 6),
        date(2026, 6, 4),
        date(2026, 11, 1),
    }
    assert date(2027, 1, 1) in germany


# --- weekday rota: 5 people from Thu 1 Jan 2026 (itself a holiday), 09:00 Berlin ----------------
# Index of a working day = weekdays since 1 Jan minus the weekday holidays among them.
# Weekdays 1 Jan..2 Oct (excl.): 39 weeks (195) + Thu 1 Oct = 196; ..5 Oct: 197; ..24 Dec: 255; ..28 Dec: 257.
# Weekday holidays before October, BY: 1/1, 6/1, 3/4, 6/4, 1/5, 14/5, 25/5, 4/6 = 8; DE: 6 (no 6/1, 4/6).
# Before 28 Dec add Fri 25 Dec. Saturday 3 Oct and 26 Dec, Sunday 1 Nov use up no turn.
WEEKDAY_TABLE = [
    # calendar, instant (UTC), person on call: index % 5 -> A..E
    ("BY", utc(2026, 1, 1, 12), None),  # New Year: no shift
    ("BY", utc(2026, 1, 2, 7, 59), None),  # Friday before its 09:00 CET handoff: nobody yet
    ("BY", utc(2026, 1, 2, 8), A),  # index 0
    ("BY", utc(2026, 1, 5, 8), B),  # index 1 (Mon)
    ("BY", utc(2026, 1, 6, 7, 59), B),  # Monday's shift runs to Tuesday 09:00...
    ("BY", utc(2026, 1, 6, 8), None),  # ...but Epiphany is a holiday in Bavaria
    ("BY", utc(2026, 1, 7, 8), C),  # index 2
    ("BY", utc(2026, 1, 12, 8), A),  # Wed C, Thu D, Fri E, Mon A (index 5)
    ("DE", utc(2026, 1, 6, 8), C),  # nationally 6 Jan is a working day: index 2
    ("DE", utc(2026, 1, 12, 8), B),  # index 6
    ("BY", utc(2026, 10, 2, 7), D),  # 196 - 8 = 188
    ("BY", utc(2026, 10, 3, 7), None),  # Saturday (and a holiday)
    ("BY", utc(2026, 10, 5, 7), E),  # 197 - 8 = 189: the Saturday holiday did not use a turn
    ("DE", utc(2026, 10, 2, 7), A),  # 196 - 6 = 190
    ("DE", utc(2026, 10, 5, 7), B),  # 197 - 6 = 191
    ("BY", utc(2026, 12, 24, 8), C),  # 255 - 8 = 247
    ("BY", utc(2026, 12, 25, 7, 59), C),  # Thursday's shift ends at Friday 09:00 CET
    ("BY", utc(2026, 12, 25, 8), None),  # Christmas Day
    ("BY", utc(2026, 12, 28, 8), D),  # 257 - 9 = 248
]


@pytest.mark.parametrize("region,instant,expected", WEEKDAY_TABLE)
def test_weekday_rota_known_answers(region, instant, expected):
    layout = weekday_rota(date(2026, 1, 1), by() if region == "BY" else de())
    assert who(layout, instant) == expected


def test_weekday_rota_over_new_year_in_one_window():
    layout = weekday_rota(date(2026, 1, 1), by())
    shifts = base_shifts(layout, utc(2026, 12, 23, 12), utc(2027, 1, 6))
    assert [(s.start, s.end, s.index, s.user_id) for s in shifts] == [
        (utc(2026, 12, 23, 8), utc(2026, 12, 24, 8), 246, B),
        (utc(2026, 12, 24, 8), utc(2026, 12, 25, 8), 247, C),
        (utc(2026, 12, 28, 8), utc(2026, 12, 29, 8), 248, D),
        (utc(2026, 12, 29, 8), utc(2026, 12, 30, 8), 249, E),
        (utc(2026, 12, 30, 8), utc(2026, 12, 31, 8), 250, A),
        (utc(2026, 12, 31, 8), utc(2027, 1, 1, 8), 251, B),
        # Fri 1 Jan 2027 is a holiday; Mon 4 Jan, Tue 5 Jan follow; 6 Jan 2027 is Epiphany (BY).
        (utc(2027, 1, 4, 8), utc(2027, 1, 5, 8), 252, C),
        (utc(2027, 1, 5, 8), utc(2027, 1, 6, 8), 253, D),
    ]
    for s in shifts:
        assert base_shift_by_index(layout, "t", s.index) == s


def test_weekday_window_that_opens_before_the_anchor():
    # Anchor Wed 8 Apr 2026; Good Friday and Easter Monday fall before it, inside the window.
    layout = weekday_rota(date(2026, 4, 8), de())
    shifts = base_shifts(layout, utc(2026, 3, 30), utc(2026, 4, 14))
    assert [(s.start, s.index, s.user_id) for s in shifts] == [
        (utc(2026, 4, 8, 7), 0, A),
        (utc(2026, 4, 9, 7), 1, B),
        (utc(2026, 4, 10, 7), 2, C),
        (utc(2026, 4, 13, 7), 3, D),
    ]
    assert who(layout, utc(2026, 4, 7, 12)) is None  # before the rotation starts
    assert base_shift_by_index(layout, "t", -1) is None


def test_weekday_holidays_on_a_weekend_and_custom_ones():
    # US/California 2026: Fri 3 Jul (Independence Day observed) and Sat 4 Jul; Mon 7 Sep (Labor Day).
    # A custom holiday on Wed 8 Jul. Anchor Wed 1 Jul, three people, 09:00 Los Angeles (UTC-7).
    hols = skipped_dates("US", "CA", [date(2026, 7, 8), date(2025, 7, 8)], 2026, 2026)
    assert date(2026, 7, 3) in hols and date(2026, 7, 4) in hols and date(2026, 7, 8) in hols
    assert date(2025, 7, 8) not in hols  # outside the years asked for
    layout = weekday_rota(date(2026, 7, 1), hols, members=(A, B, C), zone="America/Los_Angeles")
    shifts = base_shifts(layout, utc(2026, 7, 1, 16), utc(2026, 7, 14))
    assert [(s.start, s.user_id) for s in shifts] == [
        (utc(2026, 7, 1, 16), A),
        (utc(2026, 7, 2, 16), B),  # Fri 3 and Sat 4 Jul: holidays
        (utc(2026, 7, 6, 16), C),
        (utc(2026, 7, 7, 16), A),  # Wed 8 Jul: custom holiday
        (utc(2026, 7, 9, 16), B),
        (utc(2026, 7, 10, 16), C),
        (utc(2026, 7, 13, 16), A),
    ]
    # Weekdays from 1 Jul: to Fri 4 Sep 47, to Tue 8 Sep 49. Weekday holidays among them: 3 Jul, 8 Jul,
    # then Labor Day; Sat 4 Jul uses up no turn. Fri 4 Sep: 45 -> A; Mon 7 Sep: nobody; Tue 8 Sep: 46 -> B.
    assert who(layout, utc(2026, 9, 4, 16)) == A
    assert who(layout, utc(2026, 9, 7, 16)) is None
    assert who(layout, utc(2026, 9, 8, 16)) == B


# --- weekly and custom rotas: a handoff on a holiday moves to the next non-holiday day -----------


def weekly_rota(
    anchor: date, weekday: int, holidays: tuple[date, ...], members=(A, B, C)
) -> Layout:
    return Layout(
        Rotation(
            RotationKind.weekly, BERLIN, anchor, time(9), handoff_weekday=weekday, holidays=holidays
        ),
        {"t": tuple(members)},
    )


def test_weekly_monday_rota_around_easter_and_whitsun():
    layout = weekly_rota(date(2026, 3, 30), 0, de())
    shifts = base_shifts(layout, utc(2026, 3, 30, 7), utc(2026, 6, 1, 7))
    assert [(s.start, s.end, s.user_id) for s in shifts] == [
        (utc(2026, 3, 30, 7), utc(2026, 4, 7, 7), A),  # Easter Monday: handoff on Tuesday
        (utc(2026, 4, 7, 7), utc(2026, 4, 13, 7), B),
        (utc(2026, 4, 13, 7), utc(2026, 4, 20, 7), C),
        (utc(2026, 4, 20, 7), utc(2026, 4, 27, 7), A),
        (utc(2026, 4, 27, 7), utc(2026, 5, 4, 7), B),
        (utc(2026, 5, 4, 7), utc(2026, 5, 11, 7), C),
        (utc(2026, 5, 11, 7), utc(2026, 5, 18, 7), A),
        (utc(2026, 5, 18, 7), utc(2026, 5, 26, 7), B),  # Whit Monday: handoff on Tuesday
        (utc(2026, 5, 26, 7), utc(2026, 6, 1, 7), C),
    ]
    assert who(layout, utc(2026, 4, 6, 12)) == A
    assert who(layout, utc(2026, 4, 7, 6, 59)) == A and who(layout, utc(2026, 4, 7, 7)) == B


@pytest.mark.parametrize("region,handoff", [("BY", utc(2026, 1, 7, 8)), ("DE", utc(2026, 1, 6, 8))])
def test_weekly_tuesday_rota_and_a_regional_holiday(region, handoff):
    layout = weekly_rota(date(2025, 12, 30), 1, by() if region == "BY" else de(), members=(A, B))
    first, second = base_shifts(layout, utc(2026, 1, 1), utc(2026, 1, 8))[:2]
    assert (first.start, first.end, first.user_id) == (utc(2025, 12, 30, 8), handoff, A)
    assert (second.start, second.user_id) == (handoff, B)


def test_weekly_friday_rota_over_two_holidays_in_a_row_and_new_year():
    # Fri 25 + Sat 26 Dec: handoff Sunday 27 Dec; Fri 1 Jan 2027: handoff Saturday 2 Jan.
    layout = weekly_rota(date(2026, 12, 4), 4, de(), members=(A, B))
    shifts = base_shifts(layout, utc(2026, 12, 4, 8), utc(2027, 1, 9))
    assert [(s.start, s.user_id) for s in shifts] == [
        (utc(2026, 12, 4, 8), A),
        (utc(2026, 12, 11, 8), B),
        (utc(2026, 12, 18, 8), A),
        (utc(2026, 12, 27, 8), B),
        (utc(2027, 1, 2, 8), A),
        (utc(2027, 1, 8, 8), B),
    ]


def test_custom_rotations_move_at_most_to_the_day_before_the_next_handoff():
    # 3-day shifts from Thu 24 Dec 2026: handoffs 24, 27, 30 Dec, 2 Jan ... Custom holidays 27-29 Dec
    # push the 27 Dec handoff two days at most (to 29 Dec), never onto the next one (30 Dec).
    hols = skipped_dates(
        None, None, [date(2026, 12, 27), date(2026, 12, 28), date(2026, 12, 29)], 2026, 2027
    )
    three = Layout(
        Rotation(
            RotationKind.custom, BERLIN, date(2026, 12, 24), time(9), shift_days=3, holidays=hols
        ),
        {"t": (A, B)},
    )
    shifts = base_shifts(three, utc(2026, 12, 24, 8), utc(2027, 1, 2, 8))
    assert [(s.start, s.end, s.user_id) for s in shifts] == [
        (utc(2026, 12, 24, 8), utc(2026, 12, 29, 8), A),
        (utc(2026, 12, 29, 8), utc(2026, 12, 30, 8), B),
        (utc(2026, 12, 30, 8), utc(2027, 1, 2, 8), A),
    ]
    # One-day shifts cannot move at all: a holiday still has its handoff.
    daily = Layout(
        Rotation(
            RotationKind.custom, BERLIN, date(2026, 12, 24), time(9), shift_days=1, holidays=hols
        ),
        {"t": (A, B)},
    )
    assert [s.user_id for s in base_shifts(daily, utc(2026, 12, 27, 8), utc(2026, 12, 29, 8))] == [
        B,
        A,
    ]


def test_weekly_rota_before_its_first_handoff_and_far_from_it():
    layout = weekly_rota(date(2026, 3, 30), 0, de())
    assert who(layout, utc(2026, 3, 30, 6, 59)) is None
    assert base_shifts(layout, utc(2026, 3, 1), utc(2026, 3, 30, 7)) == []
    # 2 Jan 2034 is a Monday, 405 weeks after 30 Mar 2026: 405 % 3 = 0 -> A (no holidays loaded then).
    assert who(layout, utc(2034, 1, 2, 8)) == A
    assert base_shift_by_index(layout, "t", 405).start == utc(2034, 1, 2, 8)


# --- overrides at exact boundaries ----------------------------------------------------------------

WEEK = Layout(Rotation(RotationKind.weekly, "UTC", date(2026, 1, 5), time(9)), {"t": (A, B)})
MON_12 = utc(2026, 1, 12, 9)  # A's first week ends and B's starts
TICK = timedelta(microseconds=1)


def test_an_override_that_starts_exactly_at_a_handoff():
    cover = [OverrideWindow(7, "t", MON_12, MON_12 + timedelta(days=1), C)]
    at_start = on_call(WEEK, cover, "t", MON_12)
    assert (at_start.user_id, at_start.override_id, at_start.start) == (C, 7, MON_12)
    assert on_call(WEEK, cover, "t", MON_12 - TICK).user_id == A
    back = on_call(WEEK, cover, "t", MON_12 + timedelta(days=1))
    assert (back.user_id, back.override_id, back.start) == (B, None, MON_12 + timedelta(days=1))
    # Without an override, the base shift answers exactly at its first instant too.
    assert on_call(WEEK, [], "t", MON_12).user_id == B


def test_an_override_that_ends_exactly_at_a_handoff_does_not_spill_over():
    cover = [OverrideWindow(8, "t", MON_12 - timedelta(days=1), MON_12, C)]
    assert on_call(WEEK, cover, "t", MON_12 - TICK).user_id == C
    assert on_call(WEEK, cover, "t", MON_12).override_id is None
    assert on_call(WEEK, cover, "t", MON_12).user_id == B


def test_a_window_on_shift_boundaries_holds_only_the_shifts_inside():
    week2 = (MON_12, MON_12 + timedelta(days=7))
    assert [(s.start, s.end, s.user_id) for s in shifts_between(WEEK, [], *week2)] == [
        (MON_12, MON_12 + timedelta(days=7), B)
    ]
    # Overrides that end exactly where the window starts and start exactly where it ends: their
    # pieces of B's shift lie outside the window and stay outside.
    day = (utc(2026, 1, 13), utc(2026, 1, 14))
    cover = [
        OverrideWindow(9, "t", utc(2026, 1, 12, 10), day[0], C),
        OverrideWindow(10, "t", day[1], utc(2026, 1, 15), C),
    ]
    assert [
        (s.start, s.end, s.user_id, s.override_id) for s in shifts_between(WEEK, cover, *day)
    ] == [(day[0], day[1], B, None)]
    assert [s.override_id for s in shifts_between(WEEK, cover, *week2)] == [None, 9, None, 10, None]


# --- holiday calendars -------------------------------------------------------------------------


def test_skipped_dates_merge_public_and_custom_once_each():
    got = skipped_dates(
        "DE", "", [date(2026, 12, 25), date(2026, 12, 31), date(2027, 3, 1)], 2026, 2026
    )
    assert got == tuple(sorted({d for d in de() if d.year == 2026} | {date(2026, 12, 31)}))
    assert skipped_dates(None, None, [date(2026, 2, 2), date(2025, 2, 2)], 2025, 2026) == (
        date(2025, 2, 2),
        date(2026, 2, 2),
    )
    assert skipped_dates(None, None, [], 2026, 2026) == ()


@pytest.mark.parametrize(
    "country,subdiv,message",
    [
        (None, "BY", "^a holiday subdivision needs a holiday country$"),
        ("", "BY", "^a holiday subdivision needs a holiday country$"),
        ("XX", None, "^no public holidays known for country 'XX' [(]use ISO 3166 codes"),
        ("DE", "XX", "^no public holidays known for 'DE'/'XX' [(]use ISO 3166 codes"),
    ],
)
def test_unknown_holiday_calendars_are_refused(country, subdiv, message):
    with pytest.raises(InvalidInput, match=message) as err:
        check_calendar(country, subdiv)
    assert err.value.code == "bad_holidays"


@pytest.mark.parametrize(
    "country,subdiv", [(None, None), ("", ""), ("DE", None), ("DE", "BY"), ("US", "CA")]
)
def test_known_holiday_calendars_pass(country, subdiv):
    check_calendar(country, subdiv)


# --- cutting shifts at overrides: exact pieces -----------------------------------------------------

FIRST = utc(2026, 1, 5, 9)  # A's week in WEEK: [FIRST, MON_12)


def pieces(overrides, start=FIRST, end=MON_12):
    return [
        (p.start, p.end, p.user_id, p.override_id)
        for p in final_shifts(base_shifts(WEEK, start, end), overrides)
    ]


def ov(i, start, end, user=C):
    return OverrideWindow(i, "t", start, end, user)


def test_an_override_on_the_whole_shift_or_on_either_edge_leaves_no_empty_piece():
    assert pieces([ov(1, FIRST, MON_12)]) == [(FIRST, MON_12, C, 1)]
    assert pieces([ov(1, FIRST, utc(2026, 1, 6))]) == [
        (FIRST, utc(2026, 1, 6), C, 1),
        (utc(2026, 1, 6), MON_12, A, None),
    ]
    assert pieces([ov(1, utc(2026, 1, 9), MON_12)]) == [
        (FIRST, utc(2026, 1, 9), A, None),
        (utc(2026, 1, 9), MON_12, C, 1),
    ]
    assert pieces([ov(1, utc(2026, 1, 7), utc(2026, 1, 7))]) == [
        (FIRST, MON_12, A, None)
    ]  # empty: ignored


def test_adjacent_overrides_given_in_any_order():
    day6, day7, day8 = utc(2026, 1, 6), utc(2026, 1, 7), utc(2026, 1, 8)
    expected = [
        (FIRST, day6, A, None),
        (day6, day7, C, 1),
        (day7, day8, D, 2),
        (day8, MON_12, A, None),
    ]
    assert pieces([ov(1, day6, day7), ov(2, day7, day8, D)]) == expected
    assert pieces([ov(2, day7, day8, D), ov(1, day6, day7)]) == expected


def test_the_override_given_later_wins_even_when_it_starts_earlier():
    day6, day7, day8 = utc(2026, 1, 6), utc(2026, 1, 7), utc(2026, 1, 8)
    got = pieces([ov(1, day7, utc(2026, 1, 9)), ov(2, day6, day8, D)])
    # (D's time comes in two pieces, cut where the first override began; pieces are not merged.)
    assert got == [
        (FIRST, day6, A, None),
        (day6, day7, D, 2),
        (day7, day8, D, 2),
        (day8, utc(2026, 1, 9), C, 1),
        (utc(2026, 1, 9), MON_12, A, None),
    ]


def test_overrides_given_out_of_order_all_reach_their_shift():
    # Given: 6 Jan, then a week later, then 7 Jan. Each week's shift must find its own overrides.
    given = [
        ov(1, utc(2026, 1, 6), utc(2026, 1, 6, 12)),
        ov(2, utc(2026, 1, 13), utc(2026, 1, 14), D),
        ov(3, utc(2026, 1, 7, 12), utc(2026, 1, 8)),
    ]
    got = {(p[3], p[2]) for p in pieces(given, FIRST, utc(2026, 1, 19, 9)) if p[3]}
    assert got == {(1, C), (2, D), (3, C)}


def test_shifts_between_keeps_to_the_roles_asked():
    two = Layout(WEEK.rotation, {"t": (A, B), "lead": (E,)})
    assert {s.role for s in shifts_between(two, [], FIRST, MON_12, roles=["lead"])} == {"lead"}
    assert {s.role for s in shifts_between(two, [], FIRST, MON_12)} == {"t", "lead"}


def test_fairness_counts_only_time_inside_the_window():
    from app.rota.schedule import Shift, fairness

    def shift(start, end, user):
        return Shift("t", 0, start, end, user)

    window = (utc(2026, 1, 5), utc(2026, 1, 6))
    shifts = [
        shift(utc(2026, 1, 4), window[0], A),  # ends where the window starts: not counted
        shift(utc(2026, 1, 5), utc(2026, 1, 5, 0, 20), B),  # 20 minutes: 0.33 h
        shift(utc(2026, 1, 5, 0, 20), utc(2026, 1, 5, 2), C),
        shift(utc(2026, 1, 5, 2), utc(2026, 1, 5, 6), A),
        shift(utc(2026, 1, 5, 6), utc(2026, 1, 5, 10), D),
        shift(window[1], utc(2026, 1, 7), B),
    ]  # starts where the window ends: not counted
    got = [(f.user_id, f.shifts, f.hours) for f in fairness(shifts, *window)]
    assert got == [(A, 1, 4.0), (D, 1, 4.0), (C, 1, 1.67), (B, 1, 0.33)]


@pytest.mark.parametrize(
    "kind,days,index,expected",
    [
        (RotationKind.weekly, 7, 52, date(2026, 12, 28)),  # 52 weeks after Mon 29 Dec 2025
        (RotationKind.weekdays, 1, 10, date(2026, 1, 12)),  # 10 working days ~ 2 weeks
        (RotationKind.weekdays, 1, 7, date(2026, 1, 7)),  # 7 x 7/5 = 9.8 -> 9 days
        (
            RotationKind.custom,
            3,
            10,
            date(2026, 1, 28),
        ),  # exactly 30 days (7 / (7/3) in floats gave 29)
    ],
)
def test_approx_index_date(kind, days, index, expected):
    from app.rota.schedule import approx_index_date

    rotation = Rotation(kind, "UTC", date(2025, 12, 29), time(9), shift_days=days)
    assert approx_index_date(rotation, index) == expected


def test_windows_that_touch_a_shift_hold_nothing_of_it():
    layout = weekday_rota(
        date(2026, 4, 8), de()
    )  # Wed 8 Apr: shift 09:00 CEST (07:00 UTC) to Thu 07:00 UTC
    s8, s9 = utc(2026, 4, 8, 7), utc(2026, 4, 9, 7)
    assert [
        x.start for x in base_shifts(layout, utc(2026, 4, 8), s8)
    ] == []  # ends where the shift starts
    assert [x.start for x in base_shifts(layout, s9, s9 + timedelta(minutes=1))] == [
        s9
    ]  # starts at a handoff
    assert [x.start for x in base_shifts(layout, s8, s9)] == [s8]
    for any_layout in (layout, WEEK):
        assert (
            base_shifts(any_layout, s8 + timedelta(hours=3), s8 + timedelta(hours=3)) == []
        )  # empty window
        assert base_shifts(any_layout, s9, s8) == []  # backwards window


def test_fairness_breaks_ties_in_hours_by_person_not_by_shift_count():
    from app.rota.schedule import Shift, fairness

    window = (utc(2026, 1, 5), utc(2026, 1, 6))
    shifts = [
        Shift("t", 0, utc(2026, 1, 5, 0), utc(2026, 1, 5, 4), D),  # D: one 4-hour shift
        Shift("t", 1, utc(2026, 1, 5, 4), utc(2026, 1, 5, 6), A),  # A: two 2-hour shifts
        Shift("t", 2, utc(2026, 1, 5, 6), utc(2026, 1, 5, 8), A),
    ]
    assert [(f.user_id, f.shifts, f.hours) for f in fairness(shifts, *window)] == [
        (A, 2, 4.0),
        (D, 1, 4.0),
    ]
