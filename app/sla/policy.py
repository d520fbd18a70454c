"""Which SLA rule applies to a ticket: pure matching, no database.

For each target the community's own policy is asked first, then the default policy; within
a policy the most specific matching rule wins (criticality outranks urgency, which outranks
channel), so "C1: 1 hour" beats "email: 1 day" for a critical e-mailed ticket.
"""

from dataclasses import dataclass

from app.sla.schemas import Target


@dataclass(frozen=True)
class RuleFacts:
    """A rule as plain values (from `SlaRule`), with `overrides` true for a community policy's rule."""

    id: int
    target: str
    channel: str | None
    criticality: int | None
    urgency: str | None
    minutes: int
    calendar_id: int
    overrides: bool = False


@dataclass(frozen=True)
class TicketFacts:
    channel: str
    criticality: int | None
    urgency: str


def matches(rule: RuleFacts, ticket: TicketFacts) -> bool:
    return (
        (rule.channel is None or rule.channel == ticket.channel)
        and (rule.criticality is None or rule.criticality == ticket.criticality)
        and (rule.urgency is None or rule.urgency == ticket.urgency)
    )


def specificity(rule: RuleFacts) -> tuple[int, int, int, int, int]:
    return (
        1 if rule.overrides else 0,
        1 if rule.criticality is not None else 0,
        1 if rule.urgency is not None else 0,
        1 if rule.channel is not None else 0,
        -rule.id,  # ties: the older rule, so adding a rule never silently reorders old ones
    )


def pick_rules(rules: list[RuleFacts], ticket: TicketFacts) -> dict[Target, RuleFacts]:
    """The winning rule per target; a target no rule matches gets no clock."""
    best: dict[Target, RuleFacts] = {}
    for rule in rules:
        if not matches(rule, ticket):
            continue
        target = Target(rule.target)
        if target not in best or specificity(rule) > specificity(best[target]):
            best[target] = rule
    return best
