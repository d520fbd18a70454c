"""Pure triage rules: the status machine and the board order. No I/O, no clock reads.

Ties on the key are broken by ticket id (oldest first) where it is queried.

The board order: incidents first, then criticality,
then the community-desk prioritisation order for non-incident work (funded; many
communities; current goals; budget left; high impact on one community; everything else;
over budget last), then the SLA due soonest. `rank()` returns both a sortable key and
the human reasons, so the board can say why a ticket is where it is.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from app.errors import InvalidTransition
from app.ticket.enums import CRITICALITY_DEFINITIONS, Criticality, Status, Urgency

# Allowed moves, with the reason shown when a move is refused.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.awaiting_approval: frozenset({Status.new, Status.closed}),
    Status.new: frozenset({Status.open, Status.pending, Status.resolved, Status.closed}),
    Status.open: frozenset({Status.pending, Status.resolved, Status.closed}),
    Status.pending: frozenset({Status.open, Status.resolved, Status.closed}),
    Status.resolved: frozenset({Status.open, Status.closed}),
    Status.closed: frozenset({Status.open}),
}

_WHY_NOT = {
    Status.awaiting_approval: "only new requests from non-representatives wait for approval",
    Status.new: "a ticket becomes new only when a representative approves it",
}


def check_transition(current: Status, target: Status) -> None:
    """Raise InvalidTransition (409) with a reason unless current → target is allowed."""
    current, target = Status(current), Status(target)
    if current == target:
        raise InvalidTransition(f"ticket is already {target.value}")
    if target in TRANSITIONS[current]:
        return
    if current == Status.awaiting_approval:
        reason = "a request awaiting approval must first be approved (→ new) or declined (→ closed)"
    elif target in _WHY_NOT:
        reason = _WHY_NOT[target]
    else:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
        reason = f"from {current.value} a ticket can move to: {allowed}"
    raise InvalidTransition(f"cannot move from {current.value} to {target.value}: {reason}")


def is_reopen(current: Status, target: Status) -> bool:
    return Status(current) in (Status.resolved, Status.closed) and Status(target) == Status.open


class Tier(IntEnum):
    """Prioritisation of non-incident work, best first (community-support-desk.md)."""

    funded = 0
    many_communities = 1
    fits_goals = 2
    budget_left = 3
    high_impact = 4
    everything_else = 5
    over_budget = 6


TIER_REASONS = {
    Tier.funded: "funded request",
    Tier.many_communities: "affects several communities",
    Tier.fits_goals: "fits current goals",
    Tier.budget_left: "community has support budget left",
    Tier.high_impact: "high impact on one community",
    Tier.everything_else: "other work",
    Tier.over_budget: "community is over its support budget",
}

URGENCY_DEFAULT_CRITICALITY = {
    Urgency.emergency: Criticality.critical,
    Urgency.urgent: Criticality.medium,
    Urgency.normal: Criticality.low,
}

NO_DUE = 9_999_999_999  # sorts after every real epoch second


@dataclass(frozen=True)
class RankFacts:
    """What the board order depends on; the service gathers these from the database."""

    created_at: datetime
    urgency: Urgency = Urgency.normal
    criticality: Criticality | None = None
    in_incident: bool = False
    funded: bool = False
    affected_communities: int = 1
    fits_goals: bool = False
    # None: the community has no budget set (or there is no community).
    budget_left: bool | None = None
    has_workaround: bool | None = None
    data_loss: bool = False
    blocks_priority_team: bool = False
    due_at: datetime | None = None
    vote_count: int = 0


@dataclass(frozen=True)
class Rank:
    key: str
    criticality: Criticality
    tier: Tier
    reasons: list[str] = field(default_factory=list)


def tier_of(facts: RankFacts) -> Tier:
    if facts.budget_left is False and not facts.funded:
        return Tier.over_budget
    if facts.funded:
        return Tier.funded
    if facts.affected_communities > 1:
        return Tier.many_communities
    if facts.fits_goals:
        return Tier.fits_goals
    if facts.budget_left:
        return Tier.budget_left
    if facts.data_loss or facts.blocks_priority_team or facts.has_workaround is False:
        return Tier.high_impact
    return Tier.everything_else


def _reasons(
    in_incident: bool,
    criticality: Criticality | int | None,
    urgency: Urgency | str,
    tier: Tier,
    due_at: datetime | None,
    vote_count: int,
) -> list[str]:
    reasons: list[str] = []
    if in_incident:
        reasons.append("part of an open incident")
    if criticality is not None:
        reasons.append(
            CRITICALITY_DEFINITIONS[Criticality(criticality)].split(":")[0].lower() + " criticality"
        )
    else:
        reasons.append(f"not classified yet; asked as {Urgency(urgency).value}")
    reasons.append(TIER_REASONS[tier])
    if due_at is not None:
        reasons.append("SLA due " + due_at.strftime("%Y-%m-%d %H:%M UTC"))
    if vote_count:
        reasons.append(f"{vote_count} +1" + ("s" if vote_count != 1 else ""))
    return reasons


def rank(facts: RankFacts) -> Rank:
    if facts.criticality is not None:
        crit = Criticality(facts.criticality)
    else:
        crit = URGENCY_DEFAULT_CRITICALITY[Urgency(facts.urgency)]
    tier = tier_of(facts)
    due = NO_DUE if facts.due_at is None else int(facts.due_at.timestamp())
    votes = max(0, 9999 - min(facts.vote_count, 9999))
    key = (
        f"{0 if facts.in_incident else 1}{int(crit)}{int(tier)}"
        f"{due:010d}{votes:04d}{int(facts.created_at.timestamp()):010d}"
    )
    reasons = _reasons(
        facts.in_incident, facts.criticality, facts.urgency, tier, facts.due_at, facts.vote_count
    )
    return Rank(key=key, criticality=crit, tier=tier, reasons=reasons)


_KEY_LENGTH = 27  # incident 1, criticality 1, tier 1, due 10, votes 4, created 10
_TIERS = {str(int(t)): t for t in Tier}


def explain(
    key: str,
    *,
    criticality: Criticality | int | None,
    urgency: Urgency | str,
    due_at: datetime | None,
    vote_count: int,
) -> list[str] | None:
    """The reasons of a stored board key, as `rank()` gave them when it made the key.

    The board is ordered by the stored key, so its own digits say why a ticket sits where it
    does; reading the incident and tier parts back from it spares the board the incident and
    budget lookups of ranking again (~10 % of its time). The other facts are the ticket's own
    columns, which were ranked with it. None for a key not in this form: rank it instead.
    """
    if len(key) != _KEY_LENGTH or not key.isdigit() or key[0] not in "01" or key[2] not in _TIERS:
        return None
    return _reasons(key[0] == "0", criticality, urgency, _TIERS[key[2]], due_at, vote_count)
