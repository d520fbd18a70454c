"""SLA shapes shown to callers; kept apart from the tables so the ticket output can embed them
without importing the SLA tables (and so nothing here is mass-assigned)."""

from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from sqlmodel import SQLModel


class Target(StrEnum):
    ack = "ack"  # acknowledgement: a staff member triaged, claimed or answered it
    first_response = "first_response"  # the first public staff reply
    resolution = "resolution"  # resolved or closed


TARGET_LABELS = {
    Target.ack: "Acknowledge",
    Target.first_response: "First response",
    Target.resolution: "Resolve",
}


class ClockState(StrEnum):
    running = "running"
    at_risk = "at_risk"  # 25 % or less of the target left
    paused = "paused"  # pending on the requester
    met = "met"
    breached = "breached"


class SlaTargetState(SQLModel):
    """One SLA target of one ticket, as of `as_of`."""

    target: Target
    state: ClockState
    due_at: datetime | None
    target_minutes: int
    # Business time left (negative once breached); None when met.
    remaining_seconds: int | None
    elapsed_seconds: int
    calendar: str
    started_at: datetime
    stopped_at: datetime | None
    breached_at: datetime | None


class SlaCountdown(NamedTuple):
    """What a countdown badge shows of one target: the board's lean form of `SlaTargetState`.

    A board page shows 300 of these; as plain tuples they cost ~0.5 µs each to build, where
    the validated model costs ~5 µs. Field names match the model's, so a badge takes either.
    """

    target: Target
    state: ClockState
    due_at: datetime | None
    target_minutes: int
    remaining_seconds: int | None  # business time left (negative once breached); None when met
    calendar: str
