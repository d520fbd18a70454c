"""Each fact of the board order, from where it is stored to the ticket's stored board key.

`triage.rank` is tested as a pure rule; these check the other half: that every fact the
rule reads really reaches it from the database (a fact dropped on the way would rank every
ticket as if it were unset, and the pure tests would never notice).
"""

from datetime import UTC, datetime

import pytest

from app.budget.models import TimeEntryCreate
from app.budget.service import log_time
from app.incident.models import IncidentCreate
from app.incident.service import declare_incident
from app.ticket import service
from app.ticket.enums import Criticality, Urgency
from app.ticket.models import Ticket, TicketUpdate
from app.ticket.ranking import RankContext, facts_of, rank_contexts, rank_with, refresh_rank
from app.ticket.triage import RankFacts, Tier
from app.user.models import StaffRole
from tests.factories import make_community, make_ticket, make_user, principal_for

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)


def test_facts_of_copies_every_column_and_the_context():
    ticket = Ticket(
        id=7,
        title="t",
        body="",
        requester_id=1,
        created_at=T0,
        urgency=Urgency.urgent,
        criticality=Criticality.medium,
        funded=True,
        affected_communities=4,
        fits_goals=True,
        has_workaround=False,
        data_loss=True,
        blocks_priority_team=True,
        due_at=DUE,
        vote_count=6,
    )
    assert facts_of(ticket, RankContext(budget_left=False, in_incident=True)) == RankFacts(
        created_at=T0,
        urgency=Urgency.urgent,
        criticality=Criticality.medium,
        in_incident=True,
        funded=True,
        affected_communities=4,
        fits_goals=True,
        budget_left=False,
        has_workaround=False,
        data_loss=True,
        blocks_priority_team=True,
        due_at=DUE,
        vote_count=6,
    )
    bare = Ticket(id=8, title="t", body="", requester_id=1, created_at=T0)
    assert facts_of(bare, RankContext()) == RankFacts(created_at=T0)
    assert (
        facts_of(
            Ticket(id=9, title="t", body="", requester_id=1, created_at=T0, has_workaround=True),
            RankContext(),
        ).has_workaround
        is True
    )
    assert rank_with(ticket, RankContext(in_incident=True)).key.startswith(
        "020"
    )  # incident, medium, funded


@pytest.fixture
async def triager(session):
    return principal_for(
        await make_user(session, StaffRole.triager, name="Tri", email="tri@desk.example")
    )


# field set on the ticket -> tier digit of its stored key (criticality low throughout: key[1] == "3")
ONE_FACT = [
    ({}, Tier.everything_else),
    ({"funded": True}, Tier.funded),
    ({"affected_communities": 2}, Tier.many_communities),
    ({"fits_goals": True}, Tier.fits_goals),
    ({"has_workaround": False}, Tier.high_impact),
    ({"has_workaround": True}, Tier.everything_else),
    ({"data_loss": True}, Tier.high_impact),
    ({"blocks_priority_team": True}, Tier.high_impact),
]


@pytest.mark.parametrize("fields,tier", ONE_FACT)
async def test_each_ticket_fact_reaches_the_stored_key(session, triager, fields, tier):
    ticket = await make_ticket(session)
    updated = await service.update_ticket(
        session, ticket.id, TicketUpdate(criticality=Criticality.low, **fields), actor=triager
    )
    assert updated.rank_key[:3] == f"13{int(tier)}"


async def test_criticality_and_votes_reach_the_stored_key(session, triager):
    ticket = await make_ticket(session, urgency=Urgency.emergency)
    assert ticket.rank_key[:3] == "115"  # unclassified: the urgency asked for
    updated = await service.update_ticket(
        session, ticket.id, TicketUpdate(criticality=Criticality.minor), actor=triager
    )
    assert updated.rank_key[:3] == "145"
    voted = await service.add_vote(session, ticket.id, voter_email="fan@example.org", actor=triager)
    assert voted.rank_key[13:17] == "9998"


async def test_community_budget_reaches_the_stored_key(session, triager):
    community = await make_community(session, budget_hours=1)
    ticket = await make_ticket(session, community)
    assert (await rank_contexts(session, [ticket]))[ticket.id].budget_left is True
    assert (await refresh_rank(session, ticket)).tier == Tier.budget_left
    await log_time(session, ticket.id, TimeEntryCreate(minutes=60), actor=triager)
    await session.refresh(ticket)
    assert ticket.rank_key[2] == str(int(Tier.over_budget))
    # A request from a funded community is funded from the start, budget or not.
    funded = await make_community(session, budget_hours=1, funded=True)
    assert (await make_ticket(session, funded)).rank_key[2] == str(int(Tier.funded))


async def test_an_active_incident_reaches_the_stored_key(session, triager):
    ticket = await make_ticket(session)
    assert ticket.rank_key[0] == "1"
    await declare_incident(
        session, IncidentCreate(title="Hub down", tickets=[str(ticket.id)]), actor=triager, now=T0
    )
    await session.refresh(ticket)
    assert ticket.rank_key[0] == "0"
    assert (await rank_contexts(session, [ticket]))[ticket.id].in_incident is True


async def test_contexts_are_asked_once_per_session_and_reused(session, monkeypatch):
    """The board ranks right after a use case ranked the same tickets: the second time no domain is asked."""
    from app.ticket import ranking

    asked: list[list[int]] = []

    async def counting(session, tickets):
        asked.append(sorted(t.id for t in tickets))
        return {t.id: {"budget_left": True} for t in tickets if t.id % 2}

    monkeypatch.setattr(ranking, "RANK_CONTEXT", [counting])
    first, second = await make_ticket(session), await make_ticket(session)
    asked.clear()  # intake ranked each ticket as it came in
    contexts = await rank_contexts(session, [first, second])
    assert contexts == {
        first.id: RankContext(budget_left=bool(first.id % 2)) if first.id % 2 else RankContext(),
        second.id: RankContext(budget_left=True) if second.id % 2 else RankContext(),
    }
    assert await rank_contexts(session, [second, first]) == contexts
    assert await rank_contexts(session, [first]) == {first.id: contexts[first.id]}
    assert asked in (
        [],
        [sorted([first.id, second.id])],
    )  # asked once at most (intake may have noted them)
    assert (await refresh_rank(session, first)).tier == (
        Tier.budget_left if first.id % 2 else Tier.everything_else
    )
    assert len(asked) <= 1
