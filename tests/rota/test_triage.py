"""Rota-aware triage: new tickets go to the triager on call, per the schedule's setting."""

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

import app.rota.hooks  # noqa: F401 - registers the ticket hook, as app.wiring does
from app.audit.models import Event
from app.outbox.models import OutboxMessage
from app.ticket.enums import Status
from tests.factories import make_community, make_ticket
from tests.rota.conftest import make_schedule

NOW = datetime(2026, 1, 7, 12, tzinfo=UTC)  # a Wednesday in Ana's first week


@pytest.fixture
def frozen_now(monkeypatch):
    monkeypatch.setattr("app.ticket.service.utcnow", lambda: NOW)


async def test_assign_mode_assigns_the_triager_on_call(session, team, frozen_now):
    await make_schedule(session, [team.ana, team.bo], triage_mode="assign")
    ticket = await make_ticket(session)
    assert ticket.assignee_id == team.ana.id
    kinds = (await session.exec(select(Event.kind).where(Event.ticket_id == ticket.id))).all()
    assert "ticket.assigned_by_rota" in kinds
    mail = (
        await session.exec(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == f"rota-triage-{ticket.id}")
        )
    ).one()
    assert mail.payload["to"] == ["ana@desk.example"] and mail.payload["ticket_id"] == ticket.id


async def test_offer_mode_tells_the_triager_but_leaves_the_ticket_unassigned(
    session, team, frozen_now
):
    await make_schedule(session, [team.bo, team.ana], triage_mode="offer")
    ticket = await make_ticket(session)
    assert ticket.assignee_id is None
    offered = (await session.exec(select(Event).where(Event.kind == "ticket.offered"))).one()
    assert offered.data["user_id"] == team.bo.id
    mail = (
        await session.exec(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == f"rota-triage-{ticket.id}")
        )
    ).one()
    assert mail.payload["to"] == ["bo@desk.example"]


async def test_off_mode_nobody_on_and_awaiting_approval_change_nothing(session, team, frozen_now):
    await make_schedule(session, [team.ana], triage_mode="off")
    await make_schedule(
        session, [team.bo], triage_mode="assign", anchor=datetime(2027, 1, 4).date()
    )  # not started
    assert (await make_ticket(session)).assignee_id is None
    await make_schedule(session, [team.cy], triage_mode="assign")
    community = await make_community(session, reps=("rep@uni.example",))
    waiting = await make_ticket(session, community, requester_email="student@uni.example")
    assert waiting.status == Status.awaiting_approval and waiting.assignee_id is None
    assert (await make_ticket(session)).assignee_id == team.cy.id
    # Only the last ticket was routed (other domains may mail about the one awaiting approval).
    routed = (
        await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.idempotency_key).like("rota-triage-%"))
        )
    ).all()
    assert [m.payload["to"] for m in routed] == [["cy@desk.example"]]
