"""Every table, imported in one place so SQLModel.metadata is complete for Alembic and tests."""

from app.audit.models import Event
from app.community.models import Community, Membership
from app.outbox.models import OutboxMessage
from app.ticket.models import Attachment, CannedReply, Link, Message, Tag, Ticket, TicketTag, Vote
from app.user.models import ApiToken, LoginSession, User

__all__ = [
    "ApiToken", "Attachment", "CannedReply", "Community", "Event", "Link", "LoginSession", "Membership",
    "Message", "OutboxMessage", "Tag", "Ticket", "TicketTag", "User", "Vote",
]
