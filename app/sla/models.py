"""SLA tables: named business calendars, policies with their rules, and per-ticket clocks.

A policy is a list of rules; a rule says "for tickets matching (channel, criticality,
urgency), reach <target> within <minutes> of business time on <calendar>". The policy
without a community is the default; a community's own policy overrides it target by
target (a target it does not mention falls back to the default policy).
"""

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from app.db import UTCDateTime, utcnow
from app.sla.schemas import Target
from app.ticket.enums import Channel, Criticality, Urgency


class SlaCalendar(SQLModel, table=True):
    __tablename__ = "sla_calendar"
    __cache_area__ = "sla"  # app/cache.py: cached per process, dropped on write

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, sa_column_kwargs={"unique": True})
    kind: str = Field(default="hours", sa_type=sa.String(8))  # hours | 24x5
    zone: str = Field(default="UTC", max_length=64)
    # {"mon": "09:00-17:00", "tue": "09:00-12:00, 13:00-17:00", ...}; ignored for 24x5.
    hours: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    holiday_country: str | None = Field(default=None, max_length=8)
    holiday_subdiv: str | None = Field(default=None, max_length=16)
    custom_holidays: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SlaCalendarIn(SQLModel):
    name: str = Field(min_length=1, max_length=80)
    kind: str = Field(default="hours", regex="^(hours|24x5)$")
    zone: str = Field(default="UTC", max_length=64)
    hours: dict[str, str] = Field(default_factory=dict)
    holiday_country: str | None = Field(default=None, max_length=8)
    holiday_subdiv: str | None = Field(default=None, max_length=16)
    custom_holidays: list[str] = Field(default_factory=list, max_length=400)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "London office",
                    "kind": "hours",
                    "zone": "Europe/London",
                    "hours": {
                        "mon": "09:00-17:00",
                        "tue": "09:00-17:00",
                        "wed": "09:00-17:00",
                        "thu": "09:00-17:00",
                        "fri": "09:00-16:00",
                    },
                    "holiday_country": "GB",
                    "holiday_subdiv": "ENG",
                    "custom_holidays": ["2026-12-24"],
                }
            ]
        }
    }


class SlaCalendarPublic(SQLModel):
    id: int
    name: str
    kind: str
    zone: str
    hours: dict[str, str]
    holiday_country: str | None
    holiday_subdiv: str | None
    custom_holidays: list[str]
    updated_at: datetime


class SlaPolicy(SQLModel, table=True):
    __tablename__ = "sla_policy"
    __cache_area__ = "sla"  # app/cache.py: cached per process, dropped on write

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, sa_column_kwargs={"unique": True})
    # None: the default policy. Otherwise this community's override.
    community_id: int | None = Field(
        default=None,
        foreign_key="community.id",
        ondelete="CASCADE",
        sa_column_kwargs={"unique": True},
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SlaRule(SQLModel, table=True):
    __tablename__ = "sla_rule"
    __cache_area__ = "sla"  # app/cache.py: cached per process, dropped on write
    __table_args__ = (Index("ix_sla_rule_policy_target", "policy_id", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    policy_id: int = Field(foreign_key="sla_policy.id", ondelete="CASCADE")
    target: str = Field(sa_type=sa.String(16))
    # Matchers; None matches anything. The most specific matching rule wins.
    channel: str | None = Field(default=None, sa_type=sa.String(16))
    criticality: int | None = Field(default=None)
    urgency: str | None = Field(default=None, sa_type=sa.String(16))
    minutes: int
    calendar_id: int = Field(foreign_key="sla_calendar.id", ondelete="RESTRICT")


class SlaRuleIn(SQLModel):
    target: Target
    channel: Channel | None = None
    criticality: Criticality | None = None
    urgency: Urgency | None = None
    minutes: int = Field(ge=1, le=60 * 24 * 365)
    calendar_id: int


class SlaRulePublic(SQLModel):
    id: int
    target: Target
    channel: Channel | None
    criticality: Criticality | None
    urgency: Urgency | None
    minutes: int
    calendar_id: int


class SlaPolicyIn(SQLModel):
    name: str = Field(min_length=1, max_length=80)
    community: str | None = Field(
        default=None, max_length=64, description="community slug; omit for the default"
    )
    rules: list[SlaRuleIn] = Field(default_factory=list, max_length=200)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()


class SlaPolicyPublic(SQLModel):
    id: int
    name: str
    community: str | None
    rules: list[SlaRulePublic]
    updated_at: datetime


class SlaClock(SQLModel, table=True):
    """One target's clock on one ticket.

    Business time used so far is `consumed_us` (closed running segments) plus the open
    segment since `running_since`. Paused: `running_since` is None. Stopped: `stopped_at`.
    `due_at` and `at_risk_at` are stored so the board and the sweep can filter in SQL.
    """

    __tablename__ = "sla_clock"
    __table_args__ = (
        UniqueConstraint("ticket_id", "target"),
        Index("ix_sla_clock_running_due", "stopped_at", "due_at"),
        Index("ix_sla_clock_running_risk", "stopped_at", "at_risk_at"),
        Index("ix_sla_clock_unsettled_due", "settled", "due_at"),
        Index("ix_sla_clock_report", "target", "opened_at"),
        # Covers the report's live part (clocks still running: decided once due) without
        # reading the table rows (migration 0008).
        Index(
            "ix_sla_clock_report_live",
            "stopped_at",
            "opened_at",
            "target",
            "channel",
            "criticality",
            "community_id",
            "due_at",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", ondelete="CASCADE", index=True)
    target: str = Field(sa_type=sa.String(16))
    rule_id: int | None = Field(default=None, foreign_key="sla_rule.id", ondelete="SET NULL")
    calendar_id: int = Field(foreign_key="sla_calendar.id", ondelete="RESTRICT")
    target_minutes: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    running_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consumed_us: int = Field(default=0, sa_type=sa.BigInteger)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    at_risk_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Business time used when stopped; the report reads it (median time to first response).
    elapsed_us: int | None = Field(default=None, sa_type=sa.BigInteger)
    # True once nothing more can happen to it: met on time, or its breach recorded. The
    # sweep only looks at unsettled clocks, so met history does not slow it down.
    settled: bool = Field(default=False)
    # Set once by the sweep, so each breach is announced exactly once.
    breached_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # Copies of the ticket's report dimensions (kept in step by the ticket hook): the report
    # then aggregates one narrow table instead of joining 300,000 clocks to their tickets.
    channel: str = Field(default="", sa_type=sa.String(16))
    criticality: int | None = Field(default=None)
    community_id: int | None = Field(default=None)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- the report's rollup (migration 0008) --------------------------------------------------
# Kept by database triggers on `sla_clock` and `ticket` (same transaction as the write, and
# whoever writes: the ticket hook, the sweep, a bulk import), so the report reads a few
# thousand day rows instead of 300,000 clocks. Only *stopped* clocks are rolled up: whether
# they are decided or met no longer depends on "now". Running clocks are counted live.
# criticality and community_id are 0 for "none" (they are part of the primary key).


class SlaReportDay(SQLModel, table=True):
    """Stopped clocks per UTC day of opening, dimensions and target: all decided, `met` on time."""

    __tablename__ = "sla_report_day"
    # Group order for the report: by (dimension, target), or by (day, target) for periods (0009).
    __table_args__ = (
        Index("ix_sla_report_day_channel", "channel", "target", "day", "decided", "met"),
        Index("ix_sla_report_day_criticality", "criticality", "target", "day", "decided", "met"),
        Index("ix_sla_report_day_community", "community_id", "target", "day", "decided", "met"),
        Index("ix_sla_report_day_days", "day", "target", "decided", "met"),
    )

    day: date = Field(primary_key=True)
    channel: str = Field(primary_key=True, sa_type=sa.String(16))
    criticality: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    community_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    target: str = Field(primary_key=True, sa_type=sa.String(16))
    decided: int = Field(default=0)
    met: int = Field(default=0)


class SlaReportMinute(SQLModel, table=True):
    """Answered first responses per UTC day of opening, dimensions and whole minute of business time."""

    __tablename__ = "sla_report_minute"
    # (dimension, minute) order: the report groups by one dimension without a sort (migration 0009).
    __table_args__ = (
        Index("ix_sla_report_minute_channel", "channel", "minute", "day", "n"),
        Index("ix_sla_report_minute_criticality", "criticality", "minute", "day", "n"),
        Index("ix_sla_report_minute_community", "community_id", "minute", "day", "n"),
    )

    day: date = Field(primary_key=True)
    channel: str = Field(primary_key=True, sa_type=sa.String(16))
    criticality: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    community_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    minute: int = Field(
        primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    n: int = Field(default=0)


class SlaReportMinuteSegment(SQLModel, table=True):
    """Answered first responses per segment of opening and whole minute, no other dimension
    (migration 0009). A segment is the days an ISO week and a calendar month share, named by
    its first day: weeks and months are unions of whole segments, so the report by period
    reads ~50 segments a year instead of every day x dimension."""

    __tablename__ = "sla_report_minute_segment"

    segment: date = Field(primary_key=True)
    minute: int = Field(
        primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    n: int = Field(default=0)


class SlaReportTickets(SQLModel, table=True):
    """Tickets per UTC day of creation and dimensions (the report's ticket column)."""

    __tablename__ = "sla_report_tickets"

    day: date = Field(primary_key=True)
    channel: str = Field(primary_key=True, sa_type=sa.String(16))
    criticality: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    community_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    n: int = Field(default=0)
