"""Real Chromium: the portal flow (magic link, own community only, approve, confirm and rate),
and XSS payloads in every text field rendering inert on every page."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from app.budget.models import TimeEntryCreate
from app.budget.service import log_time
from app.outbox.models import OutboxMessage
from app.portal.models import CsatResponse
from app.ticket.enums import MessageKind, Status
from app.ticket.models import LinkCreate, MessageCreate, TicketCreate, TicketUpdate
from app.ticket.service import add_link, change_status, post_message, submit_ticket, update_ticket
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, make_community, make_user, principal_for

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("FIRSTLINE_SCREENSHOTS", "/tmp/firstline-shots"))
LINK_RE = re.compile(r"https?://[^\s]+/portal/auth/pl_[A-Za-z0-9_-]+")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _latest_link(live_server, email: str, base_url: str) -> str:
    async def read(session):
        rows = (
            await session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.topic == "email.send")
                .order_by(col(OutboxMessage.id).desc())
            )
        ).all()
        for row in rows:
            if email in row.payload["to"] and "sign-in" in row.payload["subject"]:
                return row.payload["text"]
        return ""

    text = live_server.call(read)
    match = LINK_RE.search(text)
    assert match, f"no sign-in link mailed to {email}"
    # The mail carries the configured public URL; the test server listens on its own port.
    return base_url + match.group(0)[match.group(0).index("/portal/") :]


def test_portal_magic_link_own_community_approve_confirm_and_rate(live_server, new_page):
    async def setup(session):
        agent = await make_user(session, "agent", email="agent@desk.example", name="Ada Agent")
        await make_community(
            session,
            "alpha",
            name="Alpha University",
            reps=("rita@alpha.example",),
            members=("max@alpha.example",),
        )
        await make_community(session, "beta", name="Beta Lab", reps=("bea@beta.example",))
        fixed = await submit_ticket(
            session,
            TicketCreate(
                title="JupyterHub 504 on login",
                body="Every user gets a **504** since 9:00.",
                requester_email="rita@alpha.example",
                community="alpha",
                type="bug",
                urgency="urgent",
            ),
        )
        await post_message(
            session,
            fixed.id,
            MessageCreate(body="We restarted the proxy; should be fine now."),
            actor=principal_for(agent),
        )
        await post_message(
            session,
            fixed.id,
            MessageCreate(body="proxy pod OOM-killed", kind=MessageKind.internal),
            actor=principal_for(agent),
        )
        await change_status(session, fixed.id, Status.resolved, actor=principal_for(agent))
        await submit_ticket(
            session,
            TicketCreate(
                title="Please install pandas 2.2",
                requester_email="max@alpha.example",
                community="alpha",
                type="change_request",
            ),
        )
        await submit_ticket(
            session,
            TicketCreate(
                title="Beta private matter", requester_email="bea@beta.example", community="beta"
            ),
        )
        return fixed.id

    fixed_id = live_server.call(setup)
    page = new_page()
    page.goto(f"{live_server.url}/portal")
    expect(page).to_have_url(re.compile(r"/portal/sign-in"))
    page.fill("#email", "rita@alpha.example")
    page.click("button[type=submit]")
    expect(page.locator("#link-sent")).to_contain_text("Check your e-mail")

    page.goto(_latest_link(live_server, "rita@alpha.example", live_server.url))
    page.click("#continue")
    expect(page).to_have_url(re.compile(r"/portal$"))
    tickets = page.locator("#portal-tickets")
    expect(tickets).to_contain_text("JupyterHub 504 on login")
    expect(page.locator("#approvals")).to_contain_text("Please install pandas 2.2")
    expect(page.locator("body")).not_to_contain_text("Beta private matter")
    _shot(page, "portal-list")

    # Approve the member's request.
    page.click("#approvals a")
    expect(page.locator("#approval")).to_be_visible()
    page.click("#approve")
    expect(page.locator("#ticket-status")).to_have_text("New")

    # Confirm and rate the resolved one; internal notes never show.
    page.goto(f"{live_server.url}/portal/tickets/{fixed_id}")
    expect(page.locator("#thread")).to_contain_text("We restarted the proxy")
    expect(page.locator("body")).not_to_contain_text("OOM-killed")
    _shot(page, "portal-confirm")
    page.check("input[name=score][value='4']")
    page.fill("#csat-comment", "Fast fix, thank you")
    page.click("#confirm-fixed")
    expect(page.locator("#ticket-status")).to_have_text("Closed")
    expect(page.locator("#csat-given")).to_contain_text("4/5")
    _shot(page, "portal-rated")

    async def csat(session):
        return [(c.score, c.comment) for c in (await session.exec(select(CsatResponse))).all()]

    assert live_server.call(csat) == [(4, "Fast fix, thank you")]

    # Another community's ticket does not exist for this contact.
    res = page.goto(f"{live_server.url}/portal/tickets/{fixed_id + 2}")
    assert res.status == 404


XSS = [
    '<script id="xss-script">window.__xss = 1</script>',
    '"><img id="xss-img" src=x onerror="window.__xss=1">',
    "<svg id='xss-svg' onload='window.__xss=1'></svg>",
    "[click me](javascript:window.__xss=1)",
    "{{ 7*7 }}<b id='xss-bold'>b</b>",
]


def test_xss_payloads_render_inert_on_every_page(live_server, new_page):
    payload = " ".join(XSS)

    async def setup(session):
        admin = await make_user(session, "admin", email="root@desk.example", name="Root " + XSS[1])
        community = await make_community(
            session, "xss", name="Evil " + XSS[0], reps=("rep@xss.example",), budget_hours=5
        )
        t = await submit_ticket(
            session,
            TicketCreate(
                title="T " + XSS[1][:150],
                body=payload,
                requester_email="rep@xss.example",
                requester_name="Rep " + XSS[2],
                community="xss",
            ),
        )
        await post_message(
            session, t.id, MessageCreate(body="reply " + payload), actor=principal_for(admin)
        )
        await add_link(
            session,
            t.id,
            LinkCreate(url="https://example.org/x", title="L " + XSS[1][:150]),
            actor=principal_for(admin),
        )
        await update_ticket(
            session, t.id, TicketUpdate(milestone="m" + XSS[4][:50]), actor=principal_for(admin)
        )
        await log_time(
            session,
            t.id,
            TimeEntryCreate(minutes=30, note="note " + XSS[1][:300]),
            actor=principal_for(admin),
        )
        return t.id, community.slug

    ticket_id, slug = live_server.call(setup)
    staff = new_page()
    sign_in(staff, live_server.url, "root@desk.example", PASSWORD)
    dialogs = []
    staff.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pages = [
        "/",
        "/?view=all",
        f"/tickets/{ticket_id}",
        "/communities",
        f"/communities/{slug}",
        f"/intake/{slug}",
    ]
    for path in pages:
        staff.goto(live_server.url + path)
        _assert_inert(staff, path)
        _shot(staff, "xss" + re.sub(r"[^a-z0-9]+", "-", path))

    contact = new_page()
    contact.goto(f"{live_server.url}/portal/sign-in")
    contact.fill("#email", "rep@xss.example")
    contact.click("button[type=submit]")
    contact.goto(_latest_link(live_server, "rep@xss.example", live_server.url))
    contact.click("#continue")
    for path in ["/portal?view=all", f"/portal/tickets/{ticket_id}"]:
        contact.goto(live_server.url + path)
        _assert_inert(contact, path)
    assert dialogs == []


def _assert_inert(page, path: str) -> None:
    expect(page.locator("#main")).to_be_visible()
    for marker in ("#xss-script", "#xss-img", "#xss-svg", "#xss-bold", "a[href^='javascript:']"):
        assert page.locator(marker).count() == 0, f"{marker} became markup on {path}"
    assert page.evaluate("() => window.__xss") is None, f"payload ran on {path}"
