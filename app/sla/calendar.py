"""The business-time clock: pure functions over a business calendar, no I/O, no clock reads.

A calendar says when the team works: periods per weekday in an IANA zone (several a day
allowed), minus holidays (a country/subdivision from the `holidays` package plus custom
dates). Two kinds exist because the reference teams count differently:

- "hours": office hours, e.g. 09:00–17:00 Mon–Fri in Europe/London;
- "24x5": "a working day is a continuous 24-hour period Monday through Friday"
  (community-support-desk.md), for a team spread over many zones.

Business time is real elapsed time inside the working periods. Periods are laid out in
local wall-clock time and converted to UTC instants, so a DST change makes that day's
period an hour shorter or longer, exactly as the people working it experience.

Implementation: for a span of years the calendar's working intervals are laid out once as
sorted UTC microsecond arrays with a running total of business time; every question is
then a binary search (`bisect`), so computing due dates for 100,000 tickets is cheap.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from app.wallclock import holiday_region_problem, wall_to_us

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
US_PER_MINUTE = 60_000_000
# How far ahead we look for business time before declaring a calendar has none.
_MAX_YEARS_AHEAD = 30

Period = tuple[int, int]  # (start minute, end minute) in local time; end may be 1440 (midnight)


class CalendarError(ValueError):
    """A calendar definition that cannot be used (bad zone, overlapping periods, ...)."""


def parse_hhmm(text: str) -> int:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not match:
        raise CalendarError(f"time {text!r} is not HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise CalendarError(f"time {text!r} is not between 00:00 and 24:00")
    return hours * 60 + minutes


def format_hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_periods(text: str) -> tuple[Period, ...]:
    """`"09:00-12:00, 13:00-17:00"` → ((540, 720), (780, 1020)); empty text → no periods."""
    periods = []
    for part in (p for p in re.split(r"[,;]", text) if p.strip()):
        if "-" not in part:
            raise CalendarError(f"period {part.strip()!r} is not HH:MM-HH:MM")
        start, end = part.split("-", 1)
        periods.append((parse_hhmm(start), parse_hhmm(end)))
    return check_periods(tuple(periods))


def format_periods(periods: tuple[Period, ...]) -> str:
    return ", ".join(f"{format_hhmm(s)}-{format_hhmm(e)}" for s, e in periods)


def check_periods(periods: tuple[Period, ...]) -> tuple[Period, ...]:
    ordered = tuple(sorted(periods))
    for start, end in ordered:
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise CalendarError(
                f"period {format_hhmm(start)}-{format_hhmm(end)} must end after it starts, within the day"
            )
    for (_, end), (start, _) in pairwise(ordered):
        if start < end:
            raise CalendarError("periods of one day must not overlap")
    return ordered


def check_zone(name: str) -> ZoneInfo:
    try:
        if name not in _zones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Paris"
        ) from None


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def check_holiday_region(country: str | None, subdiv: str | None) -> None:
    problem = holiday_region_problem(country, subdiv)
    if problem:
        raise CalendarError(problem)


@dataclass(frozen=True)
class BusinessCalendar:
    """When the team works. Build with `office_hours()` or `working_days_24x5()`."""

    zone: str = "UTC"
    # Index 0 = Monday ... 6 = Sunday; each a tuple of local (start, end) minute periods.
    week: tuple[tuple[Period, ...], ...] = ((),) * 7
    kind: str = "hours"  # "hours" | "24x5"
    holiday_country: str | None = None
    holiday_subdiv: str | None = None
    custom_holidays: frozenset[date] = frozenset()
    # Memo of laid-out intervals; not part of equality, so equal calendars share nothing odd.
    _cache: dict[str, _Layout] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise CalendarError("a week has 7 days of periods")
        object.__setattr__(self, "week", tuple(check_periods(tuple(day)) for day in self.week))
        if not any(self.week):
            raise CalendarError("a calendar needs at least one working period")
        if self.kind not in ("hours", "24x5"):
            raise CalendarError("calendar kind is 'hours' or '24x5'")
        check_zone(self.zone)

    # --- the four questions ------------------------------------------------------------

    def is_business(self, instant: datetime) -> bool:
        t = _to_us(instant)
        i = self._locate(t)
        return i >= 0 and t < self._lay.ends[i]

    def next_business(self, instant: datetime) -> datetime:
        """`instant` itself if the team is working then, else when work next starts."""
        t = _to_us(instant)
        i = self._locate(t)
        lay = self._lay
        if i >= 0 and t < lay.ends[i]:
            return instant
        while i + 1 >= len(lay.starts):
            self._extend_forward()
            lay = self._lay
        return _from_us(lay.starts[i + 1])

    def add_business(self, instant: datetime, duration: timedelta) -> datetime:
        """The earliest instant at which `duration` of business time has passed since `instant`.

        A result can be the exact closing time of a period (Fri 09:00 + 8 h → Fri 17:00).
        """
        if duration < timedelta(0):
            raise CalendarError("cannot add a negative business duration")
        if not duration:
            return instant
        if instant.tzinfo is None:
            raise CalendarError("instants must be timezone-aware")
        t = (instant - EPOCH) // _US
        d = duration // _US
        # Fast path (the usual case): the instant and the result lie in the laid-out span.
        lay = self._cache.get("lay")
        if lay is not None and lay.lo <= t < lay.hi and lay.cum_end:
            starts = lay.starts
            i = bisect_right(starts, t) - 1
            if i >= 0:
                s, e = starts[i], lay.ends[i]
                goal = lay.cum[i] + (t - s if t < e else e - s) + d
            else:
                goal = d
            if lay.cum_end[-1] >= goal:
                j = bisect_left(lay.cum_end, goal)
                return EPOCH + timedelta(microseconds=starts[j] + goal - lay.cum[j])
        return _from_us(self._add_us(t, d))

    def business_between(self, a: datetime, b: datetime) -> timedelta:
        """Business time from `a` to `b` (negative if `b` is before `a`)."""
        return timedelta(microseconds=self.business_between_us(_to_us(a), _to_us(b)))

    # Microsecond variants for hot loops (the bench computes 100,000 due dates with these).
    def add_business_us(self, t: int, duration_us: int) -> int:
        return t if duration_us <= 0 else self._add_us(t, duration_us)

    def business_between_us(self, a: int, b: int) -> int:
        lay = self._cache.get("lay")
        if lay is None or not (
            lay.lo <= a < lay.hi and lay.lo <= b < lay.hi
        ):  # the usual case skips this
            # Cover the earlier instant first: extending backwards renumbers the running totals.
            self._cover(min(a, b))
            lay = self._cover(max(a, b))
        return _cum_in(lay, b) - _cum_in(lay, a)

    # --- descriptions for people ---------------------------------------------------------

    @property
    def business_day(self) -> timedelta:
        """Length of a "business day" on this calendar: 24 h for 24x5, else the longest working day."""
        if self.kind == "24x5":
            return timedelta(hours=24)
        return timedelta(minutes=max(sum(e - s for s, e in day) for day in self.week))

    def holidays_between(self, start: date, end: date) -> list[date]:
        names = self._holiday_dates(start.year, end.year)
        return sorted(d for d in names if start <= d <= end)

    # --- layout --------------------------------------------------------------------------

    @cached_property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def _lay(self) -> _Layout:
        """The layout so far; only read after `_cover` laid one out around an instant asked."""
        return self._cache["lay"]

    def _build(self, first_year: int, last_year: int) -> _Layout:
        lay = _Layout.build(self, first_year, last_year)
        self._cache["lay"] = lay
        return lay

    def _holiday_dates(self, first_year: int, last_year: int) -> set[date]:
        days = {d for d in self.custom_holidays if first_year <= d.year <= last_year}
        if self.holiday_country:
            for year in range(first_year, last_year + 1):
                days |= _public_holidays(self.holiday_country, self.holiday_subdiv, year)
        return days

    def _extend_forward(self) -> None:
        lay = self._lay
        if lay.last_year - lay.first_year > _MAX_YEARS_AHEAD + 200:
            raise CalendarError("this calendar has no business time in the foreseeable future")
        self._build(lay.first_year, lay.last_year + 2)

    def _cover(self, t: int) -> _Layout:
        lay = self._cache.get("lay")
        if lay is None:
            # The first span laid out is the year asked about (and one each side), never the
            # real clock's: which code runs depends only on the instants asked.
            year = _from_us(t).year
            lay = self._build(year - 1, year + 1)
        while t < lay.lo:
            lay = self._build(lay.first_year - 2, lay.last_year)
        while t >= lay.hi:
            lay = self._build(lay.first_year, lay.last_year + 2)
        return lay

    def _locate(self, t: int) -> int:
        """Index of the last interval starting at or before t (-1 if none)."""
        return bisect_right(self._cover(t).starts, t) - 1

    def _cum(self, t: int) -> int:
        return _cum_in(self._cover(t), t)

    def _add_us(self, t: int, duration_us: int) -> int:
        goal = self._cum(t) + duration_us
        lay = self._lay
        # Counted from the instant asked, so the answer does not depend on what was asked before.
        horizon = _from_us(t).year + _MAX_YEARS_AHEAD
        while not lay.cum_end or lay.cum_end[-1] < goal:
            if lay.last_year >= horizon:
                raise CalendarError("the duration runs past the calendar's business time")
            lay = self._build(lay.first_year, lay.last_year + 2)
        # First interval whose running total at its end reaches the goal.
        i = bisect_left(lay.cum_end, goal)
        return lay.starts[i] + (goal - lay.cum[i])


@dataclass(frozen=True)
class _Layout:
    first_year: int
    last_year: int
    lo: int  # instants in [lo, hi) are covered
    hi: int
    starts: list[int]
    ends: list[int]
    cum: list[int]  # business µs before interval i
    cum_end: list[int]  # business µs at the end of interval i

    @classmethod
    def build(cls, cal: BusinessCalendar, first_year: int, last_year: int) -> _Layout:
        tz = cal._tz
        # One day of margin each side so instants near New Year in any zone are covered.
        day = date(first_year, 1, 1) - timedelta(days=1)
        last = date(last_year, 12, 31) + timedelta(days=1)
        skip = cal._holiday_dates(first_year - 1, last_year + 1)
        starts: list[int] = []
        ends: list[int] = []
        one_day = timedelta(days=1)
        while day <= last:
            periods = cal.week[day.weekday()]
            if periods and day not in skip:
                for s_min, e_min in periods:
                    s = _local_to_us(day, s_min, tz)
                    e = _local_to_us(day, e_min, tz)
                    if starts and s <= ends[-1]:
                        # Touching (24x5 midnight to midnight) or DST-squeezed: one interval.
                        s = ends[-1]
                        if e <= s:
                            continue
                        ends[-1] = e
                        continue
                    if e > s:
                        starts.append(s)
                        ends.append(e)
            day += one_day
        cum, cum_end, total = [], [], 0
        for s, e in zip(starts, ends):
            cum.append(total)
            total += e - s
            cum_end.append(total)
        lo = _to_us(datetime(first_year, 1, 1, tzinfo=UTC))
        hi = _to_us(datetime(last_year + 1, 1, 1, tzinfo=UTC))
        return cls(first_year, last_year, lo, hi, starts, ends, cum, cum_end)


@lru_cache(maxsize=512)
def _public_holidays(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    import holidays  # imported on first use: building its country tables takes a while

    return frozenset(holidays.country_holidays(country, subdiv=subdiv or None, years=year))


def _cum_in(lay: _Layout, t: int) -> int:
    """Business µs from the layout's start to `t` (which the layout covers)."""
    i = bisect_right(lay.starts, t) - 1
    if i < 0:
        return 0
    end = lay.ends[i]
    return lay.cum[i] + (t - lay.starts[i] if t < end else end - lay.starts[i])


def _to_us(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise CalendarError("instants must be timezone-aware")
    return (instant - EPOCH) // _US


def _from_us(t: int) -> datetime:
    return EPOCH + timedelta(microseconds=t)


def _local_to_us(day: date, minute: int, tz: ZoneInfo) -> int:
    """A local wall-clock time as a UTC instant; a time skipped by DST maps to the jump itself (app.wallclock)."""
    return wall_to_us(day, minute, tz)


# --- constructors ------------------------------------------------------------------------


def office_hours(
    zone: str,
    periods: str | tuple[Period, ...] = "09:00-17:00",
    *,
    days: tuple[int, ...] = (0, 1, 2, 3, 4),
    holiday_country: str | None = None,
    holiday_subdiv: str | None = None,
    custom_holidays: frozenset[date] | set[date] = frozenset(),
) -> BusinessCalendar:
    day_periods = (
        parse_periods(periods) if isinstance(periods, str) else check_periods(tuple(periods))
    )
    week = tuple(day_periods if i in days else () for i in range(7))
    return BusinessCalendar(
        zone=zone,
        week=week,
        kind="hours",
        holiday_country=holiday_country,
        holiday_subdiv=holiday_subdiv,
        custom_holidays=frozenset(custom_holidays),
    )


def working_days_24x5(
    zone: str = "UTC",
    *,
    holiday_country: str | None = None,
    holiday_subdiv: str | None = None,
    custom_holidays: frozenset[date] | set[date] = frozenset(),
) -> BusinessCalendar:
    """Each of Monday–Friday is one continuous 24-hour working day in `zone`."""
    full = ((0, MINUTES_PER_DAY),)
    week = (full,) * 5 + ((),) * 2
    return BusinessCalendar(
        zone=zone,
        week=week,
        kind="24x5",
        holiday_country=holiday_country,
        holiday_subdiv=holiday_subdiv,
        custom_holidays=frozenset(custom_holidays),
    )


def calendar_from_spec(
    *,
    kind: str,
    zone: str,
    hours: dict[str, str] | None = None,
    holiday_country: str | None = None,
    holiday_subdiv: str | None = None,
    custom_holidays: list[str] | list[date] | None = None,
) -> BusinessCalendar:
    """Build a calendar from stored/posted values, e.g. hours={"mon": "09:00-17:00", ...}."""
    days: set[date] = set()
    for raw in custom_holidays or []:
        try:
            days.add(raw if isinstance(raw, date) else date.fromisoformat(str(raw).strip()))
        except ValueError:
            raise CalendarError(f"holiday {raw!r} is not a date (YYYY-MM-DD)") from None
    check_holiday_region(holiday_country, holiday_subdiv)
    if kind == "24x5":
        return working_days_24x5(
            zone,
            holiday_country=holiday_country or None,
            holiday_subdiv=holiday_subdiv or None,
            custom_holidays=frozenset(days),
        )
    if kind != "hours":
        raise CalendarError("calendar kind is 'hours' or '24x5'")
    hours = hours or {}
    unknown = set(hours) - set(WEEKDAYS)
    if unknown:
        raise CalendarError(f"unknown weekday(s) {', '.join(sorted(unknown))}; use mon..sun")
    week = tuple(parse_periods(hours.get(name, "") or "") for name in WEEKDAYS)
    return BusinessCalendar(
        zone=zone,
        week=week,
        kind="hours",
        holiday_country=holiday_country or None,
        holiday_subdiv=holiday_subdiv or None,
        custom_holidays=frozenset(days),
    )


def describe_duration(delta: timedelta) -> str:
    """`1d 2h`, `3h 05m`, `45m`: a compact countdown for badges."""
    seconds = int(abs(delta).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days}d {hours}h" if hours else f"{days}d"
    elif hours:
        text = f"{hours}h {minutes:02d}m"
    else:
        text = f"{minutes}m"
    return text
