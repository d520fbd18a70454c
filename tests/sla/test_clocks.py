"""Clocks on tickets: started from the default policy, paused on pending, met, recomputed, breached once."""

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from app.audit.models import Event
from app.sla.models import SlaCalendarIn, SlaClock, SlaPolicyIn, SlaRuleIn
from app.sla.schemas import ClockState, Target
from app.sla.service import clock_states, save_calendar, save_policy
from app.sla.sweep import sweep_breaches
from app.ticket.enums import Channel, Criticality, MessageKind, Status
from app.ticket.models import MessageCreate, TicketUpdate
from app.ticket.service import claim_ticket, post_message, update_ticket
from tests.factories import actor_for, make_community, make_ticket, make_user, principal_for


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


async def clocks_of(session, ticket_id: int) -> dict[str, SlaClock]:
    rows = (
        await session.exec(
            select(SlaClock)
            .where(SlaClock.ticket_id == ticket_id)
            .execution_options(populate_existing=True)
        )
    ).all()
    return {c.target: c for c in rows}


async def states(session, ticket_id: int, now: datetime) -> dict[Target, ClockState]:
    return {s.target: s.state for s in (await clock_states(session, [ticket_id], now))[ticket_id]}


async def test_an_email_ticket_opened_friday_afternoon_gets_the_default_targets(session, clock):
    clock.set(utc(2026, 11, 20, 16, 0))  # Friday
    ticket = await make_ticket(session, channel=Channel.email)
    c = await clocks_of(session, ticket.id)
    assert set(c) == {"ack", "first_response", "resolution"}
    # First response by e-mail: 1 business day (8 h) of 09:00-17:00 → Monday 16:00.
    assert c["first_response"].due_at == utc(2026, 11, 23, 16, 0)
    # Acknowledge within one working day (24 h Mon-Fri): 8 h of Friday + 16 h of Monday.
    assert c["ack"].due_at == utc(2026, 11, 23, 16, 0)
    assert c["resolution"].due_at == utc(2026, 12, 4, 16, 0)  # 10 working days
    assert ticket.due_at == utc(2026, 11, 23, 16, 0)
    assert "SLA due 2026-11-23 16:00 UTC" in " ".join(await _reasons(session, ticket))


async def _reasons(session, ticket):
    from app.ticket.views import ticket_view

    return (await ticket_view(session, ticket)).priority_reasons


async def test_github_gets_three_business_hours_and_critical_beats_channel(session, clock):
    ticket = await make_ticket(session, channel=Channel.github)  # Monday 10:00
    assert (await clocks_of(session, ticket.id))["first_response"].due_at == utc(
        2026, 11, 23, 13, 0
    )
    triager = principal_for(await make_user(session, "triager"))
    clock.advance(minutes=30)
    await update_ticket(
        session, ticket.id, TicketUpdate(criticality=Criticality.critical), actor=triager
    )
    c = await clocks_of(session, ticket.id)
    # C1: first response within 60 min of working-day time; 30 min were already used.
    assert c["first_response"].target_minutes == 60
    assert c["first_response"].due_at == utc(2026, 11, 23, 11, 0)
    event = (
        await session.exec(
            select(Event).where(Event.ticket_id == ticket.id, Event.kind == "sla.recomputed")
        )
    ).one()
    fr = event.data["targets"]["first_response"]
    assert fr["before"]["minutes"] == 180 and fr["after"]["minutes"] == 60
    assert fr["before"]["due_at"].startswith("2026-11-23T13:00")
    assert event.data["reason"] == "changed criticality"


async def test_pending_pauses_and_the_requester_reply_resumes(session, clock):
    community = await make_community(session, reps=("rep@uni.example",))
    ticket = await make_ticket(
        session, community, requester_email="rep@uni.example", channel=Channel.email
    )
    agent = await make_user(session, "agent")
    actor = principal_for(agent)
    before = (await clocks_of(session, ticket.id))["resolution"].due_at
    clock.advance(hours=1)  # Monday 11:00
    await update_ticket(session, ticket.id, TicketUpdate(status=Status.open), actor=actor)
    await update_ticket(session, ticket.id, TicketUpdate(status=Status.pending), actor=actor)
    res = (await clocks_of(session, ticket.id))["resolution"]
    assert res.running_since is None and res.due_at is None
    assert (await states(session, ticket.id, clock.now))[Target.resolution] == ClockState.paused
    # Three days pass waiting on the requester: the clock does not move.
    later = clock.advance(days=3)
    assert (await states(session, ticket.id, later + timedelta(days=30)))[
        Target.resolution
    ] == ClockState.paused
    requester_id = ticket.requester_id
    await post_message(
        session,
        ticket.id,
        MessageCreate(body="Here are the logs"),
        actor=await actor_for(session, requester_id),
    )
    res = (await clocks_of(session, ticket.id))["resolution"]
    assert res.running_since == later
    # Due three working days (72 h of Mon-Fri time) later than originally.
    assert res.due_at == before + timedelta(days=3)
    assert (await states(session, ticket.id, clock.now))[Target.resolution] == ClockState.running


async def test_staff_reply_meets_ack_and_first_response_resolve_meets_resolution(session, clock):
    ticket = await make_ticket(session, channel=Channel.slack)
    agent = await make_user(session, "agent")
    clock.advance(minutes=20)
    await post_message(
        session,
        ticket.id,
        MessageCreate(body="note to self", kind=MessageKind.internal),
        actor=principal_for(agent),
    )
    st = await states(session, ticket.id, clock.now)
    assert st[Target.ack] == ClockState.met and st[Target.first_response] == ClockState.running
    clock.advance(minutes=20)
    await post_message(
        session, ticket.id, MessageCreate(body="Looking into it"), actor=principal_for(agent)
    )
    c = await clocks_of(session, ticket.id)
    assert c["first_response"].elapsed_us == 40 * 60 * 10**6
    await update_ticket(
        session, ticket.id, TicketUpdate(status=Status.open), actor=principal_for(agent)
    )
    clock.advance(hours=2)
    await update_ticket(
        session, ticket.id, TicketUpdate(status=Status.resolved), actor=principal_for(agent)
    )
    assert (await states(session, ticket.id, clock.now + timedelta(days=60))) == {
        Target.ack: ClockState.met,
        Target.first_response: ClockState.met,
        Target.resolution: ClockState.met,
    }
    # Reopened: the resolution clock runs on from where it stopped.
    clock.advance(days=1)
    await update_ticket(
        session, ticket.id, TicketUpdate(status=Status.open), actor=principal_for(agent)
    )
    res = (await clocks_of(session, ticket.id))["resolution"]
    assert res.stopped_at is None and res.consumed_us == (2 * 60 + 40) * 60 * 10**6


async def test_claim_acknowledges(session, clock):
    ticket = await make_ticket(session)
    await claim_ticket(session, ticket.id, actor=principal_for(await make_user(session, "triager")))
    assert (await states(session, ticket.id, clock.now))[Target.ack] == ClockState.met


async def test_states_move_running_at_risk_breached_as_time_passes(session, clock):
    ticket = await make_ticket(
        session, channel=Channel.github
    )  # first response: 3 business hours from 10:00
    now = clock.now
    assert (await states(session, ticket.id, now + timedelta(minutes=134)))[
        Target.first_response
    ] == ClockState.running
    assert (await states(session, ticket.id, now + timedelta(minutes=135)))[
        Target.first_response
    ] == ClockState.at_risk
    assert (await states(session, ticket.id, now + timedelta(minutes=179)))[
        Target.first_response
    ] == ClockState.at_risk
    assert (await states(session, ticket.id, now + timedelta(minutes=180)))[
        Target.first_response
    ] == ClockState.breached
    view = (await clock_states(session, [ticket.id], now + timedelta(hours=4)))[ticket.id]
    fr = next(s for s in view if s.target == Target.first_response)
    assert fr.remaining_seconds == -3600 and fr.due_at == utc(2026, 11, 23, 13, 0)


async def test_sweep_records_each_breach_exactly_once(session, clock):
    t1 = await make_ticket(session, channel=Channel.github)
    t2 = await make_ticket(session, channel=Channel.github)
    agent = await make_user(session, "agent")
    clock.advance(hours=1)
    await post_message(session, t2.id, MessageCreate(body="On it"), actor=principal_for(agent))
    assert await sweep_breaches(session, utc(2026, 11, 23, 12, 59)) == 0
    assert await sweep_breaches(session, utc(2026, 11, 23, 13, 0)) == 1
    assert await sweep_breaches(session, utc(2026, 11, 23, 13, 5)) == 0
    events = (await session.exec(select(Event).where(Event.kind == "sla.breached"))).all()
    assert [(e.ticket_id, e.data["target"]) for e in events] == [(t1.id, "first_response")]
    assert events[0].created_at == utc(2026, 11, 23, 13, 0)
    # The next day the ack (24 h of working days) is breached on t1 only; t2 was acknowledged.
    assert await sweep_breaches(session, utc(2026, 11, 24, 10, 0)) == 1
    assert await sweep_breaches(session, utc(2026, 11, 24, 10, 1), batch=1) == 0
    kinds = (
        await session.exec(
            select(Event.data).where(Event.kind == "sla.breached").order_by(col(Event.id))
        )
    ).all()
    assert [k["target"] for k in kinds] == ["first_response", "ack"]


async def test_a_late_reply_between_sweeps_is_still_recorded_once(session, clock):
    ticket = await make_ticket(session, channel=Channel.github)
    agent = await make_user(session, "agent")
    clock.advance(hours=4)  # an hour late, and no sweep ran meanwhile
    await post_message(
        session, ticket.id, MessageCreate(body="Sorry for the wait"), actor=principal_for(agent)
    )
    assert (await states(session, ticket.id, clock.now))[
        Target.first_response
    ] == ClockState.breached
    assert (
        await sweep_breaches(session, clock.now) == 1
    )  # the late first response; the ack (24 h) was on time
    assert (
        await sweep_breaches(session, clock.now + timedelta(days=2)) == 0
    )  # resolution is not due yet
    event = (await session.exec(select(Event).where(Event.kind == "sla.breached"))).one()
    assert event.data["target"] == "first_response" and event.data["due_at"].startswith(
        "2026-11-23T13:00"
    )


async def test_community_policy_overrides_the_default_target_by_target(session, clock):
    community = await make_community(session, "acme", reps=("rep@acme.example",))
    admin = await make_user(session, "admin")
    cal = await save_calendar(
        session,
        SlaCalendarIn(
            name="Sydney office",
            zone="Australia/Sydney",
            hours={d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
            holiday_country="AU",
            holiday_subdiv="NSW",
        ),
        actor_id=admin.id,
    )
    open_ticket = await make_ticket(session, community, requester_email="rep@acme.example")
    await save_policy(
        session,
        SlaPolicyIn(
            name="Acme",
            community="acme",
            rules=[SlaRuleIn(target=Target.first_response, minutes=120, calendar_id=cal.id)],
        ),
        actor_id=admin.id,
    )
    # Sydney office hours: Monday 10:00 UTC is 21:00 in Sydney; 2 h from Tuesday 09:00 AEDT (Mon 22:00 UTC).
    fresh = await make_ticket(session, community, requester_email="rep@acme.example")
    c = await clocks_of(session, fresh.id)
    assert c["first_response"].due_at == utc(2026, 11, 24, 0, 0)
    assert c["ack"].target_minutes == 24 * 60  # not overridden: the default's
    # The open ticket was recomputed when the policy changed, with the history in an event.
    reopened = await clocks_of(session, open_ticket.id)
    assert reopened["first_response"].target_minutes == 120
    ev = (
        await session.exec(
            select(Event).where(Event.ticket_id == open_ticket.id, Event.kind == "sla.recomputed")
        )
    ).one()
    assert ev.data["reason"] == "policy changed"
