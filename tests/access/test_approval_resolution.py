"""Approval by representatives, and the resolution loop: confirm and rate, or reopen; auto-close."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.audit.models import Event
from app.config import get_settings
from app.db import utcnow
from app.portal.flows import auto_close_quiet_resolutions
from app.portal.models import CsatResponse
from app.ticket.enums import Status
from app.ticket.models import Message, Ticket
from app.ticket.service import change_status
from app.user.models import StaffRole
from tests.access.conftest import MEMBER_A, REP_A, REP_B, emails_to, portal_sign_in
from tests.factories import make_user, principal_for


async def _status(session, ticket_id: int) -> str:
    return (await session.exec(select(Ticket.status).where(Ticket.id == ticket_id))).one()


async def test_member_request_emails_representatives_with_a_portal_link(session, world):
    mails = [m for m in await emails_to(session, REP_A) if "Approval needed" in m["subject"]]
    assert len(mails) == 1
    mail = mails[0]
    assert mail["to"] == [REP_A] and mail["ticket_id"] == world["member_ticket"].id
    assert "Member wants a package" in mail["subject"]
    assert f"/portal/tickets/{world['member_ticket'].id}" in mail["text"]
    assert MEMBER_A in mail["text"]  # who asked
    # Nobody outside the community is asked; a representative's own request needs no approval.
    assert not [m for m in await emails_to(session, REP_B) if "Approval" in m["subject"]]
    assert len([m for m in await emails_to(session, REP_A) if "Approval" in m["subject"]]) == 1


async def test_representative_approves_in_the_portal(client, session, world):
    t = world["member_ticket"]
    csrf = await portal_sign_in(client, session, REP_A)
    page = (await client.get("/portal")).text
    assert 'id="approvals"' in page and "Member wants a package" in page
    assert 'id="approve"' in (await client.get(f"/portal/tickets/{t.id}")).text
    res = await client.post(f"/portal/tickets/{t.id}/approve", data={"csrf_token": csrf})
    assert res.status_code == 303
    assert await _status(session, t.id) == Status.new
    event = (
        await session.exec(
            select(Event).where(Event.ticket_id == t.id, Event.kind == "ticket.status_changed")
        )
    ).one()
    assert event.data["reason"] == "approved by a representative" and event.data["after"] == "new"
    # Approving twice is a conflict with a reason, not a silent success.
    again = await client.post(f"/portal/tickets/{t.id}/approve", data={"csrf_token": csrf})
    assert again.status_code == 409


async def test_representative_declines_with_a_reason(client, session, world):
    t = world["member_ticket"]
    csrf = await portal_sign_in(client, session, REP_A)
    res = await client.post(
        f"/portal/tickets/{t.id}/decline", data={"csrf_token": csrf, "reason": "Ask IT first"}
    )
    assert res.status_code == 303
    assert await _status(session, t.id) == Status.closed
    assert (await session.exec(select(Message.body).where(Message.ticket_id == t.id))).all() == [
        "Ask IT first"
    ]


async def test_member_cannot_approve_own_request_and_other_rep_cannot_see_it(
    client, session, world
):
    t = world["member_ticket"]
    csrf = await portal_sign_in(client, session, MEMBER_A)
    assert 'id="approve"' not in (await client.get(f"/portal/tickets/{t.id}")).text
    assert (
        await client.post(f"/portal/tickets/{t.id}/approve", data={"csrf_token": csrf})
    ).status_code == 403
    client.cookies.clear()
    csrf = await portal_sign_in(client, session, REP_B)
    assert (
        await client.post(f"/portal/tickets/{t.id}/approve", data={"csrf_token": csrf})
    ).status_code == 404
    assert await _status(session, t.id) == Status.awaiting_approval


async def _resolve(session, ticket_id: int):
    agent = await make_user(session, StaffRole.agent)
    return await change_status(session, ticket_id, Status.resolved, actor=principal_for(agent))


async def test_resolving_asks_the_requester_to_confirm(session, world):
    t = world["ticket_a"]
    await _resolve(session, t.id)
    mails = [m for m in await emails_to(session, REP_A) if "Resolved" in m["subject"]]
    assert len(mails) == 1 and f"/portal/tickets/{t.id}" in mails[0]["text"]


async def test_confirm_closes_and_records_rating(client, session, world):
    t = world["ticket_a"]
    await _resolve(session, t.id)
    csrf = await portal_sign_in(client, session, REP_A)
    page = (await client.get(f"/portal/tickets/{t.id}")).text
    assert 'id="confirm"' in page
    res = await client.post(
        f"/portal/tickets/{t.id}/confirm",
        data={"csrf_token": csrf, "score": "4", "comment": "Quick, thanks"},
    )
    assert res.status_code == 303
    assert await _status(session, t.id) == Status.closed
    csat = (await session.exec(select(CsatResponse))).one()
    assert (csat.ticket_id, csat.score, csat.comment) == (t.id, 4, "Quick, thanks")
    assert "4/5" in (await client.get(f"/portal/tickets/{t.id}")).text


@pytest.mark.parametrize("score", ["0", "6", "", "x", "-1"])
async def test_bad_rating_is_refused_and_changes_nothing(client, session, world, score):
    t = world["ticket_a"]
    await _resolve(session, t.id)
    csrf = await portal_sign_in(client, session, REP_A)
    res = await client.post(
        f"/portal/tickets/{t.id}/confirm", data={"csrf_token": csrf, "score": score}
    )
    assert res.status_code == 422
    assert await _status(session, t.id) == Status.resolved
    assert (await session.exec(select(CsatResponse))).all() == []


async def test_confirm_on_unresolved_ticket_is_409(client, session, world):
    csrf = await portal_sign_in(client, session, REP_A)
    res = await client.post(
        f"/portal/tickets/{world['ticket_a'].id}/confirm", data={"csrf_token": csrf, "score": "5"}
    )
    assert res.status_code == 409
    assert (await session.exec(select(CsatResponse))).all() == []


async def test_not_fixed_reopens_with_the_requesters_words(client, session, world):
    t = world["ticket_a"]
    await _resolve(session, t.id)
    csrf = await portal_sign_in(client, session, REP_A)
    res = await client.post(
        f"/portal/tickets/{t.id}/reopen", data={"csrf_token": csrf, "comment": "Still 504"}
    )
    assert res.status_code == 303
    assert await _status(session, t.id) == Status.open
    assert (await session.exec(select(Message.body).where(Message.ticket_id == t.id))).all() == [
        "Still 504"
    ]


async def test_member_who_asked_can_confirm_own_ticket(client, session, world):
    t = world["member_ticket"]
    rep = await make_user(session, StaffRole.triager)
    await change_status(session, t.id, Status.new, actor=principal_for(rep))
    await _resolve(session, t.id)
    csrf = await portal_sign_in(client, session, MEMBER_A)
    res = await client.post(
        f"/portal/tickets/{t.id}/confirm", data={"csrf_token": csrf, "score": "5"}
    )
    assert res.status_code == 303
    assert await _status(session, t.id) == Status.closed


async def test_auto_close_is_off_by_default_and_closes_quiet_tickets_when_on(
    session, world, monkeypatch
):
    t = world["ticket_a"]
    await _resolve(session, t.id)
    later = utcnow() + timedelta(days=30)
    assert get_settings().auto_close_days == 0
    assert await auto_close_quiet_resolutions(session, later) == 0
    assert await _status(session, t.id) == Status.resolved

    monkeypatch.setenv("FIRSTLINE_AUTO_CLOSE_DAYS", "5")
    get_settings.cache_clear()
    assert (
        await auto_close_quiet_resolutions(session, utcnow() + timedelta(days=4)) == 0
    )  # not quiet long enough
    assert await auto_close_quiet_resolutions(session, later) == 1
    assert await _status(session, t.id) == Status.closed
    assert await auto_close_quiet_resolutions(session, later) == 0  # idempotent
    event = (
        await session.exec(
            select(Event)
            .where(Event.ticket_id == t.id, Event.kind == "ticket.status_changed")
            .order_by(Event.id.desc())
        )
    ).first()
    assert event.actor_id is None and "auto-closed" in event.data["reason"]
