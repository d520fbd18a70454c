"""Communities (customers) and who belongs to them."""

import re
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import Field, SQLModel, UniqueConstraint

from app.db import UTCDateTime, utcnow

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class MembershipRole(StrEnum):
    representative = "representative"
    member = "member"


class BudgetPeriod(StrEnum):
    month = "month"
    quarter = "quarter"


class CommunityBase(SQLModel):
    slug: str = Field(max_length=64, description="URL name, e.g. `acme-university`")
    name: str = Field(max_length=120)
    funded: bool = Field(
        default=False, description="Requests from this community come with dedicated funding"
    )
    budget_hours: float | None = Field(
        default=None, ge=0, description="Support hours per budget period"
    )
    budget_period: BudgetPeriod = Field(default=BudgetPeriod.month, sa_type=sa.String(16))
    runbook_url: str | None = Field(default=None, max_length=500)
    notes: str = Field(default="", max_length=5000)


class Community(CommunityBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    # Origins (scheme://host[:port]) allowed to frame the intake form.
    allowed_origins: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # How a request from outside is recognised as this community's (besides its members).
    email_domains: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    slack_channels: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    github_repos: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CommunityCreate(CommunityBase):
    allowed_origins: list[str] = Field(default_factory=list)
    email_domains: list[str] = Field(
        default_factory=list, description="e.g. `uni.example`: mail from there is this community's"
    )
    slack_channels: list[str] = Field(
        default_factory=list, description="Slack channel ids, e.g. `C0123ABCD`"
    )
    github_repos: list[str] = Field(
        default_factory=list, description="`owner/name` of GitHub repositories"
    )

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG_RE.match(value):
            raise ValueError("slug must be lower-case letters, digits and dashes")
        return value


class CommunityMapping(SQLModel):
    """The channel mappings an admin edits; a field left out is kept."""

    email_domains: list[str] | None = None
    slack_channels: list[str] | None = None
    github_repos: list[str] | None = None


class CommunityPublic(CommunityBase):
    id: int
    allowed_origins: list[str]
    email_domains: list[str] = Field(default_factory=list)
    slack_channels: list[str] = Field(default_factory=list)
    github_repos: list[str] = Field(default_factory=list)
    created_at: datetime


class Membership(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("community_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    role: str = Field(default=MembershipRole.member, sa_type=sa.String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
