"""Portal sign-in links and sessions, and satisfaction ratings.

Contacts never have passwords: a one-time link sent by e-mail opens a portal session.
Only SHA-256 digests of link and session tokens are stored, so a database leak hands out
neither working links nor live sessions.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class PortalLink(SQLModel, table=True):
    __tablename__ = "portal_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    # Where the link lands after sign-in (a portal path), e.g. the ticket to confirm.
    next_path: str = Field(default="/portal", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PortalSession(SQLModel, table=True):
    __tablename__ = "portal_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class CsatResponse(SQLModel, table=True):
    """A requester's answer to "is it fixed, and how did we do?" (1 = poor … 5 = great)."""

    __tablename__ = "csat_response"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    score: int
    comment: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CsatPublic(SQLModel):
    ticket_id: int
    score: int
    comment: str
    created_at: datetime
