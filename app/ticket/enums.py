"""The ticket vocabulary; the definitions are the support teams' own wording."""

from enum import IntEnum, StrEnum


class Status(StrEnum):
    awaiting_approval = "awaiting_approval"
    new = "new"
    open = "open"
    pending = "pending"
    resolved = "resolved"
    closed = "closed"


ACTIVE_STATUSES = (Status.new, Status.open)
UNFINISHED_STATUSES = (Status.awaiting_approval, Status.new, Status.open, Status.pending)


class TicketType(StrEnum):
    question = "question"
    bug = "bug"
    feature_request = "feature_request"
    docs = "docs"
    guidance = "guidance"
    change_request = "change_request"
    workshop = "workshop"


class Channel(StrEnum):
    web = "web"
    email = "email"
    github = "github"
    slack = "slack"
    api = "api"
    alert = "alert"
    internal = "internal"


class Urgency(StrEnum):
    normal = "normal"
    urgent = "urgent"
    emergency = "emergency"


class Criticality(IntEnum):
    critical = 1
    medium = 2
    low = 3
    minor = 4


CRITICALITY_DEFINITIONS: dict[Criticality, str] = {
    Criticality.critical: "Critical: system down, everyone blocked, no workaround; immediate resolution needed",
    Criticality.medium: "Medium: a client is blocked or struggling; needs a quick fix, not an emergency",
    Criticality.low: "Low: resolution eventually needed; uncommon or internally found",
    Criticality.minor: "Minor: nobody blocked; cosmetic, UX annoyance or typo",
}


class MessageKind(StrEnum):
    public = "public"
    internal = "internal"


TYPE_LABELS = {
    TicketType.question: "Question",
    TicketType.bug: "Bug",
    TicketType.feature_request: "Feature request",
    TicketType.docs: "Docs",
    TicketType.guidance: "Guidance",
    TicketType.change_request: "Change request",
    TicketType.workshop: "Workshop",
}

STATUS_LABELS = {
    Status.awaiting_approval: "Awaiting approval",
    Status.new: "New",
    Status.open: "Open",
    Status.pending: "Pending",
    Status.resolved: "Resolved",
    Status.closed: "Closed",
}


class LinkKind(StrEnum):
    tracker = "tracker"
    github_issue = "github_issue"
    docs = "docs"
    runbook = "runbook"
    other = "other"
