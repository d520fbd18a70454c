"""How SLA states read to people: badge text and colour class (shared by board, ticket page, reports)."""

from datetime import datetime, timedelta
from functools import lru_cache

from markupsafe import Markup, escape

from app.sla.calendar import describe_duration
from app.sla.schemas import ClockState, SlaCountdown, SlaTargetState, Target

SHORT = {Target.ack: "Ack", Target.first_response: "Reply", Target.resolution: "Resolve"}
DONE = {Target.ack: "Acknowledged", Target.first_response: "Replied", Target.resolution: "Resolved"}


def badge_text(s: SlaTargetState | SlaCountdown) -> str:
    name = SHORT[s.target]
    left = timedelta(seconds=abs(s.remaining_seconds or 0))
    if s.state == ClockState.met:
        return f"{DONE[s.target]} ✓"
    if s.state == ClockState.paused:
        return f"{name} paused · {describe_duration(left)} left"
    if s.state == ClockState.breached:
        return f"{name} overdue {describe_duration(left)}"
    return f"{name} in {describe_duration(left)}"


def badge_title(target: Target, state: ClockState, due_at: datetime | None, target_minutes: int, calendar: str) -> str:
    due = due_at.strftime("%a %Y-%m-%d %H:%M UTC") if due_at else "no due time while paused"
    hours = target_minutes / 60
    return f"{DONE[target].replace('ed', '')} target {hours:g} business h on {calendar}; due {due}; {state.value}"


@lru_cache(maxsize=4096)
def _badge_open(target: Target, state: ClockState, due_at: datetime | None, target_minutes: int, calendar: str) -> str:
    # The part of a badge that stays the same while its clock runs, drawn once per clock: a
    # board page shows up to 300 badges, and drawing each whole every time cost ~1.7 ms a page.
    return (f'<span class="badge sla sla-{state.value}" data-sla="{target.value}" data-state="{state.value}" '
            f'title="{escape(badge_title(target, state, due_at, target_minutes, calendar))}">')


def sla_badges(states: list[SlaTargetState] | list[SlaCountdown] | None, include_met: bool = False) -> Markup:
    """Countdown badges; the board shows only clocks still running (or late), the ticket page all."""
    parts = []
    for s in states or ():
        if s.state == ClockState.met and not include_met:
            continue
        opening = _badge_open(s.target, s.state, s.due_at, s.target_minutes, s.calendar)
        parts.append(f"{opening}{badge_text(s)}</span>")  # the text is ours: fixed labels and numbers
    return Markup("".join(parts))
