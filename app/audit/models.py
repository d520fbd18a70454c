"""The audit log: every change, who made it, when, before and after.

It feeds the ticket timeline, the live board, outgoing webhooks and the reports, so it
is written in the same transaction as the change it describes.
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Index, SQLModel

from app.db import UTCDateTime, utcnow
from app.user.models import UserRef


class Event(SQLModel, table=True):
    __table_args__ = (Index("ix_event_subject", "subject_type", "subject_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(
        max_length=64, index=True, description="e.g. ticket.created, ticket.status_changed"
    )
    subject_type: str = Field(max_length=32)
    subject_id: int
    # Denormalised so the timeline and per-community filters need no join.
    ticket_id: int | None = Field(
        default=None, foreign_key="ticket.id", index=True, ondelete="CASCADE"
    )
    community_id: int | None = Field(
        default=None, foreign_key="community.id", index=True, ondelete="SET NULL"
    )
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class EventPublic(SQLModel):
    id: int
    kind: str
    subject_type: str
    subject_id: int
    ticket_id: int | None
    actor: UserRef | None
    data: dict[str, Any]
    created_at: datetime
