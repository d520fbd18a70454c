"""Which local dates a schedule skips: public holidays (the `holidays` package) plus its own dates."""

from datetime import date
from functools import lru_cache

import holidays as holidays_lib

from app.errors import InvalidInput
from app.wallclock import holiday_region_problem


@lru_cache(maxsize=256)
def _public(country: str, subdiv: str | None, year: int) -> tuple[date, ...]:
    return tuple(sorted(holidays_lib.country_holidays(country, subdiv=subdiv, years=year).keys()))


def check_calendar(country: str | None, subdiv: str | None) -> None:
    """Refuse an unknown country or subdivision up front, with the reason (the SLA calendar's check)."""
    problem = holiday_region_problem(country, subdiv)
    if problem:
        raise InvalidInput(problem, code="bad_holidays")


def skipped_dates(
    country: str | None,
    subdiv: str | None,
    extra: list[date] | tuple[date, ...],
    first_year: int,
    last_year: int,
) -> tuple[date, ...]:
    """Sorted holidays in the given years (a year either side is added by the caller when needed)."""
    days: set[date] = {d for d in extra if first_year <= d.year <= last_year}
    if country:
        for year in range(first_year, last_year + 1):
            days.update(_public(country, subdiv or None, year))
    return tuple(sorted(days))
