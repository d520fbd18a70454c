"""Tickets and what hangs off them: messages, attachments, tags, links, votes, canned replies.

Table, input and output are separate classes (`Ticket`, `TicketCreate`, `TicketPublic`):
input schemas list exactly what a caller may set, so nothing is mass-assigned.
"""

from datetime import datetime

import sqlalchemy as sa
from pydantic import AnyHttpUrl, AwareDatetime, EmailStr, field_validator
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from app.db import StrEnumColumn, UTCDateTime, utcnow
from app.sla.schemas import SlaTargetState
from app.ticket.enums import (
    Channel,
    Criticality,
    LinkKind,
    MessageKind,
    Status,
    TicketType,
    Urgency,
)
from app.user.models import UserRef

TITLE_MAX = 200
BODY_MAX = 50_000


class Ticket(SQLModel, table=True):
    __table_args__ = (
        Index("ix_ticket_status_rank_key", "status", "rank_key", "id"),
        Index("ix_ticket_status_created_at", "status", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    body: str = Field(default="", sa_type=sa.Text)
    channel: str = Field(default=Channel.api, sa_type=sa.String(16), index=True)
    status: Status = Field(default=Status.new, sa_type=StrEnumColumn(Status, 24))
    type: TicketType = Field(
        default=TicketType.question, sa_type=StrEnumColumn(TicketType, 24), index=True
    )
    urgency: Urgency = Field(default=Urgency.normal, sa_type=StrEnumColumn(Urgency, 16))
    criticality: int | None = Field(default=None)
    # Impact factors the exterminator weighs (weekly-exterminator-rotation.md).
    has_workaround: bool | None = Field(default=None)
    data_loss: bool = Field(default=False)
    affected_users: int | None = Field(default=None)
    affected_communities: int = Field(default=1)
    blocks_priority_team: bool = Field(default=False)
    # Prioritisation inputs for non-incident work (community-support-desk.md).
    funded: bool = Field(default=False)
    fits_goals: bool = Field(default=False)
    requester_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    claimed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_update_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    milestone: str | None = Field(default=None, max_length=64)
    vote_count: int = Field(default=0)
    # Earliest SLA due instant; board order uses it within a priority tier.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # Sortable encoding of the board order (see ticket/triage.py): keyset paging on one column.
    rank_key: str = Field(default="", max_length=64)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @declared_attr
    def __mapper_args__(cls):  # noqa: N805 - SQLAlchemy hook
        # Optimistic locking: every UPDATE checks and bumps `version` (If-Match, lost updates).
        return {"version_id_col": cls.__table__.c.version}


class TicketCreate(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(default="", max_length=BODY_MAX)
    requester_email: EmailStr
    requester_name: str | None = Field(default=None, max_length=120)
    community: str | None = Field(default=None, max_length=64, description="community slug")
    type: TicketType = TicketType.question
    urgency: Urgency = Urgency.normal
    channel: Channel = Channel.api

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("title must not be blank")
        return value

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Notebook server fails to start",
                    "body": "Since this morning every user gets a 504 when starting a server.",
                    "requester_email": "ada@uni.example",
                    "requester_name": "Ada Lovelace",
                    "community": "uni-physics",
                    "type": "bug",
                    "urgency": "urgent",
                    "channel": "api",
                }
            ]
        }
    }


class TicketUpdate(SQLModel):
    """Fields a staff member may change with PATCH; unset fields stay as they are."""

    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    body: str | None = Field(default=None, max_length=BODY_MAX)
    status: Status | None = None
    type: TicketType | None = None
    urgency: Urgency | None = None
    criticality: Criticality | None = None
    has_workaround: bool | None = None
    data_loss: bool | None = None
    affected_users: int | None = Field(default=None, ge=0)
    affected_communities: int | None = Field(default=None, ge=1)
    blocks_priority_team: bool | None = None
    funded: bool | None = None
    fits_goals: bool | None = None
    assignee_id: int | None = None
    community: str | None = Field(default=None, max_length=64)
    next_update_at: AwareDatetime | None = None
    milestone: str | None = Field(default=None, max_length=64)
    tags: list[str] | None = Field(default=None, max_length=30)

    model_config = {
        "json_schema_extra": {
            "examples": [{"status": "open", "type": "bug", "criticality": 2, "tags": ["auth"]}]
        }
    }


class CommunityRef(SQLModel):
    id: int
    slug: str
    name: str


class TicketPublic(SQLModel):
    id: int
    key: str
    title: str
    body: str
    channel: Channel
    status: Status
    type: TicketType
    urgency: Urgency
    criticality: Criticality | None
    has_workaround: bool | None
    data_loss: bool
    affected_users: int | None
    affected_communities: int
    blocks_priority_team: bool
    funded: bool
    fits_goals: bool
    requester: UserRef | None
    community: CommunityRef | None
    assignee: UserRef | None
    claimed_by: UserRef | None
    claimed_at: datetime | None
    next_update_at: datetime | None
    milestone: str | None
    vote_count: int
    tags: list[str]
    due_at: datetime | None
    # One entry per SLA target (acknowledge, first response, resolve) with its state now.
    sla: list[SlaTargetState] = []
    priority_reasons: list[str]
    version: int
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


class TicketPage(SQLModel):
    items: list[TicketPublic]
    next_cursor: str | None


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None, foreign_key="user_account.id")
    kind: str = Field(default=MessageKind.public, sa_type=sa.String(16))
    body: str = Field(sa_type=sa.Text)
    channel: str = Field(default=Channel.web, sa_type=sa.String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MessageCreate(SQLModel):
    body: str = Field(min_length=1, max_length=BODY_MAX)
    kind: MessageKind = MessageKind.public

    @field_validator("body")
    @classmethod
    def _body_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("body must not be blank")
        return value


class MessageDelivery(SQLModel):
    """How a reply sent out to the requester's channel (GitHub, Slack, e-mail) is doing."""

    id: int = Field(description="the outbox delivery carrying it")
    channel: str
    state: str = Field(description="queued, sent or failed (failed: retries used up)")
    attempts: int
    last_error: str | None = None
    next_try_at: datetime | None = None
    delivered_at: datetime | None = None


class MessagePublic(SQLModel):
    id: int
    ticket_id: int
    author: UserRef | None
    author_is_staff: bool
    kind: MessageKind
    body: str
    body_html: str
    channel: Channel
    created_at: datetime
    delivery: MessageDelivery | None = None


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    message_id: int | None = Field(default=None, foreign_key="message.id", ondelete="CASCADE")
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=127)
    size: int
    sha256: str = Field(max_length=64)
    # Kept in the database so an upload commits or rolls back with its ticket.
    data: bytes = Field(sa_type=sa.LargeBinary)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AttachmentPublic(SQLModel):
    id: int
    ticket_id: int
    filename: str
    content_type: str
    size: int
    created_at: datetime


class Tag(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=48, sa_column_kwargs={"unique": True})


class TicketTag(SQLModel, table=True):
    __tablename__ = "ticket_tag"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, index=True, ondelete="CASCADE")


class Link(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("ticket_id", "url"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    url: str = Field(max_length=1000)
    title: str = Field(default="", max_length=200)
    kind: str = Field(default="tracker", max_length=24)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LinkCreate(SQLModel):
    url: AnyHttpUrl
    title: str = Field(default="", max_length=200)
    kind: LinkKind = LinkKind.tracker


class LinkPublic(SQLModel):
    id: int
    ticket_id: int
    url: str
    title: str
    kind: LinkKind
    created_at: datetime


class Vote(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("ticket_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VoteCreate(SQLModel):
    """Staff may record a +1 on behalf of a requester (e.g. from a Slack thread)."""

    email: EmailStr | None = None


class VoteSummary(SQLModel):
    ticket_id: int
    vote_count: int
    voters: list[UserRef]


class ClaimPublic(SQLModel):
    ticket_id: int
    claimed_by: UserRef | None
    claimed_at: datetime | None
    version: int


class CannedReply(SQLModel, table=True):
    __tablename__ = "canned_reply"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    title: str = Field(max_length=120)
    body: str = Field(sa_type=sa.Text)
    # Offered first for this ticket type ("need more details" differs per type).
    ticket_type: str | None = Field(default=None, sa_type=sa.String(24))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CannedReplyPublic(SQLModel):
    id: int
    slug: str
    title: str
    body: str
    ticket_type: TicketType | None


class CannedReplyRendered(SQLModel):
    slug: str
    title: str
    body: str
