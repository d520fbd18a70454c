"""How SLA states read to people: badge text and colour class (shared by board, ticket page, reports)."""

from datetime import timedelta

from markupsafe import Markup, escape

from app.sla.calendar import describe_duration
from app.sla.schemas import ClockState, SlaTargetState, Target

SHORT = {Target.ack: "Ack", Target.first_response: "Reply", Target.resolution: "Resolve"}
DONE = {Target.ack: "Acknowledged", Target.first_response: "Replied", Target.resolution: "Resolved"}


def badge_text(s: SlaTargetState) -> str:
    name = SHORT[s.target]
    left = timedelta(seconds=abs(s.remaining_seconds or 0))
    if s.state == ClockState.met:
        return f"{DONE[s.target]} ✓"
    if s.state == ClockState.paused:
        return f"{name} paused · {describe_duration(left)} left"
    if s.state == ClockState.breached:
        return f"{name} overdue {describe_duration(left)}"
    return f"{name} in {describe_duration(left)}"


def badge_title(s: SlaTargetState) -> str:
    due = s.due_at.strftime("%a %Y-%m-%d %H:%M UTC") if s.due_at else "no due time while paused"
    hours = s.target_minutes / 60
    return f"{DONE[s.target].replace('ed', '')} target {hours:g} business h on {s.calendar}; due {due}; {s.state.value}"


def sla_badges(states: list[SlaTargetState] | None, include_met: bool = False) -> Markup:
    """Countdown badges; the board shows only clocks still running (or late), the ticket page all."""
    parts = []
    for s in states or ():
        if s.state == ClockState.met and not include_met:
            continue
        parts.append(
            f'<span class="badge sla sla-{s.state.value}" data-sla="{s.target.value}" data-state="{s.state.value}" '
            f'title="{escape(badge_title(s))}">{escape(badge_text(s))}</span>'
        )
    return Markup("".join(parts))
