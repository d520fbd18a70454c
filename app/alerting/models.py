"""An alert as received from monitoring, one row per (source, fingerprint)."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, UniqueConstraint

from app.db import UTCDateTime, utcnow


class Alert(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("source", "fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16, description="alertmanager, grafana or api")
    fingerprint: str = Field(max_length=128)
    status: str = Field(default="firing", sa_type=sa.String(16))
    name: str = Field(default="", max_length=200)
    summary: str = Field(default="", sa_type=sa.Text)
    severity: str = Field(default="sev3", sa_type=sa.String(8))
    labels: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    annotations: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    group_key: str = Field(max_length=255, index=True)
    generator_url: str | None = Field(default=None, max_length=1000)
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    incident_id: int | None = Field(
        default=None, foreign_key="incident.id", index=True, ondelete="SET NULL"
    )
    received: int = Field(default=1, description="how many notifications named this alert")
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertPublic(SQLModel):
    id: int
    source: str
    fingerprint: str
    status: str
    name: str
    summary: str
    severity: str
    labels: dict[str, Any]
    group_key: str
    incident_id: int | None
    received: int
    starts_at: datetime | None
    resolved_at: datetime | None


class AlertIngestResult(SQLModel):
    received: int
    new: int
    duplicates: int
    resolved: int
    incidents: list[int]
