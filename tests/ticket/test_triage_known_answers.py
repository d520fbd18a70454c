"""Known answers for the board order: exact keys, tiers and the words the board shows."""

from datetime import UTC, datetime

import pytest

from app.errors import InvalidTransition
from app.ticket.enums import Criticality, Status, Urgency
from app.ticket.triage import RankFacts, Tier, check_transition, explain, rank, tier_of

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # epoch second 1795424400
DUE = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)  # epoch second 1795541400


def test_epoch_seconds_used_below():
    assert int(T0.timestamp()) == 1795424400 and int(DUE.timestamp()) == 1795541400


KEYS = [
    # facts, key: incident(1) criticality(1) tier(1) due(10) 9999-votes(4) created(10)
    (RankFacts(created_at=T0), "1359999999999" + "9999" + "1795424400"),
    (
        RankFacts(
            created_at=T0,
            in_incident=True,
            criticality=Criticality.critical,
            funded=True,
            due_at=DUE,
            vote_count=3,
        ),
        "0101795541400" + "9996" + "1795424400",
    ),
    (
        RankFacts(created_at=T0, urgency=Urgency.urgent, vote_count=1),
        "1259999999999" + "9998" + "1795424400",
    ),
    (
        RankFacts(created_at=T0, urgency=Urgency.emergency, vote_count=9999),
        "1159999999999" + "0000" + "1795424400",
    ),
    (
        RankFacts(
            created_at=T0, criticality=Criticality.minor, vote_count=12345, budget_left=False
        ),
        "1469999999999" + "0000" + "1795424400",
    ),
]


@pytest.mark.parametrize("facts,key", KEYS)
def test_exact_keys(facts, key):
    assert rank(facts).key == key


TIERS = [
    # one fact at a time, then the ones that beat each other
    (dict(), Tier.everything_else),
    (dict(affected_communities=2), Tier.many_communities),  # two communities are already "several"
    (dict(affected_communities=1), Tier.everything_else),
    (dict(affected_communities=0), Tier.everything_else),
    (dict(fits_goals=True), Tier.fits_goals),
    (dict(budget_left=True), Tier.budget_left),
    (dict(budget_left=None), Tier.everything_else),
    (dict(data_loss=True), Tier.high_impact),
    (dict(blocks_priority_team=True), Tier.high_impact),
    (dict(has_workaround=False), Tier.high_impact),
    (dict(has_workaround=True), Tier.everything_else),
    (dict(has_workaround=None), Tier.everything_else),
    (dict(budget_left=False), Tier.over_budget),
    (dict(budget_left=False, funded=True), Tier.funded),
    (dict(funded=True, affected_communities=5), Tier.funded),
    (dict(affected_communities=2, fits_goals=True, budget_left=True), Tier.many_communities),
    (dict(fits_goals=True, budget_left=True, data_loss=True), Tier.fits_goals),
    (dict(budget_left=True, data_loss=True), Tier.budget_left),
    (
        dict(budget_left=False, affected_communities=4, fits_goals=True, data_loss=True),
        Tier.over_budget,
    ),
]


@pytest.mark.parametrize("fields,tier", TIERS)
def test_each_tier_fact(fields, tier):
    assert tier_of(RankFacts(created_at=T0, **fields)) == tier
    assert rank(RankFacts(created_at=T0, **fields)).key[2] == str(int(tier))


REASONS = [
    (RankFacts(created_at=T0), ["not classified yet; asked as normal", "other work"]),
    (
        RankFacts(
            created_at=T0,
            in_incident=True,
            criticality=Criticality.critical,
            due_at=DUE,
            vote_count=1,
        ),
        [
            "part of an open incident",
            "critical criticality",
            "other work",
            "SLA due 2026-11-24 17:30 UTC",
            "1 +1",
        ],
    ),
    (
        RankFacts(
            created_at=T0, criticality=Criticality.medium, affected_communities=2, vote_count=2
        ),
        ["medium criticality", "affects several communities", "2 +1s"],
    ),
    (
        RankFacts(created_at=T0, criticality=Criticality.low, funded=True, vote_count=0),
        ["low criticality", "funded request"],
    ),
    (
        RankFacts(created_at=T0, criticality=Criticality.minor, budget_left=False),
        ["minor criticality", "community is over its support budget"],
    ),
    (
        RankFacts(created_at=T0, urgency=Urgency.emergency, fits_goals=True),
        ["not classified yet; asked as emergency", "fits current goals"],
    ),
    (
        RankFacts(created_at=T0, urgency=Urgency.urgent, budget_left=True),
        ["not classified yet; asked as urgent", "community has support budget left"],
    ),
    (
        RankFacts(created_at=T0, has_workaround=False, vote_count=11),
        ["not classified yet; asked as normal", "high impact on one community", "11 +1s"],
    ),
]


@pytest.mark.parametrize("facts,reasons", REASONS)
def test_exact_reasons_and_their_stored_form(facts, reasons):
    r = rank(facts)
    assert r.reasons == reasons
    assert (
        explain(
            r.key,
            criticality=facts.criticality,
            urgency=facts.urgency,
            due_at=facts.due_at,
            vote_count=facts.vote_count,
        )
        == reasons
    )


@pytest.mark.parametrize(
    "current,target,detail",
    [
        (
            Status.awaiting_approval,
            Status.open,
            "cannot move from awaiting_approval to open: a request awaiting approval must first be approved (→ new) "
            "or declined (→ closed)",
        ),
        (
            Status.open,
            Status.new,
            "cannot move from open to new: a ticket becomes new only when a representative approves it",
        ),
        (
            Status.open,
            Status.awaiting_approval,
            "cannot move from open to awaiting_approval: only new requests from non-representatives wait for approval",
        ),
        (
            Status.resolved,
            Status.pending,
            "cannot move from resolved to pending: from resolved a ticket can move to: closed, open",
        ),
        (Status.new, Status.new, "ticket is already new"),
    ],
)
def test_exact_refusals(current, target, detail):
    with pytest.raises(InvalidTransition) as err:
        check_transition(current, target)
    assert err.value.detail == detail
