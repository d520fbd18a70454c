"""Rota tables and their API shapes (table, input and output are separate classes)."""

import re
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import AwareDatetime, field_validator, model_validator
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from app.db import UTCDateTime, utcnow
from app.rota.schedule import RotationKind
from app.user.models import UserRef

ROLE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class TriageMode(StrEnum):
    off = "off"  # the rota does not touch new tickets
    offer = "offer"  # new tickets are offered to the triager on call (an e-mail and an event)
    assign = "assign"  # new tickets are assigned to the triager on call


class Schedule(SQLModel, table=True):
    __tablename__ = "rota_schedule"
    __cache_area__ = "rota"  # app/cache.py: cached per process, dropped on write

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    kind: str = Field(default=RotationKind.weekly, sa_type=sa.String(16))
    zone: str = Field(
        max_length=64, description="IANA zone of the handoff time, e.g. Europe/Berlin"
    )
    anchor_date: date = Field(description="the rotation starts on this local date")
    handoff_time: str = Field(default="09:00", max_length=5)
    handoff_weekday: int = Field(default=0)
    shift_days: int = Field(default=7)
    holiday_country: str | None = Field(default=None, max_length=8)
    holiday_subdivision: str | None = Field(default=None, max_length=16)
    holiday_dates: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Role names in display order; the first is the one the handoff report is about.
    roles: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    triage_mode: str = Field(default=TriageMode.off, sa_type=sa.String(16))
    reminder_hours: int = Field(
        default=4, description="remind the incoming person this often until they acknowledge"
    )
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Member(SQLModel, table=True):
    __tablename__ = "rota_member"
    __cache_area__ = "rota"  # app/cache.py: cached per process, dropped on write
    __table_args__ = (UniqueConstraint("schedule_id", "role", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="rota_schedule.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=32)
    position: int
    user_id: int = Field(foreign_key="user_account.id", index=True)


class Override(SQLModel, table=True):
    """One person covers a window for another; a swap is two of these, made together."""

    __tablename__ = "rota_override"
    __cache_area__ = "rota"  # app/cache.py: cached per process, dropped on write
    __table_args__ = (Index("ix_rota_override_window", "schedule_id", "end_at", "start_at"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="rota_schedule.id", ondelete="CASCADE")
    role: str = Field(max_length=32)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    user_id: int = Field(foreign_key="user_account.id", description="who covers the window")
    replaces_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    requested_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    agreed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    swap_group: str | None = Field(
        default=None, max_length=32, description="the two halves of a swap share it"
    )
    reason: str = Field(default="", max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Duty(SQLModel, table=True):
    """A checklist item for every shift of a role, e.g. "cut the weekly release"."""

    __tablename__ = "rota_duty"

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="rota_schedule.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=32)
    title: str = Field(max_length=200)
    position: int = Field(default=0)


class DutyTick(SQLModel, table=True):
    __tablename__ = "rota_duty_tick"
    __table_args__ = (UniqueConstraint("duty_id", "shift_index"),)

    id: int | None = Field(default=None, primary_key=True)
    duty_id: int = Field(foreign_key="rota_duty.id", ondelete="CASCADE")
    shift_index: int
    ticked_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    ticked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Handoff(SQLModel, table=True):
    """The end-of-shift report (built from data), the outgoing notes and retro, the acknowledgement."""

    __tablename__ = "rota_handoff"
    __table_args__ = (UniqueConstraint("schedule_id", "role", "shift_index"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="rota_schedule.id", ondelete="CASCADE", index=True)
    role: str = Field(max_length=32)
    shift_index: int
    shift_start_at: datetime = Field(sa_type=UTCDateTime)
    shift_end_at: datetime = Field(sa_type=UTCDateTime, index=True)
    outgoing_id: int | None = Field(default=None, foreign_key="user_account.id")
    incoming_id: int | None = Field(default=None, foreign_key="user_account.id")
    report: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    notes: str = Field(default="", sa_type=sa.Text)
    went_well: str = Field(default="", sa_type=sa.Text)
    could_be_better: str = Field(default="", sa_type=sa.Text)
    to_remember: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    reminders_sent: int = Field(default=0)
    last_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Feed(SQLModel, table=True):
    """A secret calendar URL: the token is shown once, only its SHA-256 is kept; revocable."""

    __tablename__ = "rota_feed"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    schedule_id: int | None = Field(
        default=None, foreign_key="rota_schedule.id", ondelete="CASCADE", index=True
    )
    user_id: int | None = Field(
        default=None, foreign_key="user_account.id", description="only this person's shifts"
    )
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- API shapes ---------------------------------------------------------------------------


class RoleIn(SQLModel):
    name: str = Field(description="e.g. triager, lead-tracker")
    members: list[int] = Field(
        min_length=1, max_length=500, description="user ids in rotation order"
    )
    duties: list[str] = Field(
        default_factory=list, max_length=50, description="checklist for every shift"
    )

    @field_validator("name")
    @classmethod
    def _role_name(cls, v: str) -> str:
        if not ROLE_RE.match(v):
            raise ValueError(
                "role names are lower-case letters, digits, - and _ (max 32), starting with a letter"
            )
        return v

    @field_validator("duties")
    @classmethod
    def _duties(cls, v: list[str]) -> list[str]:
        out = [d.strip() for d in v if d.strip()]
        if any(len(d) > 200 for d in out):
            raise ValueError("a duty is at most 200 characters")
        return out


class ScheduleIn(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    kind: RotationKind = RotationKind.weekly
    zone: str = Field(default="UTC", max_length=64)
    anchor_date: date
    handoff_time: time = time(9, 0)
    handoff_weekday: int = Field(default=0, ge=0, le=6, description="0 = Monday; weekly rotations")
    shift_days: int = Field(default=7, ge=1, le=366, description="custom rotations: days per shift")
    holiday_country: str | None = Field(default=None, max_length=8)
    holiday_subdivision: str | None = Field(default=None, max_length=16)
    holiday_dates: list[date] = Field(default_factory=list, max_length=1000)
    roles: list[RoleIn] = Field(min_length=1, max_length=10)
    triage_mode: TriageMode = TriageMode.off
    reminder_hours: int = Field(default=4, ge=1, le=168)

    @field_validator("zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown IANA time zone {v!r} (e.g. Europe/Berlin, America/New_York)"
            ) from None
        return v

    @field_validator("handoff_time")
    @classmethod
    def _minute(cls, v: time) -> time:
        if v.tzinfo is not None or v.second or v.microsecond:
            raise ValueError("handoff_time is a local wall-clock time to the minute, e.g. 09:00")
        return v

    @model_validator(mode="after")
    def _unique_roles(self) -> "ScheduleIn":
        names = [r.name for r in self.roles]
        if len(set(names)) != len(names):
            raise ValueError("role names must be unique within a schedule")
        return self


class RoleOut(SQLModel):
    name: str
    members: list[UserRef]
    duties: list["DutyOut"]


class DutyOut(SQLModel):
    id: int
    role: str
    title: str


class ScheduleOut(SQLModel):
    id: int
    name: str
    kind: RotationKind
    zone: str
    anchor_date: date
    handoff_time: str
    handoff_weekday: int
    shift_days: int
    holiday_country: str | None
    holiday_subdivision: str | None
    holiday_dates: list[date]
    roles: list[RoleOut]
    triage_mode: TriageMode
    reminder_hours: int
    created_at: datetime
    updated_at: datetime


class ShiftOut(SQLModel):
    uid: str
    role: str
    index: int
    start: datetime
    end: datetime
    user: UserRef
    override_id: int | None = None


class OnCallOut(SQLModel):
    at: datetime
    roles: dict[str, ShiftOut | None]
    next: dict[str, ShiftOut | None]


class OverrideIn(SQLModel):
    role: str | None = Field(default=None, description="default: the schedule's first role")
    start: AwareDatetime
    end: AwareDatetime
    user_id: int = Field(description="who covers the window")
    replaces_user_id: int | None = None
    requested_by_id: int | None = Field(default=None, description="who asked (default: the caller)")
    agreed_by_id: int | None = Field(default=None, description="who agreed to cover")
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _window(self) -> "OverrideIn":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).days > 366:
            raise ValueError("an override spans at most a year")
        return self


class SwapIn(SQLModel):
    """Two people trade shifts: each covers the other's window."""

    role: str | None = None
    first_shift_index: int = Field(ge=0)
    second_shift_index: int = Field(ge=0)
    agreed_by_id: int | None = None
    reason: str = Field(default="", max_length=500)


class OverrideOut(SQLModel):
    id: int
    role: str
    start: datetime
    end: datetime
    user: UserRef
    replaces: UserRef | None
    requested_by: UserRef | None
    agreed_by: UserRef | None
    swap_group: str | None
    reason: str
    created_at: datetime


class FairnessOut(SQLModel):
    user: UserRef
    shifts: int
    hours: float


class FeedIn(SQLModel):
    schedule_id: int | None = Field(
        default=None, description="one schedule; omit for a personal feed"
    )
    user_id: int | None = Field(default=None, description="only this person's shifts")


class FeedOut(SQLModel):
    id: int
    schedule_id: int | None
    user_id: int | None
    created_at: datetime
    revoked_at: datetime | None
    url: str | None = Field(
        default=None, description="secret: anyone with it can read the feed; shown only once"
    )


class DutyTickIn(SQLModel):
    shift_index: int = Field(ge=0)
    ticked: bool = True


class HandoffUpdate(SQLModel):
    notes: str | None = Field(default=None, max_length=20_000)
    went_well: str | None = Field(default=None, max_length=20_000)
    could_be_better: str | None = Field(default=None, max_length=20_000)
    to_remember: str | None = Field(default=None, max_length=20_000)


class HandoffOut(SQLModel):
    id: int
    schedule_id: int
    role: str
    shift_index: int
    shift_start: datetime
    shift_end: datetime
    outgoing: UserRef | None
    incoming: UserRef | None
    report: dict[str, Any]
    notes: str
    went_well: str
    could_be_better: str
    to_remember: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: UserRef | None
    reminders_sent: int
