"""One rule for wall times a DST change skips or repeats, shared by SLA periods and rota handoffs.

Known answers from the zones' 2026 rules: New York jumps 02:00 -> 03:00 on Sun 8 Mar (07:00 UTC)
and repeats 01:00-02:00 on Sun 1 Nov; Berlin jumps on Sun 29 Mar (01:00 UTC) and repeats
02:00-03:00 on Sun 25 Oct; Sydney jumps on Sun 4 Oct (16:00 UTC the day before); Lord Howe
jumps half an hour, 02:00 -> 02:30, the same night (15:30 UTC); Santiago jumps from midnight
to 01:00 on Sun 6 Sep (04:00 UTC).
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.errors import InvalidInput
from app.rota.holidays import check_calendar
from app.rota.schedule import Layout, Rotation, RotationKind, base_shifts
from app.sla.calendar import BusinessCalendar, CalendarError, calendar_from_spec
from app.wallclock import holiday_region_problem, wall_to_utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


CASES = [
    # zone, a Sunday, local wall time, the instant it means (UTC)
    ("America/New_York", date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7)),  # skipped: the jump
    ("America/New_York", date(2026, 3, 8), time(3, 0), utc(2026, 3, 8, 7)),  # the jump itself
    ("America/New_York", date(2026, 3, 8), time(1, 59), utc(2026, 3, 8, 6, 59)),  # just before
    (
        "America/New_York",
        date(2026, 11, 1),
        time(1, 30),
        utc(2026, 11, 1, 5, 30),
    ),  # repeated: the first
    ("Europe/Berlin", date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1)),
    ("Europe/Berlin", date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30)),
    ("Australia/Sydney", date(2026, 10, 4), time(2, 30), utc(2026, 10, 3, 16)),
    ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15), utc(2026, 10, 3, 15, 30)),
    ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 30), utc(2026, 10, 3, 15, 30)),
    ("America/Santiago", date(2026, 9, 6), time(0, 30), utc(2026, 9, 6, 4)),
    ("Asia/Kolkata", date(2026, 3, 8), time(2, 30), utc(2026, 3, 7, 21)),  # no DST: plain +05:30
]


@pytest.mark.parametrize("zone,day,at,instant", CASES)
def test_wall_time_rule(zone, day, at, instant):
    assert wall_to_utc(day, at, zone) == instant


@pytest.mark.parametrize("zone,day,at,instant", CASES)
def test_sla_periods_and_rota_handoffs_agree(zone, day, at, instant):
    # The rota: a weekly Sunday handoff at that wall time.
    rota = Layout(
        Rotation(RotationKind.weekly, zone, day - timedelta(days=7), at, handoff_weekday=6),
        {"t": (1, 2)},
    )
    starts = {
        s.start for s in base_shifts(rota, instant - timedelta(days=1), instant + timedelta(days=1))
    }
    assert instant in starts
    # The SLA calendar: a Sunday period starting at that wall time (until 23:00).
    minute = at.hour * 60 + at.minute
    cal = BusinessCalendar(zone=zone, week=((),) * 6 + (((minute, 23 * 60),),))
    assert cal.next_business(instant - timedelta(hours=6)) == instant


@pytest.mark.parametrize(
    "country,subdiv,problem",
    [
        (None, None, None),
        ("", "", None),
        ("DE", None, None),
        ("DE", "BY", None),
        ("GB", "ENG", None),
        (None, "BY", "a holiday subdivision needs a holiday country"),
        ("", "BY", "a holiday subdivision needs a holiday country"),
        (
            "XX",
            None,
            "no public holidays known for country 'XX' (use ISO 3166 codes, e.g. US / CA or GB / ENG)",
        ),
        (
            "XX",
            "BY",
            "no public holidays known for country 'XX' (use ISO 3166 codes, e.g. US / CA or GB / ENG)",
        ),
        (
            "DE",
            "XX",
            "no public holidays known for 'DE'/'XX' (use ISO 3166 codes, e.g. US / CA or GB / ENG)",
        ),
    ],
)
def test_one_holiday_region_check_for_both(country, subdiv, problem):
    assert holiday_region_problem(country, subdiv) == problem
    if problem is None:
        check_calendar(country, subdiv)
        calendar_from_spec(kind="24x5", zone="UTC", holiday_country=country, holiday_subdiv=subdiv)
        return
    with pytest.raises(InvalidInput) as rota_err:
        check_calendar(country, subdiv)
    assert (rota_err.value.detail, rota_err.value.code) == (problem, "bad_holidays")
    with pytest.raises(CalendarError) as sla_err:
        calendar_from_spec(kind="24x5", zone="UTC", holiday_country=country, holiday_subdiv=subdiv)
    assert str(sla_err.value) == problem
