"""Declaring, responding, the customer-update fan-out and the post-mortem, at service level."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from app.audit.models import Event
from app.db import transaction
from app.errors import Conflict, InvalidInput, InvalidTransition
from app.incident import service
from app.incident.models import (
    ActionItemCreate,
    IncidentCreate,
    IncidentPatch,
    PostMortemWrite,
    UpdateCreate,
)
from app.incident.rules import IncidentStatus, Severity
from app.outbox.models import OutboxMessage
from app.ticket.enums import Status, Urgency
from app.ticket.models import Message, Ticket
from app.ticket.service import get_ticket
from tests.factories import make_community, make_ticket, make_user, principal_for
from tests.incident.factories import incident_world

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def kinds(session, incident_id):
    return [e.kind for e in await service.timeline(session, incident_id)]


async def outbox(session, topic="email.send"):
    rows = (
        await session.exec(
            select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
        )
    ).all()
    return [
        r for r in rows if "incident_id" in r.payload
    ]  # other domains e-mail too (approvals...)


async def test_declare_from_tickets_links_them_and_their_communities(session):
    w = await incident_world(session, now=T0)
    inc = w["incident"]
    assert inc.status == "investigating" and inc.severity == "sev1" and inc.source == "ticket"
    assert [c.slug for c in await service.affected_communities(session, inc.id)] == [
        "bio-lab",
        "uni-physics",
    ]
    assert [t.id for t in await service.linked_tickets(session, inc.id)] == [w["t1"].id, w["t2"].id]
    assert await service.responder_id(session, inc.id) == w["responder"].id
    assert inc.next_update_due_at == T0 + timedelta(minutes=30)  # SEV1 cadence
    k = await kinds(session, inc.id)
    assert k[0] == "incident.declared" and k.count("incident.ticket_linked") == 2
    # The linking shows on each ticket's own timeline too, and the ticket jumps to the top of the board.
    ev = (
        await session.exec(
            select(Event).where(
                Event.ticket_id == w["t1"].id, Event.kind == "incident.ticket_linked"
            )
        )
    ).all()
    assert len(ev) == 1
    await session.refresh(w["t1"])
    assert w["t1"].rank_key.startswith("0")


async def test_declare_rejects_unknown_things_and_writes_nothing(session):
    actor = principal_for(await make_user(session, "agent"))
    for data, code in [
        (IncidentCreate(title="x", communities=["nope"]), "unknown_community"),
        (IncidentCreate(title="x", tickets=["SUP-999"]), "unknown_ticket"),
        (IncidentCreate(title="x", tickets=["banana"]), "bad_ticket_ref"),
        (IncidentCreate(title="x", responder_id=12345), "not_staff"),
    ]:
        with pytest.raises(InvalidInput) as err:
            await service.declare_incident(session, data, actor=actor)
        assert err.value.code == code
    assert await service.list_incidents(session) == []
    assert (await session.exec(select(Event).where(Event.subject_type == "incident"))).all() == []


async def test_update_fans_out_once_to_each_representative_and_each_linked_ticket(session):
    w = await incident_world(session, now=T0)
    inc, actor = w["incident"], w["actor"]
    posted = await service.post_update(
        session,
        inc.id,
        UpdateCreate(body="We are on it."),
        actor=actor,
        now=T0 + timedelta(minutes=10),
    )
    assert posted.created and posted.update.kind == "first"
    mails = await outbox(session)
    # marie (both communities) once; gregor; pierre requested a linked ticket, so he hears there instead.
    assert sorted(m.payload["to"][0] for m in mails) == ["gregor@bio.example", "marie@uni.example"]
    assert all(
        m.payload["text"] == "We are on it." and "[INC-" in m.payload["subject"] for m in mails
    )
    assert len({m.idempotency_key for m in mails}) == 2
    for t in (w["t1"], w["t2"]):
        msgs = (await session.exec(select(Message).where(Message.ticket_id == t.id))).all()
        assert len(msgs) == 1 and msgs[0].kind == "public" and "We are on it." in msgs[0].body
    assert posted.update.emails == 2 and posted.update.ticket_replies == 2
    # The reply is the first public staff response on each ticket.
    assert (await get_ticket(session, w["t1"].id)).first_response_at is not None

    # The same client key again (a double submit): nothing more is sent.
    again1 = await service.post_update(
        session,
        inc.id,
        UpdateCreate(body="Next", client_key="k1"),
        actor=actor,
        now=T0 + timedelta(minutes=20),
    )
    again2 = await service.post_update(
        session,
        inc.id,
        UpdateCreate(body="Next", client_key="k1"),
        actor=actor,
        now=T0 + timedelta(minutes=21),
    )
    assert again1.created and not again2.created and again2.update.id == again1.update.id
    assert len(await outbox(session)) == 4
    assert (
        await session.exec(select(Message).where(Message.ticket_id == w["t1"].id))
    ).all().__len__() == 2
    assert (await kinds(session, inc.id)).count("incident.update_posted") == 2


async def test_cadence_moves_with_each_update_and_flags_overdue(session):
    w = await incident_world(session, severity=Severity.sev2, now=T0)
    inc = w["incident"]
    assert inc.next_update_due_at == T0 + timedelta(hours=1)
    await service.post_update(
        session,
        inc.id,
        UpdateCreate(body="first"),
        actor=w["actor"],
        now=T0 + timedelta(minutes=50),
    )
    inc = await service.get_incident(session, inc.id)
    assert inc.next_update_due_at == T0 + timedelta(minutes=110)
    from app.incident.views import incident_view

    assert not (await incident_view(session, inc, now=T0 + timedelta(minutes=110))).update_overdue
    assert (await incident_view(session, inc, now=T0 + timedelta(minutes=111))).update_overdue
    # Severity up: the interval shrinks from the last update.
    inc = await service.change_incident(
        session, inc.id, IncidentPatch(severity=Severity.sev1), actor=w["actor"]
    )
    assert inc.next_update_due_at == T0 + timedelta(minutes=80)
    # A resolution update ends the cadence.
    posted = await service.post_update(
        session,
        inc.id,
        UpdateCreate(body="Fixed.", status=IncidentStatus.resolved),
        actor=w["actor"],
        now=T0 + timedelta(minutes=70),
    )
    inc = await service.get_incident(session, inc.id)
    assert (
        posted.update.kind == "resolution"
        and inc.status == "resolved"
        and inc.next_update_due_at is None
    )
    assert {"incident.resolved", "incident.status_changed"} <= set(await kinds(session, inc.id))


async def test_illegal_status_moves_are_refused_and_change_nothing(session):
    w = await incident_world(session)
    inc_id, actor = w["incident"].id, w["actor"]
    with pytest.raises(InvalidTransition, match="resolve the incident first"):
        await service.change_status(session, inc_id, IncidentStatus.postmortem_done, actor=actor)
    await service.change_status(session, inc_id, IncidentStatus.resolved, actor=actor)
    with pytest.raises(InvalidTransition) as err:
        await service.change_status(session, inc_id, IncidentStatus.postmortem_done, actor=actor)
    assert err.value.code == "postmortem_missing"
    assert (await service.get_incident(session, inc_id)).status == "resolved"
    # Reopen and resolve again is allowed.
    await service.change_status(session, inc_id, IncidentStatus.investigating, actor=actor)
    assert "incident.reopened" in await kinds(session, inc_id)


async def test_postmortem_done_is_configurable_by_severity(session, monkeypatch):
    monkeypatch.setenv("FIRSTLINE_POSTMORTEM_REQUIRED", "sev1")
    from app.incident.config import get_incident_settings

    get_incident_settings.cache_clear()
    w = await incident_world(session, severity=Severity.sev2)
    await service.change_status(
        session, w["incident"].id, IncidentStatus.resolved, actor=w["actor"]
    )
    inc = await service.change_status(
        session, w["incident"].id, IncidentStatus.postmortem_done, actor=w["actor"]
    )
    assert inc.status == "postmortem_done" and inc.done_at is not None


async def test_postmortem_drafts_the_timeline_and_action_items_become_tickets(session):
    w = await incident_world(session, now=T0)
    inc, actor = w["incident"], w["actor"]
    inc_id = inc.id
    with pytest.raises(Conflict, match="resolve the incident"):
        await service.save_postmortem(
            session, inc_id, PostMortemWrite(what_happened="x"), actor=actor
        )
    await service.post_update(session, inc_id, UpdateCreate(body="On it"), actor=actor)
    await service.change_status(session, inc_id, IncidentStatus.resolved, actor=actor)
    pm = await service.save_postmortem(
        session,
        inc_id,
        PostMortemWrite(what_happened="The disk filled up.", went_well="Fast detection"),
        actor=actor,
    )
    assert "Incident declared (SEV1)" in pm.timeline and "Update posted (first)" in pm.timeline
    assert "Status: investigating → resolved" in pm.timeline

    owner = await make_user(session, "agent", name="Otto Owner")
    item = await service.add_action_item(
        session,
        inc_id,
        ActionItemCreate(
            title="Alert on disk usage at 80%", owner_id=owner.id, due_on=date(2026, 12, 1)
        ),
        actor=actor,
    )
    ticket = await session.get(Ticket, item.ticket_id)
    assert ticket.assignee_id == owner.id and ticket.status == Status.new.value
    assert ticket.title == f"INC-{inc_id} action: Alert on disk usage at 80%"
    with pytest.raises(InvalidInput):
        await service.add_action_item(
            session,
            inc_id,
            ActionItemCreate(title="x", owner_id=99999, due_on=date(2026, 12, 1)),
            actor=actor,
        )
    assert len(await service.list_action_items(session, inc_id)) == 1

    inc = await service.change_status(session, inc_id, IncidentStatus.postmortem_done, actor=actor)
    assert inc.status == "postmortem_done"
    with pytest.raises(Conflict):
        await service.post_update(session, inc_id, UpdateCreate(body="late"), actor=actor)


async def test_acknowledge_is_recorded_once_and_sets_a_responder(session):
    user = await make_user(session, "triager")
    mine = await service.declare_incident(
        session, IncidentCreate(title="Mine"), actor=principal_for(user)
    )
    assert mine.acknowledged_by_id == user.id  # a person declaring is already on it
    async with transaction(session):  # as an alert declares it: nobody on it yet
        inc = await service.declare_in_transaction(
            session,
            IncidentCreate(title="Disk full"),
            actor_id=None,
            now=T0 - timedelta(minutes=3),
            source="alert",
        )
    assert inc.acknowledged_at is None and await service.responder_id(session, inc.id) is None
    other = await make_user(session, "agent")
    a = await service.acknowledge_incident(session, inc.id, actor=principal_for(other), now=T0)
    b = await service.acknowledge_incident(
        session, inc.id, actor=principal_for(user), now=T0 + timedelta(minutes=1)
    )
    assert a.acknowledged_at == b.acknowledged_at == T0 and b.acknowledged_by_id == other.id
    assert (await kinds(session, inc.id)).count("incident.acknowledged") == 1
    assert await service.responder_id(session, inc.id) == other.id


async def test_emergency_requests_propose_an_incident_until_linked(session):
    community = await make_community(session, reps=("rep@x.example",))
    emergency = await make_ticket(
        session, community, requester_email="rep@x.example", urgency=Urgency.emergency
    )
    await make_ticket(session, community, requester_email="rep@x.example", urgency=Urgency.urgent)
    assert [t.id for t in await service.proposed_from_emergencies(session)] == [emergency.id]
    user = await make_user(session, "triager")
    await service.declare_incident(
        session,
        IncidentCreate(title="Down", tickets=[str(emergency.id)]),
        actor=principal_for(user),
    )
    assert await service.proposed_from_emergencies(session) == []


async def test_list_puts_active_incidents_first(session):
    user = await make_user(session, "triager")
    p = principal_for(user)
    old = await service.declare_incident(
        session, IncidentCreate(title="old", severity=Severity.sev1), actor=p
    )
    await service.change_status(session, old.id, IncidentStatus.resolved, actor=p)
    minor = await service.declare_incident(
        session, IncidentCreate(title="minor", severity=Severity.sev4), actor=p
    )
    major = await service.declare_incident(
        session, IncidentCreate(title="major", severity=Severity.sev1), actor=p
    )
    assert [i.id for i in await service.list_incidents(session)] == [major.id, minor.id, old.id]
    assert [i.id for i in await service.list_incidents(session, active_only=True)] == [
        major.id,
        minor.id,
    ]


async def test_an_action_item_that_fails_half_way_leaves_no_ticket_behind(session, monkeypatch):
    w = await incident_world(session, now=T0)
    inc_id, actor = w["incident"].id, w["actor"]
    await service.change_status(session, inc_id, IncidentStatus.resolved, actor=actor)
    await service.save_postmortem(
        session, inc_id, PostMortemWrite(what_happened="Disk full."), actor=actor
    )
    owner = await make_user(session, "agent")
    tickets_before = len((await session.exec(select(Ticket))).all())
    events_before = len((await session.exec(select(Event))).all())

    async def lost_race(*args, **kwargs):  # e.g. the incident row changed under us
        raise Conflict("this changed while you were working on it", code="concurrent_change")

    monkeypatch.setattr(service, "lock_incident", lost_race)
    with pytest.raises(Conflict):
        await service.add_action_item(
            session,
            inc_id,
            ActionItemCreate(
                title="Alert on disk usage", owner_id=owner.id, due_on=date(2026, 12, 1)
            ),
            actor=actor,
        )
    assert len((await session.exec(select(Ticket))).all()) == tickets_before
    assert len((await session.exec(select(Event))).all()) == events_before
    assert await service.list_action_items(session, inc_id) == []


async def test_nested_units_of_work_commit_once_at_the_outermost(session):
    before = len((await session.exec(select(Ticket))).all())
    with pytest.raises(RuntimeError):
        async with transaction(session):
            async with transaction(session):
                session.add(
                    Ticket(
                        title="inner",
                        body="",
                        channel="api",
                        status="new",
                        type="question",
                        urgency="normal",
                        rank_key="0",
                    )
                )
            raise RuntimeError("outer fails after the inner block ended")
    assert len((await session.exec(select(Ticket))).all()) == before


async def test_linked_tickets_leave_the_top_of_the_board_when_the_incident_is_resolved(session):
    """The board is ordered by each ticket's stored key and says why from it: resolving (or
    reopening) the incident must re-rank its tickets then, not at their next change."""
    from app.ticket.views import board_views

    w = await incident_world(session)

    async def stored():
        tickets = list(
            (
                await session.exec(
                    select(Ticket)
                    .where(Ticket.id.in_([w["t1"].id, w["t2"].id]))
                    .execution_options(populate_existing=True)
                )
            ).all()
        )
        rows = await board_views(session, tickets)
        return {t.rank_key[0] for t in tickets}, {
            ("part of an open incident" in r.priority_reasons) for r in rows
        }

    assert await stored() == ({"0"}, {True})
    await service.change_status(
        session, w["incident"].id, IncidentStatus.monitoring, actor=w["actor"]
    )
    assert await stored() == ({"0"}, {True})  # still active
    await service.change_status(
        session, w["incident"].id, IncidentStatus.resolved, actor=w["actor"]
    )
    assert await stored() == ({"1"}, {False})
    await service.change_status(
        session, w["incident"].id, IncidentStatus.investigating, actor=w["actor"]
    )
    assert await stored() == ({"0"}, {True})
