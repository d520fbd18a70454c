"""The business-time clock: named cases, DST in four regions, holidays, and properties."""

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sla.calendar import (
    BusinessCalendar,
    CalendarError,
    calendar_from_spec,
    describe_duration,
    office_hours,
    parse_periods,
    working_days_24x5,
)
from tests.properties import examples

H = timedelta(hours=1)


def at(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone))


def local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


# --- named cases ----------------------------------------------------------------------------


def test_friday_afternoon_plus_three_hours_is_monday_morning():
    cal = office_hours("Europe/London", "08:00-17:00")
    due = cal.add_business(at("Europe/London", 2026, 11, 20, 16, 30), 3 * H)  # a Friday
    assert local(due, "Europe/London") == datetime(2026, 11, 23, 10, 30)


def test_a_holiday_monday_is_skipped():
    # 2026-05-25 is the Spring Bank Holiday (a Monday) in England.
    cal = office_hours("Europe/London", "09:00-17:00", holiday_country="GB", holiday_subdiv="ENG")
    due = cal.add_business(at("Europe/London", 2026, 5, 22, 16, 0), 2 * H)
    assert local(due, "Europe/London") == datetime(2026, 5, 26, 10, 0)
    assert not cal.is_business(at("Europe/London", 2026, 5, 25, 11, 0))


def test_custom_holiday_is_skipped():
    cal = office_hours("UTC", custom_holidays={date(2026, 11, 23)})
    due = cal.add_business(at("UTC", 2026, 11, 20, 16, 0), 2 * H)
    assert due == at("UTC", 2026, 11, 24, 10, 0)


def test_24x5_working_day_across_a_weekend():
    cal = working_days_24x5("UTC")
    # Friday noon + one working day: 12 h of Friday, then 12 h of Monday.
    due = cal.add_business(at("UTC", 2026, 11, 20, 12, 0), 24 * H)
    assert due == at("UTC", 2026, 11, 23, 12, 0)
    # Opened on Saturday: the day starts counting at Monday 00:00.
    assert cal.add_business(at("UTC", 2026, 11, 21, 9, 0), 24 * H) == at("UTC", 2026, 11, 24, 0, 0)
    assert (
        cal.business_between(at("UTC", 2026, 11, 20, 0, 0), at("UTC", 2026, 11, 24, 0, 0)) == 48 * H
    )


def test_several_periods_a_day_lunch_is_not_business_time():
    cal = office_hours("Europe/Paris", "09:00-12:00, 13:30-17:30")
    start = at("Europe/Paris", 2026, 11, 23, 11, 0)  # Monday
    assert local(cal.add_business(start, 2 * H), "Europe/Paris") == datetime(2026, 11, 23, 14, 30)
    assert not cal.is_business(at("Europe/Paris", 2026, 11, 23, 12, 45))
    assert local(
        cal.next_business(at("Europe/Paris", 2026, 11, 23, 12, 45)), "Europe/Paris"
    ) == datetime(2026, 11, 23, 13, 30)


def test_result_can_be_the_closing_time():
    cal = office_hours("UTC", "09:00-17:00")
    assert cal.add_business(at("UTC", 2026, 11, 20, 9, 0), 8 * H) == at("UTC", 2026, 11, 20, 17, 0)


def test_next_business_and_is_business():
    cal = office_hours("America/New_York")
    sat = at("America/New_York", 2026, 11, 21, 10, 0)
    assert not cal.is_business(sat)
    assert local(cal.next_business(sat), "America/New_York") == datetime(2026, 11, 23, 9, 0)
    inside = at("America/New_York", 2026, 11, 23, 9, 0)
    assert cal.is_business(inside) and cal.next_business(inside) == inside
    assert not cal.is_business(
        at("America/New_York", 2026, 11, 23, 17, 0)
    )  # closing time is outside


def test_between_is_negative_backwards_and_zero_outside_hours():
    cal = office_hours("UTC")
    a, b = at("UTC", 2026, 11, 23, 10, 0), at("UTC", 2026, 11, 23, 12, 0)
    assert cal.business_between(b, a) == -2 * H
    assert cal.business_between(
        at("UTC", 2026, 11, 21, 1, 0), at("UTC", 2026, 11, 22, 23, 0)
    ) == timedelta(0)


# --- DST ------------------------------------------------------------------------------------

DST_CASES = [
    # zone, spring-forward Saturday night → the 24x5 day containing it, fall-back
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
    ("Australia/Sydney", date(2026, 10, 4), date(2026, 4, 5)),
]


@pytest.mark.parametrize("zone,spring,fall", DST_CASES)
def test_office_hours_keep_their_wall_clock_across_dst(zone, spring, fall):
    cal = office_hours(zone, "09:00-17:00")
    for change in (spring, fall):  # Sundays: the Friday before + 10 h lands Monday 11:00 local
        friday = change - timedelta(days=2)
        start = datetime(friday.year, friday.month, friday.day, 15, 0, tzinfo=ZoneInfo(zone))
        due = cal.add_business(start, 4 * H)
        monday = change + timedelta(days=1)
        assert local(due, zone) == datetime(monday.year, monday.month, monday.day, 11, 0)
        assert cal.business_between(start, due) == 4 * H


@pytest.mark.parametrize(
    "zone,spring,fall",
    [
        ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
    ],
)
def test_24_hour_day_is_23_or_25_real_hours_on_a_dst_change(zone, spring, fall):
    # A 24x5 calendar with Sunday work too, to put a DST change inside a working day.
    full = ((0, 1440),)
    cal = BusinessCalendar(zone=zone, week=(full,) * 7, kind="hours")
    s0 = datetime(spring.year, spring.month, spring.day, tzinfo=ZoneInfo(zone))
    s1 = datetime.combine(spring + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(zone))
    assert cal.business_between(s0, s1) == 23 * H
    f0 = datetime(fall.year, fall.month, fall.day, tzinfo=ZoneInfo(zone))
    f1 = datetime.combine(fall + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(zone))
    assert cal.business_between(f0, f1) == 25 * H


def test_period_starting_inside_the_spring_forward_gap_starts_at_the_jump():
    # New York, 2026-03-08: clocks go 02:00 → 03:00. A period 02:30-04:00 that Sunday really
    # runs from 03:00 EDT (07:00 UTC) to 04:00 EDT (08:00 UTC).
    cal = BusinessCalendar(zone="America/New_York", week=((),) * 6 + (((150, 240),),))
    assert cal.next_business(at("UTC", 2026, 3, 8, 0, 0)) == at("UTC", 2026, 3, 8, 7, 0)
    assert cal.business_between(at("UTC", 2026, 3, 8, 0, 0), at("UTC", 2026, 3, 9, 0, 0)) == H


def test_fall_back_ambiguous_hour_counts_twice_when_worked():
    # Sydney 2026-04-05 03:00 → 02:00: a Sunday period 01:00-04:00 lasts 4 real hours.
    cal = BusinessCalendar(zone="Australia/Sydney", week=((),) * 6 + (((60, 240),),))
    day0 = at("Australia/Sydney", 2026, 4, 5, 0, 0)
    assert cal.business_between(day0, day0 + 24 * H) == 4 * H


def test_zone_without_dst():
    cal = office_hours("Asia/Kolkata", "09:30-18:00")
    start = at("Asia/Kolkata", 2026, 3, 6, 17, 0)  # a Friday; no DST in India at any time of year
    due = cal.add_business(start, 3 * H)
    assert local(due, "Asia/Kolkata") == datetime(2026, 3, 9, 11, 30)
    assert cal.business_between(start, due) == 3 * H


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec,message",
    [
        (
            {"kind": "hours", "zone": "Mars/Base", "hours": {"mon": "09:00-17:00"}},
            "unknown time zone",
        ),
        ({"kind": "hours", "zone": "UTC", "hours": {"mon": "17:00-09:00"}}, "must end after"),
        ({"kind": "hours", "zone": "UTC", "hours": {"mon": "09:00-12:00, 11:00-13:00"}}, "overlap"),
        ({"kind": "hours", "zone": "UTC", "hours": {"mon": "9-17"}}, "HH:MM"),
        ({"kind": "hours", "zone": "UTC", "hours": {}}, "at least one"),
        ({"kind": "hours", "zone": "UTC", "hours": {"monday": "09:00-17:00"}}, "unknown weekday"),
        ({"kind": "weekly", "zone": "UTC"}, "kind"),
        ({"kind": "24x5", "zone": "UTC", "holiday_country": "XX"}, "no public holidays"),
        ({"kind": "24x5", "zone": "UTC", "custom_holidays": ["2026-13-01"]}, "not a date"),
    ],
)
def test_bad_calendars_are_refused_with_a_reason(spec, message):
    with pytest.raises(CalendarError, match=message):
        calendar_from_spec(**spec)


def test_naive_instants_are_refused():
    with pytest.raises(CalendarError, match="timezone-aware"):
        office_hours("UTC").is_business(datetime(2026, 1, 1, 12))


def test_negative_duration_is_refused():
    with pytest.raises(CalendarError):
        office_hours("UTC").add_business(at("UTC", 2026, 1, 5, 10), -H)


def test_parse_periods_and_describe():
    assert parse_periods("09:00-12:00; 13:00-24:00") == ((540, 720), (780, 1440))
    assert describe_duration(timedelta(hours=26)) == "1d 2h"
    assert describe_duration(timedelta(minutes=185)) == "3h 05m"
    assert describe_duration(-timedelta(minutes=5)) == "5m"


# --- properties -----------------------------------------------------------------------------

ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/Santiago",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "Africa/Casablanca",
    "Asia/Tehran",
]
PERIODS = [
    "09:00-17:00",
    "08:00-12:00, 13:00-17:00",
    "00:00-24:00",
    "22:00-24:00",
    "01:30-03:30",
    "00:00-02:30",
]


@st.composite
def calendars(draw):
    zone = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        return working_days_24x5(
            zone, holiday_country=draw(st.sampled_from([None, "US", "DE", "AU"]))
        )
    days = tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=7))))
    custom = draw(st.sets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=5))
    return office_hours(
        zone,
        draw(st.sampled_from(PERIODS)),
        days=days,
        custom_holidays=custom,
        holiday_country=draw(st.sampled_from([None, "GB", "US", "FR"])),
    )


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))
PROPS = examples(150)


@PROPS
@given(calendars(), instants, durations)
def test_add_then_measure_gives_back_the_duration(cal, start, duration):
    due = cal.add_business(start, duration)
    assert due >= start
    assert cal.business_between(start, due) == duration == reference_between(cal, start, due)


@PROPS
@given(calendars(), instants, durations.filter(bool))
def test_deadlines_fall_in_business_time_or_at_closing(cal, start, duration):
    due = cal.add_business(start, duration)
    tick = timedelta(microseconds=1)
    assert (
        reference_between(cal, due - tick, due) == tick
    )  # the last moment counted was working time
    # ...and it is the earliest such instant: a moment earlier, less time had passed.
    assert reference_between(cal, start, due - tick) < duration


@PROPS
@given(calendars(), instants, durations, durations)
def test_adding_a_plus_b_equals_adding_a_then_b(cal, start, a, b):
    assert cal.add_business(start, a + b) == cal.add_business(cal.add_business(start, a), b)


@PROPS
@given(calendars(), instants, instants, instants)
def test_between_is_additive(cal, a, b, c):
    assert cal.business_between(a, b) + cal.business_between(b, c) == cal.business_between(a, c)


@PROPS
@given(calendars(), instants)
def test_next_business_is_business_and_nothing_is_skipped(cal, t):
    nxt = cal.next_business(t)
    tick = timedelta(microseconds=1)
    assert nxt >= t and cal.is_business(nxt) and reference_between(cal, nxt, nxt + tick) == tick
    assert reference_between(cal, t, nxt) == timedelta(0)


# --- a slow, obviously-correct reference ------------------------------------------------------
# Reads the definition directly: each local day's periods (24x5: Monday-Friday, whole days),
# minus the holidays the `holidays` package and the custom list name, each wall time converted
# on its own (a time skipped by spring-forward starts at the jump; a repeated one is the first).


@cache
def _package_holidays(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year))


def reference_holidays(cal: BusinessCalendar, year: int) -> set[date]:
    days = {d for d in cal.custom_holidays if d.year == year}
    if cal.holiday_country:
        days |= _package_holidays(cal.holiday_country, cal.holiday_subdiv, year)
    return days


def reference_periods(cal: BusinessCalendar, day: date) -> list[tuple[int, int]]:
    if day in reference_holidays(cal, day.year):
        return []
    if cal.kind == "24x5":
        return [(0, 1440)] if day.weekday() < 5 else []
    return list(cal.week[day.weekday()])


def reference_wall_to_utc(day: date, minute: int, zone: str) -> datetime:
    tz = ZoneInfo(zone)
    naive = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # Skipped by the clock: `first` read it with the offset before the jump, so it lies after the
    # jump by as much as the wall time lies into the gap. Walk back minute by minute to the jump.
    jump, offset = first, first.astimezone(tz).utcoffset()
    while (jump - timedelta(minutes=1)).astimezone(tz).utcoffset() == offset:
        jump -= timedelta(minutes=1)
    return jump


def reference_between(cal: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Business time in [a, b), a <= b, by adding up each local day's working intervals."""
    tz = ZoneInfo(cal.zone)
    total = timedelta(0)
    day = a.astimezone(tz).date() - timedelta(days=1)
    while day <= b.astimezone(tz).date():
        for s, e in reference_periods(cal, day):
            lo = max(a, reference_wall_to_utc(day, s, cal.zone))
            hi = min(b, reference_wall_to_utc(day, e, cal.zone))
            total += max(hi - lo, timedelta(0))
        day += timedelta(days=1)
    return total


SHORT = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))
ORACLE = examples(60)


@ORACLE
@given(calendars(), instants, SHORT)
def test_add_business_agrees_with_the_reference(cal, start, duration):
    due = cal.add_business(start, duration)
    assert reference_between(cal, start, due) == duration
    if duration:  # ...and nothing earlier would do
        assert reference_between(cal, start, due - timedelta(microseconds=1)) < duration


@ORACLE
@given(calendars(), instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)))
def test_business_between_agrees_with_the_reference(cal, a, span):
    b = a + span
    assert cal.business_between(a, b) == reference_between(cal, a, b)
    assert cal.business_between(b, a) == -reference_between(cal, a, b)


@PROPS
@given(calendars(), instants)
def test_local_wall_clock_decides_is_business(cal, t):
    # Cross-check the laid-out intervals against the definition, read in local time, holidays too.
    wall = t.astimezone(ZoneInfo(cal.zone))
    minute = wall.hour * 60 + wall.minute
    in_period = any(s <= minute < e for s, e in reference_periods(cal, wall.date()))
    # Times inside a DST gap or fold are the only place local reading and layout may differ.
    shifted = {(t + d).astimezone(ZoneInfo(cal.zone)).utcoffset() for d in (-3 * H, 3 * H)}
    if len(shifted) == 1:
        assert cal.is_business(t) == in_period
    assert cal.is_business(t) == (
        reference_between(cal, t, t + timedelta(microseconds=1)) > timedelta(0)
    )
