"""Escalation along the on-call chain, driven by an injected clock and a fake rota."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from app.audit.models import Event
from app.db import transaction
from app.escalation.models import Escalation
from app.escalation.rules import next_step
from app.escalation.service import run_escalations
from app.incident.models import IncidentCreate
from app.incident.service import acknowledge_incident, declare_in_transaction
from app.oncall import ON_CALL_RESOLVERS
from app.outbox.models import OutboxMessage
from app.ticket.enums import Urgency
from app.ticket.service import claim_ticket
from app.worker.jobs import periodic_jobs
from tests.factories import make_community, make_ticket, make_user, principal_for

# Across the EU clock change (29 March 2026, 01:00 UTC): escalation counts real minutes.
T0 = datetime(2026, 3, 29, 0, 50, tzinfo=UTC)


@pytest.fixture
async def rota(session):
    """A fake rota: Rhea is the responder on call, Leo the lead."""
    rhea = await make_user(session, "agent", name="Rhea", email="rhea@desk.example")
    leo = await make_user(session, "triager", name="Leo", email="leo@desk.example")
    asked = []

    async def fake(session, role, at, *, schedule_id=None):
        asked.append((role, at))
        return {"responder": [rhea.id], "lead": [leo.id]}.get(role, [])

    ON_CALL_RESOLVERS.add(fake)
    yield {"responder": rhea, "lead": leo, "asked": asked}
    ON_CALL_RESOLVERS.remove(fake)


async def alert_incident(session, at):
    async with transaction(session):  # as an alert declares it: nobody acknowledged, no responder
        incident = await declare_in_transaction(
            session,
            IncidentCreate(title="Hub down"),
            actor_id=None,
            now=at,
            source="alert",
            group_key="g",
        )
    return incident


async def pages(session):
    rows = (
        await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.topic == "email.send")
            .order_by(OutboxMessage.id)
        )
    ).all()
    return [r.payload["to"][0] for r in rows if r.payload["subject"].startswith("[Escalation]")]


async def escalated(session, kind="incident.escalated"):
    return [
        e.data
        for e in (
            await session.exec(select(Event).where(Event.kind == kind).order_by(Event.id))
        ).all()
    ]


async def test_unacknowledged_incident_walks_the_chain_twice_then_stops(session, rota):
    inc = await alert_incident(session, T0)
    assert (
        await run_escalations(session, T0 + timedelta(minutes=4)) == 0
    )  # 5 minutes to acknowledge
    assert await run_escalations(session, T0 + timedelta(minutes=5)) == 1
    assert (
        await run_escalations(session, T0 + timedelta(minutes=5)) == 0
    )  # same instant again: nothing twice
    assert await run_escalations(session, T0 + timedelta(minutes=14)) == 0
    for minute in (15, 25, 35, 45, 55, 65):
        await run_escalations(session, T0 + timedelta(minutes=minute))
    assert await pages(session) == ["rhea@desk.example", "leo@desk.example"] * 2
    steps = await escalated(session)
    assert [(d["step"], d["role"], d["round"]) for d in steps] == [
        (1, "responder", 0),
        (2, "lead", 0),
        (3, "responder", 1),
        (4, "lead", 1),
    ]
    assert steps[0]["paged"] == ["Rhea"] and steps[0]["incident"] == f"INC-{inc.id}"
    state = (await session.exec(select(Escalation))).one()
    assert state.stop_reason == "exhausted" and state.steps == 4
    slack = (
        await session.exec(select(OutboxMessage).where(OutboxMessage.topic == "slack.notify"))
    ).all()
    assert sum("Escalation" in m.payload["text"] for m in slack) == 4


async def test_acknowledging_stops_escalation(session, rota):
    inc = await alert_incident(session, T0)
    await run_escalations(session, T0 + timedelta(minutes=5))
    await acknowledge_incident(
        session, inc.id, actor=principal_for(rota["responder"]), now=T0 + timedelta(minutes=7)
    )
    for minute in (15, 25, 35):
        assert await run_escalations(session, T0 + timedelta(minutes=minute)) == 0
    assert await pages(session) == ["rhea@desk.example"]
    stops = await escalated(session, "incident.escalation_stopped")
    assert stops == [{"reason": "acknowledged", "steps": 1}]


async def test_urgent_ticket_unclaimed_for_20_minutes_escalates_until_claimed(
    session, rota, monkeypatch
):
    community = await make_community(session, reps=("rep@c.example",))
    urgent = await make_ticket(
        session, community, requester_email="rep@c.example", urgency=Urgency.urgent
    )
    created = urgent.created_at
    assert await run_escalations(session, created + timedelta(minutes=19)) == 0
    assert await run_escalations(session, created + timedelta(minutes=20)) == 1
    await claim_ticket(session, urgent.id, actor=principal_for(rota["lead"]))
    assert await run_escalations(session, created + timedelta(minutes=40)) == 0
    data = await escalated(session, "ticket.escalated")
    assert len(data) == 1 and data[0]["role"] == "responder" and data[0]["waited_minutes"] == 20
    ticket_events = (
        await session.exec(
            select(Event).where(Event.ticket_id == urgent.id, Event.kind.like("ticket.escalat%"))
        )
    ).all()
    assert [e.kind for e in ticket_events] == ["ticket.escalated", "ticket.escalation_stopped"]


async def test_one_pass_escalates_incidents_and_tickets_together_without_mixing_up_their_ids(
    session, rota
):
    """The sweep loads every subject's escalation in one query, keyed by (kind, id): incident 1
    and ticket 1 are different subjects. It asks the rota once per role per pass."""
    community = await make_community(session, reps=("rep@c.example",))
    first = await make_ticket(
        session, community, requester_email="rep@c.example", urgency=Urgency.urgent
    )
    second = await make_ticket(
        session, community, requester_email="rep@c.example", urgency=Urgency.emergency
    )
    start = max(first.created_at, second.created_at)
    inc = await alert_incident(session, start)
    assert inc.id == first.id  # the same number on both sides
    at = start + timedelta(minutes=20)
    assert await run_escalations(session, at) == 3
    assert [a for a in rota["asked"] if a[1] == at] == [("responder", at)]
    await claim_ticket(session, second.id, actor=principal_for(rota["lead"]))
    assert (
        await run_escalations(session, start + timedelta(minutes=30)) == 2
    )  # incident 1 and ticket 1
    assert [(d["step"], d["role"]) for d in await escalated(session)] == [
        (1, "responder"),
        (2, "lead"),
    ]
    assert [(d["step"], d["role"]) for d in await escalated(session, "ticket.escalated")] == [
        (1, "responder"),
        (1, "responder"),
        (2, "lead"),
    ]
    states = {
        (e.subject_type, e.subject_id): e for e in (await session.exec(select(Escalation))).all()
    }
    assert states[("ticket", second.id)].stop_reason == "claimed"
    assert (
        states[("ticket", first.id)].stopped_at is None and states[("ticket", first.id)].steps == 2
    )
    assert (
        states[("incident", inc.id)].stopped_at is None and states[("incident", inc.id)].steps == 2
    )


async def test_a_level_with_nobody_on_call_is_recorded_and_the_chain_moves_on(
    session, rota, monkeypatch
):
    monkeypatch.setenv("FIRSTLINE_ESCALATION_CHAIN", "nightwatch,lead")
    from app.incident.config import get_incident_settings

    get_incident_settings.cache_clear()
    await alert_incident(session, T0)
    await run_escalations(session, T0 + timedelta(minutes=5))
    await run_escalations(session, T0 + timedelta(minutes=15))
    assert [(d["role"], d["paged"]) for d in await escalated(session)] == [
        ("nightwatch", []),
        ("lead", ["Leo"]),
    ]
    assert await pages(session) == ["leo@desk.example"]
    assert ("nightwatch", T0 + timedelta(minutes=5)) in rota["asked"]


async def test_escalation_pages_whoever_a_real_schedule_has_on_call_across_a_handoff(session):
    """No fake rota: a weekly Berlin schedule hands over on Sunday 29 March 2026 at 03:00 local,
    the very hour the clocks go forward (01:00 UTC). Step 1 (00:55 UTC) pages last week's
    responder, step 3 (01:15 UTC) this week's; the lead has one member throughout."""
    from datetime import date, time

    from app.rota.models import RoleIn, ScheduleIn
    from app.rota.service import create_schedule

    rhea = await make_user(session, "agent", name="Rhea", email="rhea@desk.example")
    ada = await make_user(session, "agent", name="Ada", email="ada@desk.example")
    leo = await make_user(session, "triager", name="Leo", email="leo@desk.example")
    await create_schedule(
        session,
        ScheduleIn(
            name="Responders",
            kind="weekly",
            zone="Europe/Berlin",
            anchor_date=date(2026, 3, 22),
            handoff_weekday=6,
            handoff_time=time(3),
            roles=[
                RoleIn(name="responder", members=[rhea.id, ada.id]),
                RoleIn(name="lead", members=[leo.id]),
            ],
        ),
        actor_id=None,
    )
    await alert_incident(session, T0)
    for minute in (5, 15, 25, 35, 45):
        await run_escalations(session, T0 + timedelta(minutes=minute))
    assert await pages(session) == [
        "rhea@desk.example",
        "leo@desk.example",
        "ada@desk.example",
        "leo@desk.example",
    ]
    assert [(d["step"], d["paged"]) for d in await escalated(session)] == [
        (1, ["Rhea"]),
        (2, ["Leo"]),
        (3, ["Ada"]),
        (4, ["Leo"]),
    ]


def test_the_sweep_is_a_registered_periodic_job():
    from app.wiring import wire

    wire()
    assert periodic_jobs()["escalation"].every == timedelta(seconds=60)


@given(st.integers(0, 50), st.integers(1, 5), st.integers(1, 5))
def test_steps_walk_the_chain_in_order_and_are_bounded(done, chain, rounds):
    step = next_step(done, chain, rounds)
    if done >= chain * rounds:
        assert step is None
    else:
        assert step.number == done + 1 and 0 <= step.level < chain and step.round < rounds
        assert step.level == done % chain
    total = 0
    while next_step(total, chain, rounds) is not None:
        total += 1
    assert total == chain * rounds
