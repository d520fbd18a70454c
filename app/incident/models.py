"""Incidents and what hangs off them: roles, affected communities, linked tickets, customer
updates, the post-mortem and its action items. Alerts and escalation state live in their
own packages but are tables of this capability too (see alembic/versions/0006_incidents.py).
"""

import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, field_validator
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from app.db import UTCDateTime, utcnow
from app.incident.rules import IncidentStatus, Severity, UpdateKind
from app.user.models import UserRef

ROLE_RE = re.compile(r"^[a-z][a-z_-]{0,31}$")
TITLE_MAX = 200
TEXT_MAX = 50_000


class Incident(SQLModel, table=True):
    __table_args__ = (Index("ix_incident_status_declared_at", "status", "declared_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=TITLE_MAX)
    summary: str = Field(default="", sa_type=sa.Text)
    severity: str = Field(default=Severity.sev2, sa_type=sa.String(8))
    status: str = Field(default=IncidentStatus.investigating, sa_type=sa.String(24))
    source: str = Field(
        default="manual", sa_type=sa.String(16), description="manual, ticket or alert"
    )
    # Alerts with this key join this incident while it is open (alerting/rules.py).
    group_key: str | None = Field(default=None, max_length=255, index=True)
    declared_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    declared_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_update_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_update_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IncidentRole(SQLModel, table=True):
    """Who does what: one person per role (responder, communications, scribe...)."""

    __tablename__ = "incident_role"
    __table_args__ = (UniqueConstraint("incident_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=32)
    user_id: int = Field(foreign_key="user_account.id", index=True)


class IncidentCommunity(SQLModel, table=True):
    __tablename__ = "incident_community"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    community_id: int = Field(
        foreign_key="community.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class IncidentTicket(SQLModel, table=True):
    __tablename__ = "incident_ticket"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    ticket_id: int = Field(
        foreign_key="ticket.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class IncidentUpdate(SQLModel, table=True):
    """A public status update sent to the affected communities and onto linked tickets."""

    __tablename__ = "incident_update"
    __table_args__ = (UniqueConstraint("incident_id", "client_key"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    kind: str = Field(default=UpdateKind.update, sa_type=sa.String(16))
    status: str = Field(sa_type=sa.String(24), description="incident status when posted")
    body: str = Field(sa_type=sa.Text)
    author_id: int | None = Field(default=None, foreign_key="user_account.id")
    # Sent by the composer (and optionally API callers): a double submit posts once.
    client_key: str | None = Field(default=None, max_length=64)
    emails: int = Field(default=0)
    ticket_replies: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PostMortem(SQLModel, table=True):
    __tablename__ = "postmortem"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        foreign_key="incident.id", ondelete="CASCADE", sa_column_kwargs={"unique": True}
    )
    what_happened: str = Field(default="", sa_type=sa.Text)
    went_well: str = Field(default="", sa_type=sa.Text)
    went_badly: str = Field(default="", sa_type=sa.Text)
    timeline: str = Field(
        default="", sa_type=sa.Text, description="drafted from the incident's events"
    )
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_item"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    title: str = Field(max_length=TITLE_MAX)
    owner_id: int = Field(foreign_key="user_account.id")
    due_on: date = Field(sa_type=sa.Date)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- input and output ------------------------------------------------------------------------


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class IncidentCreate(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    summary: str = Field(default="", max_length=TEXT_MAX)
    severity: Severity = Severity.sev2
    responder_id: int | None = Field(
        default=None, description="staff user; default: whoever declares"
    )
    communities: list[str] = Field(
        default_factory=list, max_length=50, description="community slugs"
    )
    tickets: list[str] = Field(
        default_factory=list, max_length=200, description="ticket ids or keys"
    )

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        return _not_blank(value)


class IncidentPatch(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    summary: str | None = Field(default=None, max_length=TEXT_MAX)
    severity: Severity | None = None
    status: IncidentStatus | None = None


class RoleAssign(SQLModel):
    role: str = Field(
        min_length=1, max_length=32, description="lower-case word, e.g. responder, communications"
    )
    user_id: int

    @field_validator("role")
    @classmethod
    def _role_word(cls, value: str) -> str:
        value = value.strip().lower()
        if not ROLE_RE.match(value):
            raise ValueError("role must be a lower-case word (letters, - and _)")
        return value


class UpdateCreate(SQLModel):
    body: str = Field(min_length=1, max_length=TEXT_MAX)
    status: IncidentStatus | None = Field(
        default=None, description="move the incident with this update"
    )
    client_key: str | None = Field(
        default=None, max_length=64, description="repeat-safe: same key, same update"
    )

    @field_validator("body")
    @classmethod
    def _body_not_blank(cls, value: str) -> str:
        return _not_blank(value)


class PostMortemWrite(SQLModel):
    what_happened: str | None = Field(default=None, max_length=TEXT_MAX)
    went_well: str | None = Field(default=None, max_length=TEXT_MAX)
    went_badly: str | None = Field(default=None, max_length=TEXT_MAX)
    timeline: str | None = Field(default=None, max_length=TEXT_MAX)


class ActionItemCreate(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    owner_id: int
    due_on: date

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        return _not_blank(value)


class CommunityRef(SQLModel):
    id: int
    slug: str
    name: str


class LinkedTicket(SQLModel):
    id: int
    key: str
    title: str
    status: str


class RolePublic(SQLModel):
    role: str
    user: UserRef


class IncidentPublic(SQLModel):
    id: int
    key: str
    title: str
    summary: str
    severity: Severity
    severity_definition: str
    status: IncidentStatus
    source: str
    responder: UserRef | None
    roles: list[RolePublic]
    communities: list[CommunityRef]
    tickets: list[LinkedTicket]
    declared_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    done_at: datetime | None
    last_update_at: datetime | None
    next_update_due_at: datetime | None
    update_overdue: bool
    open_alerts: int


class IncidentPage(SQLModel):
    items: list[IncidentPublic]


class UpdatePublic(SQLModel):
    id: int
    incident_id: int
    kind: UpdateKind
    status: IncidentStatus
    body: str
    author: UserRef | None
    emails: int
    ticket_replies: int
    created_at: datetime


class ActionItemPublic(SQLModel):
    id: int
    title: str
    owner: UserRef | None
    due_on: date
    ticket: LinkedTicket | None


class PostMortemPublic(SQLModel):
    incident_id: int
    what_happened: str
    went_well: str
    went_badly: str
    timeline: str
    action_items: list[ActionItemPublic]
    updated_at: datetime | None


class TimelineEntry(SQLModel):
    id: int
    kind: str
    actor: UserRef | None
    data: dict[str, Any]
    created_at: datetime


class UpdateTemplate(SQLModel):
    kind: UpdateKind
    body: str


class AwareWhen(SQLModel):
    at: AwareDatetime
