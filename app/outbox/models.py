"""The transactional outbox: messages for the outside world, written with the change.

A row is added in the same transaction as the change it announces, so a message is sent
if and only if the change committed. A worker delivers rows at least once; receivers
de-duplicate with `idempotency_key`.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Index, SQLModel

from app.db import UTCDateTime, utcnow


class OutboxStatus(StrEnum):
    pending = "pending"
    done = "done"
    dead = "dead"  # gave up after the retry budget; visible in the UI for manual redelivery


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "available_at"),)

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(
        max_length=48, index=True, description="who handles it, e.g. email, slack, webhook"
    )
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    idempotency_key: str = Field(max_length=128, sa_column_kwargs={"unique": True})
    status: str = Field(default=OutboxStatus.pending, sa_type=sa.String(16))
    attempts: int = Field(default=0)
    available_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryAttempt(SQLModel, table=True):
    """One try at delivering an outbox message: the delivery log shown in the UI."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    outbox_message_id: int = Field(foreign_key="outbox_message.id", index=True, ondelete="CASCADE")
    attempt: int
    ok: bool = Field(default=False)
    status_code: int | None = Field(default=None)
    detail: str = Field(default="", sa_type=sa.Text)
    duration_ms: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
