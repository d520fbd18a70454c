"""Known answers for the business-time clock, worked out from the calendar by hand.

Public holidays used (`holidays` package, 2026): US: Thu 26 Nov (Thanksgiving), Fri 25 Dec;
US/California adds Fri 27 Nov. Germany: Fri 3 Apr, Mon 6 Apr; Bavaria (BY) adds Tue 6 Jan.
Australia/NSW: Mon 26 Jan (Australia Day). Offsets: New York UTC-5 and Los Angeles UTC-8 in
November; Berlin UTC+1 in winter, UTC+2 in summer; Sydney UTC+11 in January; Kolkata UTC+5:30.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from app.sla.calendar import (
    _US,
    EPOCH,
    CalendarError,
    calendar_from_spec,
    office_hours,
    working_days_24x5,
)

H = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def us(instant: datetime) -> int:
    return (instant - EPOCH) // _US


# --- 24x5 calendars in non-UTC zones with holidays -----------------------------------------------

CALS_24X5 = {
    "ny": lambda: working_days_24x5("America/New_York"),
    "ny-us": lambda: working_days_24x5("America/New_York", holiday_country="US"),
    "la-us": lambda: working_days_24x5("America/Los_Angeles", holiday_country="US"),
    "la-us-ca": lambda: working_days_24x5(
        "America/Los_Angeles", holiday_country="US", holiday_subdiv="CA"
    ),
    "la-custom": lambda: working_days_24x5(
        "America/Los_Angeles", custom_holidays={date(2026, 11, 25)}
    ),
    "spec-la-us-ca": lambda: calendar_from_spec(
        kind="24x5",
        zone="America/Los_Angeles",
        holiday_country="US",
        holiday_subdiv="CA",
        custom_holidays=["2026-11-30"],
    ),
}

TABLE_24X5 = [
    # calendar, start (UTC), business time to add, due (UTC)
    # Wed 25 Nov 12:00 EST + one working day: 12 h of Wednesday, Thursday, then 12 h of Friday.
    ("ny", utc(2026, 11, 25, 17), 24 * H, utc(2026, 11, 26, 17)),
    ("ny-us", utc(2026, 11, 25, 17), 24 * H, utc(2026, 11, 27, 17)),  # Thanksgiving skipped
    # Wed 25 Nov 12:00 PST: California also rests on Friday, so Monday 30 Nov 12:00 PST.
    ("la-us", utc(2026, 11, 25, 20), 24 * H, utc(2026, 11, 27, 20)),
    ("la-us-ca", utc(2026, 11, 25, 20), 24 * H, utc(2026, 11, 30, 20)),
    # A custom holiday on Wednesday: Tue 24 Nov 18:00 PST + 10 h = 6 h of Tuesday, then Thursday 04:00.
    ("la-custom", utc(2026, 11, 25, 2), 10 * H, utc(2026, 11, 26, 12)),
    # Spec with US/CA and a custom Monday 30 Nov: Wed noon + 24 h = Wed 12 h, then Tue 1 Dec 12:00 PST.
    ("spec-la-us-ca", utc(2026, 11, 25, 20), 24 * H, utc(2026, 12, 1, 20)),
    # Saturday 02:00 UTC is still Friday 18:00 in Los Angeles: two working hours remain that day.
    ("la-us", utc(2026, 11, 14, 2), 2 * H, utc(2026, 11, 14, 4)),
    # Saturday noon in Los Angeles: counting starts Monday 00:00 PST.
    ("la-us", utc(2026, 11, 14, 20), 2 * H, utc(2026, 11, 16, 10)),
]


@pytest.mark.parametrize("name,start,duration,due", TABLE_24X5)
def test_24x5_known_answers(name, start, duration, due):
    cal = CALS_24X5[name]()
    assert cal.add_business(start, duration) == due
    assert cal.business_between(start, due) == duration


@pytest.mark.parametrize("name", list(CALS_24X5))
def test_24x5_thanksgiving_week(name):
    # Wed 25 Nov 00:00 to Tue 1 Dec 00:00, local: Wed, Thu, Fri, Mon = 4 days less the holidays.
    zone_offset = 5 if name.startswith("ny") else 8
    start, end = (
        utc(2026, 11, 25, zone_offset),
        utc(2026, 12, 1, zone_offset),
    )  # Wed 00:00 .. Tue 00:00
    expected = (
        {"ny": 4, "ny-us": 3, "la-us": 3, "la-us-ca": 2, "la-custom": 3, "spec-la-us-ca": 1}[name]
        * 24
        * H
    )
    assert CALS_24X5[name]().business_between(start, end) == expected
    # Monday alone is a full working day unless the spec made it a custom holiday.
    mon = CALS_24X5[name]().business_between(utc(2026, 11, 30, zone_offset), end)
    assert mon == (0 * H if name == "spec-la-us-ca" else 24 * H)
    assert CALS_24X5[name]().is_business(utc(2026, 11, 26, 12)) == (name in ("ny", "la-custom"))


def test_24x5_has_the_day_and_refuses_nothing_else():
    cal = CALS_24X5["la-us-ca"]()
    assert cal.business_day == 24 * H
    assert cal.kind == "24x5"
    assert cal.holidays_between(date(2026, 11, 11), date(2026, 11, 27)) == [
        date(2026, 11, 11),
        date(2026, 11, 26),
        date(2026, 11, 27),
    ]  # both ends included
    assert cal.holidays_between(date(2026, 11, 12), date(2026, 11, 25)) == []
    assert working_days_24x5().zone == "UTC"


# --- office hours in non-UTC zones with holidays -----------------------------------------------

TABLE_HOURS = [
    # zone, periods, holiday country/subdivision, custom holidays, start (UTC), add, due (UTC)
    # Mon 5 Jan 16:00 CET + 2 h: 1 h on Monday; Epiphany (BY only) is skipped; Wed 10:00 CET.
    (
        "Europe/Berlin",
        "09:00-17:00",
        "DE",
        "BY",
        (),
        utc(2026, 1, 5, 15),
        2 * H,
        utc(2026, 1, 7, 9),
    ),
    (
        "Europe/Berlin",
        "09:00-17:00",
        "DE",
        None,
        (),
        utc(2026, 1, 5, 15),
        2 * H,
        utc(2026, 1, 6, 9),
    ),
    # Thu 2 Apr 16:00 CEST + 3 h: Good Friday and Easter Monday skipped; Tue 7 Apr 11:00 CEST.
    (
        "Europe/Berlin",
        "09:00-17:00",
        "DE",
        None,
        (),
        utc(2026, 4, 2, 14),
        3 * H,
        utc(2026, 4, 7, 9),
    ),
    # Fri 23 Jan 16:00 AEDT + 3 h: Australia Day Monday skipped; Tue 27 Jan 11:00 AEDT.
    (
        "Australia/Sydney",
        "09:00-17:00",
        "AU",
        "NSW",
        (),
        utc(2026, 1, 23, 5),
        3 * H,
        utc(2026, 1, 27),
    ),
    # Kolkata with a lunch break and a custom holiday on Tue 10 Mar: Mon 9 Mar 17:00 IST + 4 h:
    # 1 h Monday, Tuesday skipped, Wed 09:30-12:30 = 3 h -> Wed 12:30 IST (07:00 UTC).
    (
        "Asia/Kolkata",
        "09:30-13:00, 14:00-18:00",
        None,
        None,
        (date(2026, 3, 10),),
        utc(2026, 3, 9, 11, 30),
        4 * H,
        utc(2026, 3, 11, 7),
    ),
    # ...and 5 h lands after lunch: Wed 14:30 IST.
    (
        "Asia/Kolkata",
        "09:30-13:00, 14:00-18:00",
        None,
        None,
        (date(2026, 3, 10),),
        utc(2026, 3, 9, 11, 30),
        5 * H,
        utc(2026, 3, 11, 9),
    ),
]


@pytest.mark.parametrize("zone,periods,country,subdiv,custom,start,duration,due", TABLE_HOURS)
def test_office_hours_known_answers(zone, periods, country, subdiv, custom, start, duration, due):
    cal = office_hours(
        zone, periods, holiday_country=country, holiday_subdiv=subdiv, custom_holidays=set(custom)
    )
    assert cal.add_business(start, duration) == due
    assert cal.business_between(start, due) == duration
    assert cal.is_business(due - timedelta(seconds=1))


def test_holiday_is_not_business_and_next_business_skips_it():
    cal = office_hours("Europe/Berlin", holiday_country="DE", holiday_subdiv="BY")
    assert not cal.is_business(utc(2026, 1, 6, 10))  # Tue 6 Jan 11:00 CET
    assert cal.next_business(utc(2026, 1, 6, 10)) == utc(2026, 1, 7, 8)
    assert cal.next_business(utc(2026, 1, 7, 8)) == utc(2026, 1, 7, 8)
    assert cal.is_business(utc(2026, 1, 7, 8)) and not cal.is_business(utc(2026, 1, 7, 16))


# --- instants before and after the years first laid out ----------------------------------------

WEEKS_2019_TO_2026 = 365  # Mon 7 Jan 2019 .. Mon 5 Jan 2026: 2555 days (two leap years) = 365 weeks


@pytest.mark.parametrize("first_asked", [utc(2026, 6, 1), utc(2019, 6, 1), utc(2040, 6, 1), None])
def test_answers_do_not_depend_on_which_year_was_asked_first(first_asked):
    cal = office_hours("UTC", "09:00-17:00")
    if first_asked is not None:
        cal.is_business(first_asked)
    assert (
        cal.business_between(utc(2019, 1, 7, 9), utc(2026, 1, 5, 9))
        == WEEKS_2019_TO_2026 * 5 * 8 * H
    )
    # Fri 4 Jan 2019 16:00 + 2 h -> Mon 7 Jan 2019 10:00; Fri 7 Dec 2040 16:00 + 2 h -> Mon 10 Dec 10:00.
    assert cal.add_business(utc(2019, 1, 4, 16), 2 * H) == utc(2019, 1, 7, 10)
    assert cal.add_business(utc(2040, 12, 7, 16), 2 * H) == utc(2040, 12, 10, 10)
    assert cal.next_business(utc(2012, 12, 29, 12)) == utc(2012, 12, 31, 9)  # Sat -> Mon
    assert cal.is_business(utc(2045, 3, 1, 12)) and not cal.is_business(
        utc(2045, 3, 4, 12)
    )  # Wed, Sat
    assert cal.business_between(utc(2040, 12, 10, 10), utc(2019, 1, 7, 10)) < timedelta(0)
    # Backwards and forwards from a laid-out span, in one question.
    a, b = utc(2017, 1, 2, 9), utc(2036, 1, 7, 9)  # both Mondays, 992 weeks apart
    assert (b - a).days == 992 * 7
    assert cal.business_between(a, b) == 992 * 5 * 8 * H
    assert cal.business_between_us(us(a), us(b)) == 992 * 5 * 8 * 3600 * 10**6


def test_holidays_in_a_span_laid_out_later_are_still_skipped():
    cal = working_days_24x5("Europe/Berlin", holiday_country="DE")
    cal.is_business(utc(2035, 1, 1))
    # Thu 2 Apr 2026 12:00 CEST + 24 h: 12 h Thursday, Good Friday, weekend, Easter Monday -> Tue 00:00 + 12 h.
    assert cal.add_business(utc(2026, 4, 2, 10), 24 * H) == utc(2026, 4, 7, 10)


def test_a_long_duration_runs_into_years_not_laid_out_yet():
    cal = office_hours("UTC", "09:00-17:00", days=(0,))  # Mondays only: 8 h a week
    # 1000 Mondays' work from Mon 5 Jan 2026 09:00 ends at 17:00 on the 1000th Monday (about 2045).
    assert cal.add_business(utc(2026, 1, 5, 9), 1000 * 8 * H) == utc(2026, 1, 5, 17) + timedelta(
        weeks=999
    )
    # The calendar looks 30 years past the instant asked, whatever it was asked before (2000 Mondays
    # is 38 years): this used to count from the span already laid out, so a second calendar answered.
    for asked_before in (None, 1000 * 8 * H, 1400 * 8 * H):
        fresh = office_hours("UTC", "09:00-17:00", days=(0,))
        if asked_before is not None:
            fresh.add_business(utc(2026, 1, 5, 9), asked_before)
        with pytest.raises(CalendarError, match="runs past"):
            fresh.add_business(utc(2026, 1, 5, 9), 2000 * 8 * H)
        assert fresh.add_business(utc(2026, 1, 5, 9), 1500 * 8 * H) == utc(
            2026, 1, 5, 17
        ) + timedelta(weeks=1499)


# --- zero and negative remaining time ------------------------------------------------------------

SATURDAY = utc(2026, 11, 21, 12)
MONDAY_9 = utc(2026, 11, 23, 9)


def test_zero_remaining_time_is_due_at_once_even_outside_hours():
    cal = office_hours("UTC", "09:00-17:00")
    assert cal.add_business(SATURDAY, timedelta(0)) == SATURDAY
    assert cal.add_business_us(us(SATURDAY), 0) == us(SATURDAY)
    # After Friday's close and before Monday's opening, zero remaining is still "now", not Friday 17:00.
    assert cal.add_business_us(us(MONDAY_9) - 1, 0) == us(MONDAY_9) - 1
    assert cal.business_between(SATURDAY, SATURDAY) == timedelta(0)


def test_negative_remaining_time_means_due_already():
    cal = office_hours("UTC", "09:00-17:00")
    # A breached clock has used more than its target: its due instant is when it resumed.
    assert cal.add_business_us(us(SATURDAY), -3_600_000_000) == us(SATURDAY)
    assert cal.add_business_us(us(MONDAY_9 + H), -1) == us(MONDAY_9 + H)
    with pytest.raises(CalendarError, match="negative"):
        cal.add_business(SATURDAY, -timedelta(microseconds=1))


def test_the_smallest_durations_outside_and_inside_hours():
    cal = office_hours("UTC", "09:00-17:00")
    tick = timedelta(microseconds=1)
    assert cal.add_business(SATURDAY, tick) == MONDAY_9 + tick
    assert cal.add_business_us(us(SATURDAY), 1) == us(MONDAY_9) + 1
    assert cal.add_business(MONDAY_9, tick) == MONDAY_9 + tick
    assert cal.add_business(utc(2026, 11, 20, 17) - tick, tick) == utc(
        2026, 11, 20, 17
    )  # Friday's closing
    assert cal.add_business(utc(2026, 11, 20, 17), tick) == MONDAY_9 + tick


# --- the layout's edges: questions that start inside it and end outside, either way ----------------

OFFICE_WEEK = 40 * H  # 09:00-17:00 UTC, Monday to Friday, no holidays


@pytest.mark.parametrize(
    "a,b",
    [
        (utc(2026, 1, 5, 9), utc(2030, 1, 7, 9)),  # laid out 2025-2027: the end lies after it
        (utc(2030, 1, 7, 9), utc(2026, 1, 5, 9)),
        (utc(2026, 1, 5, 9), utc(2020, 1, 6, 9)),  # ...or before it
        (utc(2020, 1, 6, 9), utc(2026, 1, 5, 9)),
        (utc(2020, 1, 6, 9), utc(2030, 1, 7, 9)),  # both outside, one each side
    ],
)
def test_between_across_the_edges_of_the_first_layout(a, b):
    cal = office_hours("UTC")
    cal.is_business(utc(2026, 6, 1))  # lays out 2025-2027
    weeks = abs((b - a).days) // 7  # Monday to Monday: whole weeks
    assert abs((b - a).days) % 7 == 0
    expected = weeks * OFFICE_WEEK * (1 if b >= a else -1)
    assert cal.business_between(a, b) == expected
    assert cal.business_between_us(us(a), us(b)) == expected // _US


def test_add_business_from_before_the_first_period_of_the_layout():
    cal = office_hours("UTC")
    cal.is_business(
        utc(2026, 6, 1)
    )  # lays out 2025-2027; Wed 1 Jan 2025 00:00 precedes its first period
    assert cal.add_business(utc(2025, 1, 1), 2 * H) == utc(2025, 1, 1, 11)
    assert cal.add_business(utc(2025, 1, 1, 9), 2 * H) == utc(2025, 1, 1, 11)
    assert cal.add_business(utc(2027, 12, 31, 16), 2 * H) == utc(
        2028, 1, 3, 10
    )  # Fri -> Mon, past the layout


@pytest.mark.parametrize("fresh", [True, False])
def test_add_business_lands_on_the_closing_time_on_either_path(fresh):
    cal = office_hours("UTC")
    if not fresh:
        cal.is_business(utc(2026, 11, 1))
    assert cal.add_business(utc(2026, 11, 20, 9), 8 * H) == utc(
        2026, 11, 20, 17
    )  # Friday: 17:00, not Monday
    assert cal.add_business_us(us(utc(2026, 11, 20, 9)), 8 * 3600 * 10**6) == us(
        utc(2026, 11, 20, 17)
    )
    assert cal.add_business_us(us(utc(2026, 11, 20, 16)), 2 * 3600 * 10**6) == us(
        utc(2026, 11, 23, 10)
    )


def test_next_business_past_the_end_of_the_layout():
    cal = office_hours("UTC", days=(5,))  # Saturdays only
    cal.is_business(utc(2027, 6, 1))  # lays out 2026-2028 (the last Saturday in it: 30 Dec 2028)
    assert cal.next_business(utc(2028, 12, 31, 12)) == utc(2029, 1, 6, 9)
    assert cal.next_business(utc(2028, 12, 30, 17)) == utc(2029, 1, 6, 9)
    assert cal.next_business(utc(2028, 12, 30, 16, 59)) == utc(2028, 12, 30, 16, 59)


# --- building calendars from stored values ------------------------------------------------------


def test_calendar_from_spec_builds_exactly_what_it_was_given():
    cal = calendar_from_spec(
        kind="hours",
        zone="Europe/Paris",
        hours={"mon": "09:00-12:00, 13:00-17:00", "wed": "10:00-16:00", "sat": ""},
        holiday_country="FR",
        holiday_subdiv="",
        custom_holidays=[" 2026-07-13 ", date(2026, 8, 14)],
    )
    assert cal.week == (((540, 720), (780, 1020)), (), ((600, 960),), (), (), (), ())
    assert (cal.zone, cal.kind, cal.holiday_country, cal.holiday_subdiv) == (
        "Europe/Paris",
        "hours",
        "FR",
        None,
    )
    assert cal.custom_holidays == frozenset({date(2026, 7, 13), date(2026, 8, 14)})
    assert cal.business_day == 7 * H
    full = calendar_from_spec(
        kind="24x5",
        zone="Asia/Tokyo",
        holiday_country="JP",
        holiday_subdiv=None,
        custom_holidays=["2026-12-28"],
    )
    assert full == working_days_24x5(
        "Asia/Tokyo", holiday_country="JP", custom_holidays={date(2026, 12, 28)}
    )
    assert calendar_from_spec(kind="24x5", zone="UTC", holiday_country="").holiday_country is None
    assert calendar_from_spec(
        kind="hours", zone="UTC", hours={"fri": "08:00-09:00"}, holiday_country=""
    ).week[4] == ((480, 540),)
    bavaria = calendar_from_spec(
        kind="hours",
        zone="Europe/Berlin",
        hours={"tue": "09:00-17:00"},
        holiday_country="DE",
        holiday_subdiv="BY",
    )
    assert (bavaria.holiday_country, bavaria.holiday_subdiv, bavaria.kind) == ("DE", "BY", "hours")
    assert bavaria.next_business(utc(2026, 1, 6, 6)) == utc(
        2026, 1, 13, 8
    )  # Epiphany Tuesday skipped


@pytest.mark.parametrize(
    "spec,message",
    [
        ({"kind": "weekly", "zone": "UTC"}, "^calendar kind is 'hours' or '24x5'$"),
        (
            {"kind": "hours", "zone": "UTC", "hours": {"tue1": "09:00-10:00", "monday": ""}},
            "^unknown weekday[(]s[)] monday, tue1; use mon..sun$",
        ),
        (
            {
                "kind": "hours",
                "zone": "UTC",
                "hours": {"mon": "09:00-10:00"},
                "custom_holidays": ["2026-02-30"],
            },
            "^holiday '2026-02-30' is not a date [(]YYYY-MM-DD[)]$",
        ),
    ],
)
def test_calendar_specs_refused_with_the_exact_reason(spec, message):
    with pytest.raises(CalendarError, match=message):
        calendar_from_spec(**spec)


@pytest.mark.parametrize(
    "country,subdiv,message",
    [
        (None, "BY", "a holiday subdivision needs a holiday country"),
        ("", "BY", "a holiday subdivision needs a holiday country"),
        ("XX", None, "no public holidays known for country 'XX'"),
        ("DE", "XX", "no public holidays known for 'DE'/'XX'"),
    ],
)
def test_holiday_regions_are_checked_with_the_reason(country, subdiv, message):
    with pytest.raises(CalendarError, match=message):
        calendar_from_spec(kind="24x5", zone="UTC", holiday_country=country, holiday_subdiv=subdiv)


@pytest.mark.parametrize(
    "country,subdiv", [(None, None), ("", ""), ("DE", "BY"), ("US", None), ("GB", "SCT")]
)
def test_known_holiday_regions_pass(country, subdiv):
    calendar_from_spec(kind="24x5", zone="UTC", holiday_country=country, holiday_subdiv=subdiv)


def test_formatting_periods_and_countdowns():
    from app.sla.calendar import describe_duration, format_hhmm, format_periods

    assert (
        format_hhmm(0) == "00:00" and format_hhmm(545) == "09:05" and format_hhmm(1440) == "24:00"
    )
    assert format_periods(((540, 720), (780, 1440))) == "09:00-12:00, 13:00-24:00"
    assert format_periods(()) == ""
    assert [
        describe_duration(timedelta(seconds=s))
        for s in (0, 59, 60, 3599, 3600, 86399, 86400, 90000, 93780)
    ] == ["0m", "0m", "1m", "59m", "1h 00m", "23h 59m", "1d", "1d 1h", "1d 2h"]


def test_refusals_say_exactly_why():
    cal = office_hours("UTC")
    with pytest.raises(CalendarError, match=r"^cannot add a negative business duration$"):
        cal.add_business(SATURDAY, -H)
    with pytest.raises(CalendarError, match=r"^instants must be timezone-aware$"):
        cal.add_business(datetime(2026, 11, 23, 9), H)
    with pytest.raises(CalendarError, match=r"^instants must be timezone-aware$"):
        cal.business_between(datetime(2026, 11, 23, 9), MONDAY_9)
    with pytest.raises(
        CalendarError, match=r"^the duration runs past the calendar's business time$"
    ):
        office_hours("UTC", days=(0,)).add_business(MONDAY_9, 2000 * 8 * H)


@pytest.mark.parametrize(
    "text,message",
    [
        ("09:60-10:00", "^time '09:60' is not between 00:00 and 24:00$"),
        ("25:00-26:00", "^time '25:00' is not between 00:00 and 24:00$"),
        ("09:00-24:01", "^time '24:01' is not between 00:00 and 24:00$"),
        ("09:00-17:00-18:00", "^time '17:00-18:00' is not HH:MM$"),
        ("09:00", "^period '09:00' is not HH:MM-HH:MM$"),
    ],
)
def test_periods_refused_with_the_exact_reason(text, message):
    from app.sla.calendar import parse_periods

    with pytest.raises(CalendarError, match=message):
        parse_periods(text)


def test_periods_at_the_edges_of_the_day():
    from app.sla.calendar import parse_periods

    assert parse_periods("00:00-00:59, 23:59-24:00") == ((0, 59), (1439, 1440))
    assert office_hours("UTC", ((540, 600),)).week[0] == ((540, 600),)  # periods as minutes
    assert office_hours("UTC", ((540, 600),), days=(2,)).week == (
        (),
        (),
        ((540, 600),),
        (),
        (),
        (),
        (),
    )


def test_the_first_layout_includes_the_last_local_day_of_the_year_before():
    # Los Angeles office hours: Tue 31 Dec 2024 16:30 PST is 00:30 UTC on 1 Jan 2025, the very
    # start of a layout of 2025-2027; that local day must be in it.
    cal = office_hours("America/Los_Angeles")
    cal.is_business(utc(2026, 6, 1))
    assert cal.is_business(utc(2025, 1, 1, 0, 30))
    assert cal.business_between(utc(2025, 1, 1), utc(2025, 1, 1, 1)) == H


def test_between_from_before_the_first_period_of_the_layout():
    cal = office_hours("UTC")
    cal.is_business(utc(2026, 6, 1))  # lays out 2025-2027: 1 Jan 2025 00:00 precedes every period
    assert cal.business_between(utc(2025, 1, 1), utc(2025, 1, 1, 10)) == H
    assert cal.business_between(utc(2025, 1, 1), utc(2025, 1, 1, 5)) == timedelta(0)
