"""The status machine and the board order, as pure functions."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import InvalidTransition
from app.ticket.enums import Criticality, Status, Urgency
from app.ticket.triage import (
    NO_DUE,
    TRANSITIONS,
    RankFacts,
    Tier,
    check_transition,
    explain,
    is_reopen,
    rank,
    tier_of,
)
from tests.properties import examples

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.new, Status.open),
        (Status.open, Status.pending),
        (Status.pending, Status.open),
        (Status.open, Status.resolved),
        (Status.resolved, Status.closed),
        (Status.resolved, Status.open),
        (Status.closed, Status.open),
        (Status.awaiting_approval, Status.new),
        (Status.awaiting_approval, Status.closed),
        (Status.new, Status.closed),
        (Status.pending, Status.resolved),
    ],
)
def test_allowed_moves(current, target):
    check_transition(current, target)  # does not raise


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        (Status.open, Status.new, "approves"),
        (Status.closed, Status.resolved, "from closed a ticket can move to: open"),
        (Status.awaiting_approval, Status.open, "must first be approved"),
        (Status.new, Status.awaiting_approval, "only new requests"),
        (Status.open, Status.open, "already open"),
        (Status.pending, Status.new, "approves"),
    ],
)
def test_illegal_moves_say_why(current, target, reason):
    with pytest.raises(InvalidTransition) as err:
        check_transition(current, target)
    assert reason in err.value.detail
    assert err.value.status_code == 409


@examples(100)
@given(st.sampled_from(list(Status)), st.sampled_from(list(Status)))
def test_machine_accepts_exactly_the_table(current, target):
    allowed = target in TRANSITIONS[current]
    try:
        check_transition(current, target)
        accepted = True
    except InvalidTransition:
        accepted = False
    assert accepted == allowed


@examples(100)
@given(st.lists(st.sampled_from(list(Status)), max_size=30))
def test_every_reachable_state_can_still_be_closed_or_reopened(moves):
    state = Status.awaiting_approval
    for target in moves:
        if target in TRANSITIONS[state]:
            state = target
    # No dead ends: closed is one move away except from closed itself, which reopens.
    assert Status.closed in TRANSITIONS[state] or (
        state == Status.closed and Status.open in TRANSITIONS[state]
    )


def test_reopen_is_only_from_finished_work():
    assert is_reopen(Status.resolved, Status.open)
    assert is_reopen(Status.closed, Status.open)
    assert not is_reopen(Status.pending, Status.open)


facts = st.builds(
    RankFacts,
    created_at=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    urgency=st.sampled_from(list(Urgency)),
    criticality=st.none() | st.sampled_from(list(Criticality)),
    in_incident=st.booleans(),
    funded=st.booleans(),
    affected_communities=st.integers(1, 20),
    fits_goals=st.booleans(),
    budget_left=st.none() | st.booleans(),
    has_workaround=st.none() | st.booleans(),
    data_loss=st.booleans(),
    blocks_priority_team=st.booleans(),
    due_at=st.none()
    | st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    vote_count=st.integers(0, 20000),
)


def reference_criticality(f: RankFacts) -> int:
    """The board's rule: the criticality given, else the one the urgency asked for implies."""
    if f.criticality is not None:
        return int(f.criticality)
    return {Urgency.emergency: 1, Urgency.urgent: 2, Urgency.normal: 3}[f.urgency]


def reference_tier(f: RankFacts) -> int:
    """The community-desk order, read top to bottom: the first line that holds decides."""
    order = [
        (Tier.funded, f.funded),
        (Tier.over_budget, f.budget_left is False),
        (Tier.many_communities, f.affected_communities >= 2),
        (Tier.fits_goals, f.fits_goals),
        (Tier.budget_left, f.budget_left is True),
        (Tier.high_impact, f.data_loss or f.blocks_priority_team or f.has_workaround is False),
        (Tier.everything_else, True),
    ]
    return int(next(tier for tier, holds in order if holds))


@examples(100)
@given(facts, facts)
def test_key_order_is_the_design_order(a, b):
    """Sorting by the stored key equals sorting by (incident, criticality, tier, due, votes, age)."""
    ra, rb = rank(a), rank(b)

    def expected(f, r):
        due = f.due_at.timestamp() if f.due_at else NO_DUE
        return (
            not f.in_incident,
            reference_criticality(f),
            reference_tier(f),
            int(due),
            -min(f.vote_count, 9999),
            int(f.created_at.timestamp()),
        )

    assert (int(ra.criticality), int(ra.tier)) == (reference_criticality(a), reference_tier(a))
    assert (ra.key < rb.key) == (expected(a, ra) < expected(b, rb))
    assert (ra.key == rb.key) == (expected(a, ra) == expected(b, rb))


@examples(100)
@given(facts)
def test_incident_always_first(f):
    inside = rank(RankFacts(**{**f.__dict__, "in_incident": True}))
    outside = rank(
        RankFacts(
            **{
                **f.__dict__,
                "in_incident": False,
                "criticality": Criticality.critical,
                "funded": True,
            }
        )
    )
    assert inside.key < outside.key


@examples(100)
@given(facts)
def test_every_rank_explains_itself(f):
    r = rank(f)
    assert r.reasons, "the board must say why"
    assert any("criticality" in reason or "classified" in reason for reason in r.reasons)
    assert len(r.key) <= 64


def test_tiers_follow_the_community_desk_order():
    base = RankFacts(created_at=T0)
    assert tier_of(RankFacts(created_at=T0, funded=True, budget_left=False)) == Tier.funded
    assert tier_of(RankFacts(created_at=T0, affected_communities=3)) == Tier.many_communities
    assert tier_of(RankFacts(created_at=T0, fits_goals=True)) == Tier.fits_goals
    assert tier_of(RankFacts(created_at=T0, budget_left=True)) == Tier.budget_left
    assert tier_of(RankFacts(created_at=T0, data_loss=True)) == Tier.high_impact
    assert tier_of(RankFacts(created_at=T0, has_workaround=False)) == Tier.high_impact
    assert tier_of(base) == Tier.everything_else
    assert tier_of(RankFacts(created_at=T0, budget_left=False, data_loss=True)) == Tier.over_budget


def test_unclassified_ticket_ranks_by_the_urgency_asked():
    emergency = rank(RankFacts(created_at=T0, urgency=Urgency.emergency))
    normal_c2 = rank(RankFacts(created_at=T0, criticality=Criticality.medium))
    assert emergency.criticality == Criticality.critical
    assert emergency.key < normal_c2.key
    assert "asked as emergency" in " ".join(emergency.reasons)


def test_soonest_due_then_votes_then_oldest():
    due_soon = rank(RankFacts(created_at=T0, due_at=T0 + timedelta(hours=1)))
    due_later = rank(
        RankFacts(created_at=T0 - timedelta(days=3), due_at=T0 + timedelta(hours=5), vote_count=9)
    )
    no_due = rank(RankFacts(created_at=T0 - timedelta(days=9)))
    popular = rank(RankFacts(created_at=T0, vote_count=3))
    old = rank(RankFacts(created_at=T0 - timedelta(days=1)))
    assert due_soon.key < due_later.key < no_due.key
    assert popular.key < old.key  # more +1s beat age


@examples(100)
@given(facts)
def test_a_stored_key_explains_itself_as_its_rank_did(f):
    """The board reads a ticket's reasons back from its stored key (no incident or budget lookup)."""
    r = rank(f)
    assert (
        explain(
            r.key,
            criticality=f.criticality,
            urgency=f.urgency,
            due_at=f.due_at,
            vote_count=f.vote_count,
        )
        == r.reasons
    )


@pytest.mark.parametrize(
    "key", ["", "1", "x" * 27, "2" + "0" * 26, "119" + "0" * 24, "1" * 26, "1" * 28]
)
def test_a_key_not_written_by_rank_explains_nothing(key):
    assert explain(key, criticality=None, urgency=Urgency.normal, due_at=None, vote_count=0) is None
