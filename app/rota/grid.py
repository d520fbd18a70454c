"""Laying final shifts out as a week or month grid in the schedule's zone. Pure."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from app.rota.schedule import Shift, local_instant
from zoneinfo import ZoneInfo


@dataclass
class Entry:
    role: str
    user_id: int
    start: datetime  # local
    end: datetime  # local
    override: bool
    whole_day: bool


@dataclass
class Day:
    day: date
    in_range: bool  # false for the padding days of a month view
    entries: list[Entry] = field(default_factory=list)


def window(view: str, anchor: date) -> tuple[date, int, date]:
    """(first day shown, number of days, first day of the period): weeks start on Monday."""
    if view == "month":
        first = anchor.replace(day=1)
        start = first - timedelta(days=first.weekday())
        nxt = (first + timedelta(days=32)).replace(day=1)
        end = nxt + timedelta(days=(7 - nxt.weekday()) % 7)
        return start, (end - start).days, first
    start = anchor - timedelta(days=anchor.weekday())
    return start, 7, start


def build_grid(shifts: list[Shift], zone: str, first: date, days: int, period: tuple[date, date] | None = None,
               roles: list[str] | None = None) -> list[list[Day]]:
    """Weeks of days; each day lists the shift pieces that touch it, clipped to the day."""
    tz = ZoneInfo(zone)
    out: list[Day] = []
    for i in range(days):
        d = first + timedelta(days=i)
        lo, hi = local_instant(d, time(), zone), local_instant(d + timedelta(days=1), time(), zone)
        entries = []
        for s in shifts:
            if s.end <= lo or s.start >= hi:
                continue
            a, b = max(s.start, lo), min(s.end, hi)
            entries.append(Entry(s.role, s.user_id, a.astimezone(tz), b.astimezone(tz), s.override_id is not None,
                                 a == lo and b == hi))
        order = {r: i for i, r in enumerate(roles or [])}
        entries.sort(key=lambda e: (order.get(e.role, len(order)), e.start))
        in_range = period is None or period[0] <= d < period[1]
        out.append(Day(d, in_range, entries))
    return [out[i:i + 7] for i in range(0, len(out), 7)]
