"""Local wall-clock times as UTC instants, and which holiday regions exist: one rule each for
the SLA calendar and the rota. Pure, no I/O.

A wall time that a DST change skips (clocks jump 02:00 -> 03:00, so 02:30 never shows) is the
jump itself: an SLA period or a rota handoff "at 02:30" starts the moment the clock passes
02:30, i.e. at 03:00 new time. A wall time that happens twice (clocks go back) means its first
occurrence. Both rules are monotonic, so consecutive boundaries never cross, and both agree with
how the people working the shift read their clock.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def wall_to_us(day: date, at: time | int, tz: ZoneInfo) -> int:
    """`day` at wall time `at` (a time, or minutes since midnight up to 1440) in `tz`, as UTC µs."""
    if isinstance(at, int):
        naive = datetime.combine(day, time()) + timedelta(minutes=at)
    else:
        naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    us = (first - EPOCH) // _US
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        # Skipped by the clock. `first` read it with the offset before the jump, so it lies after
        # the jump; `fold=1` read it with the offset after, before the jump. Bisect between them.
        lo = (naive.replace(tzinfo=tz, fold=1) - EPOCH) // _US
        hi = us
        offset_after = naive.replace(tzinfo=tz, fold=1).utcoffset()
        while hi - lo > 1_000_000:
            mid = (lo + hi) // 2
            if (EPOCH + timedelta(microseconds=mid)).astimezone(tz).utcoffset() == offset_after:
                hi = mid
            else:
                lo = mid
        # Zones change offset on a whole second: the only one in (lo, hi].
        us = (lo // 1_000_000 + 1) * 1_000_000
    return us


def wall_to_utc(day: date, at: time, zone_name: str) -> datetime:
    return EPOCH + timedelta(microseconds=wall_to_us(day, at, zone(zone_name)))


def holiday_region_problem(country: str | None, subdiv: str | None) -> str | None:
    """Why a holiday country/subdivision cannot be used, or None when the `holidays` package knows it."""
    if not country:
        return "a holiday subdivision needs a holiday country" if subdiv else None
    import holidays  # imported on first use: building its country tables takes a while

    hint = "(use ISO 3166 codes, e.g. US / CA or GB / ENG)"
    if country not in holidays.list_supported_countries():
        return f"no public holidays known for country {country!r} {hint}"
    if subdiv:
        try:
            holidays.country_holidays(country, subdiv=subdiv, years=2026)
        except (NotImplementedError, ValueError, KeyError):
            return f"no public holidays known for {country!r}/{subdiv!r} {hint}"
    return None
