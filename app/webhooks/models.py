"""Webhook subscriptions: where to POST which audit events, signed with a per-subscription secret."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import AnyHttpUrl, field_validator
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

EVENT_PATTERN_MAX = 30


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"
    __cache_area__ = "webhooks"  # app/cache.py: cached per process, dropped on write

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=1000)
    # Patterns: an exact kind ("ticket.created"), a family ("ticket.*") or everything ("*").
    event_types: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Kept readable because every delivery is signed with it; shown to people only once.
    secret: str = Field(max_length=128)
    description: str = Field(default="", max_length=200)
    active: bool = Field(default=True)
    created_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _check_patterns(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    from app.webhooks.matching import valid_pattern

    cleaned = sorted({v.strip() for v in value})
    bad = [v for v in cleaned if not valid_pattern(v)]
    if bad:
        raise ValueError(
            f"bad event type pattern(s): {', '.join(bad)}; use e.g. ticket.created, ticket.* or *"
        )
    if not cleaned:
        raise ValueError("name at least one event type, e.g. ticket.* or *")
    return cleaned


class WebhookCreate(SQLModel):
    url: AnyHttpUrl
    event_types: list[str] = Field(min_length=1, max_length=EVENT_PATTERN_MAX)
    description: str = Field(default="", max_length=200)

    _patterns = field_validator("event_types")(classmethod(lambda cls, v: _check_patterns(v)))

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "url": "https://hooks.example.org/firstline",
                    "event_types": ["ticket.*", "incident.declared"],
                    "description": "ops dashboard",
                }
            ]
        }
    }


class WebhookUpdate(SQLModel):
    url: AnyHttpUrl | None = None
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=EVENT_PATTERN_MAX)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = None

    _patterns = field_validator("event_types")(classmethod(lambda cls, v: _check_patterns(v)))


class WebhookPublic(SQLModel):
    id: int
    url: str
    event_types: list[str]
    description: str
    active: bool
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="Signs every delivery; shown only in this response")


class DeliveryAttemptPublic(SQLModel):
    attempt: int
    ok: bool
    status_code: int | None
    detail: str
    duration_ms: int
    created_at: datetime


class DeliveryPublic(SQLModel):
    id: int
    topic: str
    idempotency_key: str
    status: str
    attempts: int
    available_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    event_type: str | None = None
    payload: dict[str, Any] | None = None
    log: list[DeliveryAttemptPublic] = []
