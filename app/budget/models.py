"""Time entries: who spent how long on which ticket, counted against the community's budget."""

from datetime import datetime

from pydantic import AwareDatetime
from sqlmodel import Field, Index, SQLModel

from app.db import UTCDateTime, utcnow

MAX_MINUTES = 24 * 60


class TimeEntry(SQLModel, table=True):
    __tablename__ = "time_entry"
    # Budget usage sums one community's entries in one period.
    __table_args__ = (Index("ix_time_entry_community_spent", "community_id", "spent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    # The ticket's community when the time was spent: the budget it was charged to.
    community_id: int | None = Field(default=None, foreign_key="community.id", ondelete="SET NULL")
    user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    minutes: int
    note: str = Field(default="", max_length=500)
    spent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TimeEntryCreate(SQLModel):
    minutes: int = Field(ge=1, le=MAX_MINUTES, description="Whole minutes, 1 to 1440")
    note: str = Field(default="", max_length=500)
    spent_at: AwareDatetime | None = Field(
        default=None, description="When the work happened; default now"
    )


class TimeEntryUpdate(SQLModel):
    """A correction: only the fields sent change."""

    minutes: int | None = Field(
        default=None, ge=1, le=MAX_MINUTES, description="Whole minutes, 1 to 1440"
    )
    note: str | None = Field(default=None, max_length=500)
    spent_at: AwareDatetime | None = None


class TimeEntryPublic(SQLModel):
    id: int
    ticket_id: int
    community_id: int | None
    user_id: int | None
    user_name: str | None
    minutes: int
    note: str
    spent_at: datetime


class BudgetPublic(SQLModel):
    community: str
    funded: bool
    period: str
    period_start: datetime
    period_end: datetime
    budget_hours: float | None
    used_hours: float
    left_hours: float | None
    used_fraction: float | None
    over_budget: bool
