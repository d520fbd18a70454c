"""Fixtures for access tests: two communities, their contacts, and signing in to the portal
through the real flow (ask for a link, read it from the outbox, click it)."""

import re

import httpx
import pytest
from sqlmodel import col, select

from app.outbox.models import OutboxMessage
from tests.factories import make_community, make_ticket
from tests.pages.conftest import csrf_from

LINK_RE = re.compile(r"/portal/auth/(pl_[A-Za-z0-9_-]+)")

REP_A = "rita@a.example"
MEMBER_A = "max@a.example"
REP_B = "bea@b.example"


async def emails_to(session, address: str) -> list[dict]:
    rows = (
        await session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.topic == "email.send")
            .order_by(col(OutboxMessage.id))
            .execution_options(populate_existing=True)
        )
    ).all()
    return [r.payload for r in rows if address in r.payload.get("to", [])]


async def portal_sign_in(client: httpx.AsyncClient, session, email: str) -> str:
    """Sign `email` in to the portal like a person would; returns the portal CSRF token."""
    form = await client.get("/portal/sign-in")
    res = await client.post(
        "/portal/sign-in", data={"email": email, "csrf_token": csrf_from(form.text)}
    )
    assert res.status_code == 200, res.text
    mails = await emails_to(session, email)
    assert mails, f"no sign-in e-mail for {email}"
    token = LINK_RE.search(mails[-1]["text"]).group(1)
    page = await client.get(f"/portal/auth/{token}")
    res = await client.post(f"/portal/auth/{token}", data={"csrf_token": csrf_from(page.text)})
    assert res.status_code == 303, res.text
    home = await client.get("/portal")
    assert home.status_code == 200, home.text
    return csrf_from(home.text)


@pytest.fixture
async def world(session):
    """Community A (a representative and a member) and B (a representative), a ticket each."""
    a = await make_community(session, "alpha", name="Alpha Uni", reps=(REP_A,), members=(MEMBER_A,))
    b = await make_community(session, "beta", name="Beta Lab", reps=(REP_B,))
    ticket_a = await make_ticket(session, a, requester_email=REP_A, title="Alpha hub down")
    member_ticket = await make_ticket(
        session, a, requester_email=MEMBER_A, title="Member wants a package"
    )
    ticket_b = await make_ticket(session, b, requester_email=REP_B, title="Beta secret project")
    return {
        "a": a,
        "b": b,
        "ticket_a": ticket_a,
        "member_ticket": member_ticket,
        "ticket_b": ticket_b,
    }
