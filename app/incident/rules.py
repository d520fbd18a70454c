"""Pure incident rules: severities, the status machine, the update cadence. No I/O, no clock."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.errors import InvalidTransition


class Severity(StrEnum):
    sev1 = "sev1"
    sev2 = "sev2"
    sev3 = "sev3"
    sev4 = "sev4"


@dataclass(frozen=True)
class SeverityInfo:
    label: str
    definition: str
    update_every: timedelta  # how often the affected communities hear from us


# The SEV1 wording is the reference desks' definition of an incident ("system down, all
# users affected, no workaround"); the rest step down from it.
SEVERITIES: dict[Severity, SeverityInfo] = {
    Severity.sev1: SeverityInfo(
        "SEV1",
        "Critical: the service is down or unusable for all users of one or more communities, "
        "no workaround. Everything else waits.",
        timedelta(minutes=30),
    ),
    Severity.sev2: SeverityInfo(
        "SEV2",
        "Major: a core feature is broken or badly degraded for many users; a workaround is "
        "painful or partial.",
        timedelta(hours=1),
    ),
    Severity.sev3: SeverityInfo(
        "SEV3",
        "Minor: partial degradation for some users, or one community affected; a workaround "
        "exists.",
        timedelta(hours=4),
    ),
    Severity.sev4: SeverityInfo(
        "SEV4",
        "Low: little user impact (e.g. a failing alert or a risk found early); tracked as an "
        "incident for visibility.",
        timedelta(hours=24),
    ),
}


class IncidentStatus(StrEnum):
    investigating = "investigating"
    identified = "identified"
    monitoring = "monitoring"
    resolved = "resolved"
    postmortem_done = "postmortem_done"


ACTIVE = (IncidentStatus.investigating, IncidentStatus.identified, IncidentStatus.monitoring)

STATUS_LABELS = {
    IncidentStatus.investigating: "Investigating",
    IncidentStatus.identified: "Identified",
    IncidentStatus.monitoring: "Monitoring",
    IncidentStatus.resolved: "Resolved",
    IncidentStatus.postmortem_done: "Post-mortem done",
}

TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.investigating: frozenset(
        {IncidentStatus.identified, IncidentStatus.monitoring, IncidentStatus.resolved}
    ),
    IncidentStatus.identified: frozenset(
        {IncidentStatus.investigating, IncidentStatus.monitoring, IncidentStatus.resolved}
    ),
    IncidentStatus.monitoring: frozenset(
        {IncidentStatus.investigating, IncidentStatus.identified, IncidentStatus.resolved}
    ),
    # Reopening goes back to investigating: the fix did not hold.
    IncidentStatus.resolved: frozenset(
        {IncidentStatus.investigating, IncidentStatus.postmortem_done}
    ),
    IncidentStatus.postmortem_done: frozenset(),
}


def check_incident_transition(
    current: IncidentStatus,
    target: IncidentStatus,
    *,
    severity: Severity,
    postmortem_written: bool,
    postmortem_required_for: frozenset[str],
) -> None:
    """Raise InvalidTransition (409) with the reason unless current → target is allowed."""
    current, target = IncidentStatus(current), IncidentStatus(target)
    if current == target:
        raise InvalidTransition(f"incident is already {target.value}")
    if target not in TRANSITIONS[current]:
        if current == IncidentStatus.postmortem_done:
            reason = "the incident is finished; declare a new one if the problem is back"
        elif target == IncidentStatus.postmortem_done:
            reason = "resolve the incident first"
        else:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
            reason = f"from {current.value} an incident can move to: {allowed}"
        raise InvalidTransition(f"cannot move from {current.value} to {target.value}: {reason}")
    if (
        target == IncidentStatus.postmortem_done
        and not postmortem_written
        and Severity(severity).value in postmortem_required_for
    ):
        raise InvalidTransition(
            f"a {SEVERITIES[Severity(severity)].label} incident needs its post-mortem written "
            "(at least what happened) before it is done",
            code="postmortem_missing",
        )


def next_update_due(
    severity: Severity,
    status: IncidentStatus,
    last_update_at: datetime | None,
    declared_at: datetime,
) -> datetime | None:
    """When the affected communities should next hear from us; None once resolved."""
    if IncidentStatus(status) not in ACTIVE:
        return None
    return (last_update_at or declared_at) + SEVERITIES[Severity(severity)].update_every


def update_overdue(due: datetime | None, now: datetime) -> bool:
    return due is not None and now > due


def countdown(due: datetime | None, now: datetime) -> str:
    """ "due in 12m" / "overdue by 1h 5m" for the composer."""
    if due is None:
        return "no more updates due"
    seconds = int((due - now).total_seconds())
    span = abs(seconds)
    hours, minutes = divmod(span // 60, 60)
    text = f"{hours}h {minutes}m" if hours else f"{minutes}m"
    return f"due in {text}" if seconds >= 0 else f"overdue by {text}"


class UpdateKind(StrEnum):
    first = "first"
    update = "update"
    resolution = "resolution"


def update_kind(previous_updates: int, status: IncidentStatus) -> UpdateKind:
    if IncidentStatus(status) in (IncidentStatus.resolved, IncidentStatus.postmortem_done):
        return UpdateKind.resolution
    return UpdateKind.first if previous_updates == 0 else UpdateKind.update


# Templates the composer starts from. The first message promises attention, not a time
# (community-support-desk.md: "we are on the case, and they can relax").
UPDATE_TEMPLATES: dict[UpdateKind, str] = {
    UpdateKind.first: (
        "We are aware of a problem affecting {communities}: {title}.\n\n"
        "Our incident responder {responder} is investigating now and this has our full attention. "
        "We cannot promise a time for the fix yet; we will send the next update by {next_update}."
    ),
    UpdateKind.update: (
        "Update on {title} (status: {status}).\n\n"
        "What we know now: …\n\nWhat we are doing: …\n\nNext update by {next_update}."
    ),
    UpdateKind.resolution: (
        "{title} is resolved.\n\n"
        "What happened: …\n\nIf you still see problems, reply to this message. "
        "We will share a post-mortem with what we are changing so it does not happen again."
    ),
}
