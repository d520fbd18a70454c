"""What happens to one SLA clock: start, pause, resume, stop, reopen, retarget, and its state.

Pure rules over a clock row and its calendar: no session, no clock reads (`now` is passed).
Business time used = `consumed_us` (closed running segments) + the open segment since
`running_since`, measured on the clock's calendar.
"""

from datetime import datetime

from app.sla.calendar import US_PER_MINUTE, BusinessCalendar, _from_us, _to_us
from app.sla.models import SlaClock
from app.sla.schemas import ClockState


def target_us(clock: SlaClock) -> int:
    return clock.target_minutes * US_PER_MINUTE


def risk_threshold_us(total: int) -> int:
    """Business time used at which a clock turns "at risk": 25 % or less left."""
    return total - total // 4


def used_us(clock: SlaClock, cal: BusinessCalendar, now: datetime) -> int:
    if clock.stopped_at is not None:
        return clock.elapsed_us or 0
    used = clock.consumed_us
    if clock.running_since is not None:
        used += cal.business_between_us(_to_us(clock.running_since), _to_us(now))
    return used


def schedule(clock: SlaClock, cal: BusinessCalendar) -> None:
    """Store when a running clock is due and when it turns at risk."""
    if clock.running_since is None:
        return
    since = _to_us(clock.running_since)
    total = target_us(clock)
    clock.due_at = _from_us(cal.add_business_us(since, total - clock.consumed_us))
    clock.at_risk_at = _from_us(
        cal.add_business_us(since, risk_threshold_us(total) - clock.consumed_us)
    )
    if clock.consumed_us >= total:
        # Already over when this segment began: due when it was over, not when it resumed.
        clock.due_at = min(clock.due_at, clock.running_since)


def start(clock: SlaClock, cal: BusinessCalendar, now: datetime) -> SlaClock:
    clock.started_at = now
    clock.running_since = now
    clock.consumed_us = 0
    schedule(clock, cal)
    return clock


def pause(clock: SlaClock, cal: BusinessCalendar, now: datetime) -> None:
    if clock.stopped_at is not None or clock.running_since is None:
        return
    clock.consumed_us = used_us(clock, cal, now)
    clock.running_since = None
    clock.at_risk_at = None
    if clock.consumed_us < target_us(clock):
        clock.due_at = None  # unknown until the requester answers
    # else: keep the instant it was breached at, so the sweep still records it


def resume(clock: SlaClock, cal: BusinessCalendar, now: datetime) -> None:
    if clock.stopped_at is not None or clock.running_since is not None:
        return
    clock.running_since = now
    breached_due = clock.due_at
    schedule(clock, cal)
    if breached_due is not None and clock.consumed_us >= target_us(clock):
        clock.due_at = breached_due


def stop(clock: SlaClock, cal: BusinessCalendar, now: datetime) -> None:
    if clock.stopped_at is not None:
        return
    used = used_us(clock, cal, now)
    was_running = clock.running_since is not None
    if was_running:
        schedule(clock, cal)  # due_at as it stood, for the report and the sweep
    clock.elapsed_us = used
    clock.consumed_us = used
    clock.stopped_at = now
    clock.running_since = None
    clock.at_risk_at = None
    on_time = used <= target_us(clock)
    clock.settled = on_time or clock.breached_at is not None


def reopen(clock: SlaClock, cal: BusinessCalendar, now: datetime) -> None:
    """A resolved ticket reopened: the resolution clock runs on from where it stopped."""
    if clock.stopped_at is None:
        return
    clock.consumed_us = clock.elapsed_us or 0
    clock.elapsed_us = None
    clock.stopped_at = None
    clock.running_since = now
    breached_due = clock.due_at if clock.consumed_us >= target_us(clock) else None
    schedule(clock, cal)
    if breached_due is not None:
        clock.due_at = breached_due
    clock.settled = clock.breached_at is not None


def retarget(
    clock: SlaClock,
    old: BusinessCalendar,
    new: BusinessCalendar,
    *,
    minutes: int,
    calendar_id: int,
    rule_id: int | None,
    now: datetime,
) -> None:
    """Criticality or policy changed: close the open segment on the old calendar, go on with the new target."""
    if clock.stopped_at is not None:
        return
    running = clock.running_since is not None
    clock.consumed_us = used_us(clock, old, now)
    clock.target_minutes = minutes
    clock.calendar_id = calendar_id
    clock.rule_id = rule_id
    if running:
        clock.running_since = now
        schedule(clock, new)
        if clock.consumed_us >= target_us(clock):
            clock.due_at = now  # the new, shorter target is already used up
    else:
        clock.due_at = now if clock.consumed_us >= target_us(clock) else None
    clock.settled = clock.breached_at is not None


def reading(
    clock: SlaClock, cal: BusinessCalendar, now: datetime
) -> tuple[ClockState, int | None, int]:
    """(state, business µs left or None once met, business µs used) of a clock at `now`."""
    total = target_us(clock)
    used = used_us(clock, cal, now)
    if clock.stopped_at is not None:
        if used <= total:
            return ClockState.met, None, used
        return ClockState.breached, total - used, used
    remaining = total - used
    if clock.running_since is None:
        return (ClockState.breached if used >= total else ClockState.paused), remaining, used
    if remaining <= 0:
        return ClockState.breached, remaining, used
    if used >= risk_threshold_us(total):
        return ClockState.at_risk, remaining, used
    return ClockState.running, remaining, used
