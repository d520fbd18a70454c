"""Which local dates a schedule skips: public holidays (the `holidays` package) plus its own dates."""

from datetime import date
from functools import lru_cache

import holidays as holidays_lib

from app.errors import InvalidInput


@lru_cache(maxsize=256)
def _public(country: str, subdiv: str | None, year: int) -> tuple[date, ...]:
    return tuple(sorted(holidays_lib.country_holidays(country, subdiv=subdiv, years=year).keys()))


def check_calendar(country: str | None, subdiv: str | None) -> None:
    """Refuse an unknown country or subdivision up front, with the reason."""
    if not country:
        if subdiv:
            raise InvalidInput("holiday_subdivision needs holiday_country", code="bad_holidays")
        return
    try:
        _public(country, subdiv or None, 2026)
    except (NotImplementedError, ValueError, KeyError) as exc:
        raise InvalidInput(f"unknown holiday calendar: {exc} (use ISO 3166 codes, e.g. US / CA or GB / ENG)",
                           code="bad_holidays") from None

def skipped_dates(country: str | None, subdiv: str | None, extra: list[date] | tuple[date, ...],
                  first_year: int, last_year: int) -> tuple[date, ...]:
    """Sorted holidays in the given years (a year either side is added by the caller when needed)."""
    days: set[date] = {d for d in extra if first_year <= d.year <= last_year}
    if country:
        for year in range(first_year, last_year + 1):
            days.update(_public(country, subdiv or None, year))
    return tuple(sorted(days))
