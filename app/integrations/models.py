"""What inbound integrations remember: deliveries seen, and which outside thing is which ticket."""

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from app.db import UTCDateTime, utcnow


class InboundDelivery(SQLModel, table=True):
    """A delivery id we have processed (X-GitHub-Delivery, Slack event_id, e-mail Message-ID).

    Written in the same transaction as its effect, so a redelivery finds it and changes nothing.
    """

    __tablename__ = "inbound_delivery"
    __table_args__ = (UniqueConstraint("source", "delivery_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    delivery_id: str = Field(max_length=255)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ExternalRef(SQLModel, table=True):
    """An outside thread that is one ticket: a GitHub issue, a Slack thread, an e-mail Message-ID."""

    __tablename__ = "external_ref"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    # github (owner/repo#12), slack (channel:thread_ts), email (<message-id>), tracker (owner/repo#12)
    source: str = Field(max_length=16)
    external_id: str = Field(max_length=255)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReplyDelivery(SQLModel, table=True):
    """Something we post into the requester's own thread (a GitHub comment, a Slack thread reply, a
    mail): which outbox row carries it, and the id the channel gave it, so its echo is recognised."""

    __tablename__ = "reply_delivery"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    # None for a status note, which is no message of its own
    message_id: int | None = Field(
        default=None, foreign_key="message.id", index=True, ondelete="CASCADE"
    )
    outbox_message_id: int = Field(foreign_key="outbox_message.id", index=True, ondelete="CASCADE")
    source: str = Field(max_length=16)
    # github: the comment id; slack: channel:ts of our reply; email: our Message-ID
    external_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
