"""People: staff users and community contacts share one table, distinguished by staff_role."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import EmailStr
from sqlmodel import Field, SQLModel, UniqueConstraint

from app.db import UTCDateTime, pk, utcnow


class StaffRole(StrEnum):
    admin = "admin"
    triager = "triager"
    agent = "agent"
    viewer = "viewer"


class UserBase(SQLModel):
    email: str = Field(max_length=254, description="Lower-cased e-mail address; unique")
    name: str = Field(max_length=120)
    github_login: str | None = Field(default=None, max_length=64)
    slack_user_id: str | None = Field(default=None, max_length=32)


class User(UserBase, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, sa_column_kwargs={"unique": True})
    # None: a community contact (requester), never able to log in to the staff side.
    staff_role: str | None = Field(default=None, sa_type=sa.String(16))
    password_hash: str | None = Field(default=None, max_length=255)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def is_staff(self) -> bool:
        return self.staff_role is not None and self.is_active

    def required_staff_role(self) -> StaffRole:
        """A staff member's role; ValueError for a contact, who has none (as StaffRole(None) was)."""
        if self.staff_role is None:
            raise ValueError(f"user {self.id} has no staff role")
        return StaffRole(self.staff_role)


class UserPublic(SQLModel):
    id: int
    email: str
    name: str
    staff_role: StaffRole | None
    github_login: str | None = None


class UserRef(SQLModel):
    """The few fields other resources embed about a person."""

    id: int
    name: str
    email: str


class UserCreate(SQLModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=120)
    staff_role: StaffRole | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)


class IdentityKind(StrEnum):
    email = "email"
    github = "github"
    slack = "slack"


class Identity(SQLModel, table=True):
    """One outside identity of a person (an address, a GitHub login, a Slack user id); one
    identity belongs to exactly one person, so every channel finds the same user."""

    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    kind: str = Field(sa_type=sa.String(16))
    value: str = Field(
        max_length=254, description="e-mail and GitHub login lower-cased; Slack id as sent"
    )
    verified: bool = Field(default=False)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IdentityCreate(SQLModel):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=254)
    verified: bool = True


class IdentityPublic(SQLModel):
    id: int
    user_id: int
    kind: IdentityKind
    value: str
    verified: bool
    verified_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, identity: "Identity") -> "IdentityPublic":
        return cls(
            id=pk(identity),
            user_id=identity.user_id,
            kind=IdentityKind(identity.kind),
            value=identity.value,
            verified=identity.verified,
            verified_at=identity.verified_at,
            created_at=identity.created_at,
        )


class ProfileUpdate(SQLModel):
    """What a staff member sets on their own profile (admins for anyone); blank clears it."""

    github_login: str | None = Field(default=None, max_length=64)
    slack_user_id: str | None = Field(default=None, max_length=32)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=120)
    # Only a SHA-256 of the token is kept; the token itself is shown once at creation.
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    display_prefix: str = Field(max_length=16)
    scopes: str = Field(default="", max_length=1000, description="space-separated scope names")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiTokenPublic(SQLModel):
    """A token as listed: never the token or its hash, only the prefix shown at creation."""

    id: int
    user_id: int
    name: str
    display_prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> "ApiTokenPublic":
        return cls(
            id=pk(token),
            user_id=token.user_id,
            name=token.name,
            display_prefix=token.display_prefix,
            scopes=token.scopes.split(),
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class LoginSession(SQLModel, table=True):
    __tablename__ = "login_session"

    # SHA-256 of the cookie value: a database leak does not hand out live sessions.
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
