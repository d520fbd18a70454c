"""The handoff report, checked against numbers counted by hand; acknowledgement and reminders."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from app.audit.models import Event
from app.audit.service import record_event
from app.db import transaction
from app.outbox.models import OutboxMessage
from app.rota import handoff as handoffs
from app.rota.hooks import handoff_job
from app.rota.models import Handoff
from app.rota.service import tick_duty
from app.ticket.enums import Urgency
from app.ticket.models import Ticket, TicketCreate
from app.ticket.service import submit_ticket
from app.user.models import StaffRole
from tests.factories import bearer, make_token, make_user, principal_for
from tests.rota.conftest import make_schedule


def t(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


async def ticket_at(
    session, when: datetime, email: str, *, actor=None, urgency=Urgency.normal, **fields
) -> Ticket:
    ticket = await submit_ticket(
        session,
        TicketCreate(title=f"request at {when:%d %H:%M}", requester_email=email, urgency=urgency),
        actor=actor,
    )
    async with transaction(session):
        await session.exec(
            update(Ticket).where(col(Ticket.id) == ticket.id).values(created_at=when, **fields)
        )
        await session.exec(
            update(Event).where(col(Event.ticket_id) == ticket.id).values(created_at=when)
        )
    return ticket


async def event_at(session, kind: str, when: datetime, **data):
    async with transaction(session):
        ev = record_event(
            session,
            kind,
            subject_type=kind.split(".")[0],
            subject_id=data.pop("subject_id", 1),
            actor_id=None,
            ticket_id=data.pop("ticket_id", None),
            data=data,
        )
        ev.created_at = when


async def outbox(session) -> list[OutboxMessage]:
    return list((await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def test_report_numbers_match_the_hand_count(session, team):
    # Ana's week: Monday 5 Jan 09:00 UTC to Monday 12 Jan 09:00 UTC; then Bo.
    schedule = await make_schedule(
        session,
        [team.ana, team.bo],
        zone="UTC",
        duties=["Cut the weekly release", "Update the status page"],
    )
    ext1, ext2, ext3 = "ext1@customer.example", "ext2@customer.example", "ext3@customer.example"
    t1 = await ticket_at(session, t(5, 10), ext1)
    await ticket_at(session, t(5, 15), ext1)  # same person, same day: still one requester that day
    t3 = await ticket_at(session, t(5, 16), ext2, criticality=1)  # hot and open
    await ticket_at(session, t(7, 12), ext2, criticality=2, status="resolved")  # not open any more
    await ticket_at(session, t(6, 10), ext3, actor=principal_for(team.ana))  # filed by the triager
    await ticket_at(
        session, t(8, 9), team.bo.email
    )  # staff: counted as a request, not as an external requester
    early = await ticket_at(
        session, t(4, 12), ext1, urgency=Urgency.emergency
    )  # before the shift, still hot
    await ticket_at(session, t(12, 9), ext3)  # exactly at the handoff: the next shift's
    await event_at(session, "sla.breached", t(6, 11), ticket_id=t1.id, target="first_response")
    await event_at(session, "sla.breached", t(9, 11), ticket_id=t3.id, target="resolution")
    await event_at(
        session, "sla.breached", t(13, 11), ticket_id=t3.id, target="resolution"
    )  # next shift
    await event_at(session, "incident.declared", t(10, 3), subject_id=7, title="Database down")
    await event_at(session, "incident.declared", t(3, 3), subject_id=6, title="Older")
    duties = {d.title: d.id for d in await handoffs.service.list_duties(session, schedule.id)}
    await tick_duty(
        session, schedule, duties["Cut the weekly release"], 0, True, actor_id=team.ana.id
    )
    await tick_duty(
        session, schedule, duties["Update the status page"], 1, True, actor_id=team.bo.id
    )  # next week's

    assert await handoff_job(session, t(12, 9, 5)) == 1
    (h,) = (await session.exec(select(Handoff))).all()
    assert (h.shift_index, h.shift_start_at, h.shift_end_at) == (0, t(5, 9), t(12, 9))
    assert (h.outgoing_id, h.incoming_id) == (team.ana.id, team.bo.id)
    r = h.report
    assert r["requests_received"] == 6
    assert r["external_requesters_per_day"] == {
        "2026-01-05": 2,
        "2026-01-06": 1,
        "2026-01-07": 1,
        "2026-01-08": 0,
        "2026-01-09": 0,
        "2026-01-10": 0,
        "2026-01-11": 0,
        "2026-01-12": 0,
    }
    assert r["tickets_created_by_triager"] == 1
    assert r["sla_breaches"] == 2 and r["sla_breach_tickets"] == sorted([t1.id, t3.id])
    assert r["incidents"] == [{"id": 7, "title": "Database down"}]
    assert [x["id"] for x in r["hot_open_tickets"]] == [t3.id, early.id]
    assert r["unticked_duties"] == ["Update the status page"] and r["duties_done"] == [
        "Cut the weekly release"
    ]

    # Run again: nothing new (idempotent); the two people were e-mailed once each.
    assert await handoff_job(session, t(12, 9, 6)) == 0
    mails = await outbox(session)
    assert sorted((m.topic, m.payload["to"][0]) for m in mails) == [
        ("email.send", "ana@desk.example"),
        ("email.send", "bo@desk.example"),
    ]
    assert (
        await session.exec(select(Event.kind).where(Event.kind == "handoff.created"))
    ).all() == ["handoff.created"]


async def test_outgoing_is_whoever_covered_the_end_of_the_shift(session, team):
    from app.rota.models import OverrideIn
    from app.rota.service import add_override

    schedule = await make_schedule(session, [team.ana, team.bo], zone="Europe/Berlin")
    await add_override(
        session, schedule, OverrideIn(start=t(11), end=t(12, 8), user_id=team.cy.id), actor_id=None
    )
    await add_override(
        session,
        schedule,
        OverrideIn(start=t(12, 8), end=t(12, 20), user_id=team.cy.id),
        actor_id=None,
    )
    assert await handoff_job(session, t(12, 8, 1)) == 1
    (h,) = (await session.exec(select(Handoff))).all()
    assert (h.outgoing_id, h.incoming_id) == (team.cy.id, team.cy.id)


async def test_acknowledge_notes_retro_reminders_and_search(client, session, team):
    schedule = await make_schedule(session, [team.cy, team.bo], zone="UTC", reminder_hours=4)
    assert await handoff_job(session, t(12, 9)) == 1
    h = (await session.exec(select(Handoff))).one()
    assert (h.outgoing_id, h.incoming_id) == (team.cy.id, team.bo.id)
    before = len(await outbox(session))
    assert await handoffs.send_reminders(session, t(12, 12)) == 0  # 3 h: not yet
    assert await handoffs.send_reminders(session, t(12, 13, 1)) == 1
    assert await handoffs.send_reminders(session, t(12, 13, 2)) == 0  # reminded a minute ago
    assert await handoffs.send_reminders(session, t(12, 17, 5)) == 1
    reminders = (await outbox(session))[before:]
    assert [m.payload["to"] for m in reminders] == [["bo@desk.example"]] * 2
    assert [m.idempotency_key for m in reminders] == [
        f"handoff-{h.id}-reminder-1",
        f"handoff-{h.id}-reminder-2",
    ]

    cy = bearer(await make_token(session, team.cy))  # an agent: outgoing, without schedules:write
    bo = bearer(await make_token(session, team.bo))
    patch = await client.patch(
        f"/api/v1/handoffs/{h.id}",
        headers=cy,
        json={
            "notes": "Customer X waits on a fix",
            "went_well": "Fast first replies",
            "could_be_better": "Paging at night",
            "to_remember": "Rotate the Kafka certificate",
        },
    )
    assert patch.status_code == 200, patch.text
    assert patch.json()["to_remember"] == "Rotate the Kafka certificate"
    assert (
        await client.post(f"/api/v1/handoffs/{h.id}/acknowledge", headers=cy)
    ).status_code == 403
    assert (
        await client.patch(f"/api/v1/handoffs/{h.id}", headers=bo, json={"notes": "x"})
    ).status_code == 200
    ack = await client.post(f"/api/v1/handoffs/{h.id}/acknowledge", headers=bo)
    assert ack.status_code == 200 and ack.json()["acknowledged_by"]["name"] == "Bo"
    assert await handoffs.send_reminders(session, t(13, 9)) == 0  # acknowledged: no more reminders

    found = (await client.get("/api/v1/handoffs", headers=bo, params={"q": "kafka"})).json()
    assert [f["id"] for f in found] == [h.id]
    assert (
        await client.get("/api/v1/handoffs", headers=bo, params={"q": "nothing like it"})
    ).json() == []
    listed = (await client.get(f"/api/v1/schedules/{schedule.id}/handoffs", headers=bo)).json()
    assert listed[0]["report"]["requests_received"] == 0
    assert (await client.get("/api/v1/handoffs/999", headers=bo)).status_code == 404
    viewer = bearer(await make_token(session, await make_user(session, StaffRole.viewer)))
    assert (
        await client.patch(f"/api/v1/handoffs/{h.id}", headers=viewer, json={"notes": "x"})
    ).status_code == 403
    too_long = await client.patch(
        f"/api/v1/handoffs/{h.id}", headers=cy, json={"notes": "x" * 20_001}
    )
    assert too_long.status_code == 422


async def test_weekday_rota_hands_over_friday_to_monday(session, team):
    schedule = await make_schedule(
        session,
        [team.ana, team.bo],
        zone="America/New_York",
        kind="weekdays",
        anchor=datetime(2026, 1, 5).date(),
    )
    # Friday 9 Jan 09:00 EST (Ana, index 4) to Saturday 09:00; the next shift is Monday's (Bo, index 5).
    assert await handoff_job(session, datetime(2026, 1, 10, 14, 1, tzinfo=UTC)) >= 1
    last = (await session.exec(select(Handoff).order_by(col(Handoff.shift_index).desc()))).first()
    assert last.shift_index == 4 and last.shift_end_at == datetime(2026, 1, 10, 14, tzinfo=UTC)
    assert (last.outgoing_id, last.incoming_id) == (team.ana.id, team.bo.id)
    assert await handoff_job(session, datetime(2026, 1, 10, 14, 2, tzinfo=UTC)) == 0
    assert (
        schedule.id == last.schedule_id
        and timedelta(days=1) == last.shift_end_at - last.shift_start_at
    )
