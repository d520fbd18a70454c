"""Every table, imported in one place so SQLModel.metadata is complete for Alembic and tests."""

from app.alerting.models import Alert
from app.audit.models import Event
from app.community.models import Community, Membership
from app.escalation.models import Escalation
from app.incident.models import (
    ActionItem,
    Incident,
    IncidentCommunity,
    IncidentRole,
    IncidentTicket,
    IncidentUpdate,
    PostMortem,
)
from app.outbox.models import OutboxMessage
from app.rota.models import Duty, DutyTick, Feed, Handoff, Member, Override, Schedule
from app.sla.models import SlaCalendar, SlaClock, SlaPolicy, SlaRule
from app.ticket.models import Attachment, CannedReply, Link, Message, Tag, Ticket, TicketTag, Vote
from app.user.models import ApiToken, Identity, LoginSession, User

__all__ = [
    "ActionItem",
    "Alert",
    "ApiToken",
    "Attachment",
    "CannedReply",
    "Community",
    "Duty",
    "DutyTick",
    "Escalation",
    "Event",
    "Feed",
    "Handoff",
    "Identity",
    "Incident",
    "IncidentCommunity",
    "IncidentRole",
    "IncidentTicket",
    "IncidentUpdate",
    "Link",
    "LoginSession",
    "Member",
    "Membership",
    "Message",
    "OutboxMessage",
    "Override",
    "PostMortem",
    "Schedule",
    "Tag",
    "Ticket",
    "TicketTag",
    "User",
    "Vote",
]
from app.budget.models import TimeEntry  # noqa: F401 - access (issue 3)
from app.portal.models import CsatResponse, PortalLink, PortalSession  # noqa: F401 - access (issue 3)

__all__ += ["SlaCalendar", "SlaClock", "SlaPolicy", "SlaRule"]
from app.integrations.models import ExternalRef, InboundDelivery, ReplyDelivery  # noqa: E402
from app.outbox.models import DeliveryAttempt  # noqa: E402
from app.webhooks.models import WebhookSubscription  # noqa: E402

__all__ += [
    "DeliveryAttempt",
    "ExternalRef",
    "InboundDelivery",
    "ReplyDelivery",
    "WebhookSubscription",
]
from app.intake.models import IntakeConfirmation  # noqa: E402

__all__ += ["IntakeConfirmation"]
