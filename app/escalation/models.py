"""Where each escalation stands: one row per escalated subject (an incident or a ticket)."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, UniqueConstraint

from app.db import UTCDateTime, utcnow


class Escalation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("subject_type", "subject_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_type: str = Field(max_length=16, description="incident or ticket")
    subject_id: int
    steps: int = Field(default=0, description="pages sent so far")
    next_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stop_reason: str | None = Field(default=None, sa_type=sa.String(32))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
