"""The responder's whole flow in a real browser: declare from a ticket, post an update,
resolve, write the post-mortem, and find its action item as a ticket on the board."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.db import utcnow
from app.ticket.enums import Urgency
from tests.browser.conftest import settled, sign_in
from tests.factories import PASSWORD, make_community, make_ticket, make_user

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("FIRSTLINE_SCREENSHOTS")  # a folder: save what the pages look like


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_declare_from_ticket_update_resolve_postmortem_action_item_on_board(live_server, new_page):
    async def setup(session):
        await make_user(session, "triager", email="tara@example.org", name="Tara Triager")
        community = await make_community(
            session, "uni-physics", name="Uni Physics", reps=("marie@uni.example",)
        )
        ticket = await make_ticket(
            session,
            community,
            requester_email="student@uni.example",
            title="Every notebook server fails with 504",
            urgency=Urgency.emergency,
        )
        return ticket.id

    ticket_id = live_server.call(setup)
    page = new_page()
    sign_in(page, live_server.url, "tara@example.org", PASSWORD)

    # The emergency request proposes an incident on its ticket page; declare it from there.
    page.goto(f"{live_server.url}/tickets/{ticket_id}")
    panel = page.locator(".incident-panel")
    expect(panel).to_contain_text("Emergency request")
    expect(panel.locator("select[name=severity]")).to_have_value("sev1")
    panel.get_by_role("button", name="Declare incident").click()
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    expect(page.locator("h1")).to_have_text("Every notebook server fails with 504")
    expect(page.locator(".incident-head")).to_contain_text("SEV1")
    expect(page.locator("#incident-side")).to_contain_text("Uni Physics")
    expect(page.locator(".cadence")).to_contain_text(re.compile(r"Next update due in (29|30)m"))
    expect(page.locator("#update-body")).to_have_value(re.compile("cannot promise a time"))
    shot(page, "incident-declared")

    # Post the first update: it goes to the representative and onto the ticket.
    settled(page)
    page.locator("#update-body").fill(
        "We are on it: the hub's database disk is full. No time promised yet."
    )
    page.locator("#update-status").select_option("identified")
    page.get_by_role("button", name="Post update").click()
    expect(page.locator(".incident-head .istatus")).to_have_text("Identified")
    expect(page.locator("section[aria-label='Updates sent']")).to_contain_text(
        "1 e-mail, 1 ticket reply"
    )
    expect(page.locator(".timeline")).to_contain_text("Update posted (first)")
    settled(page)

    # Resolve, then write the post-mortem.
    page.locator(".moves").get_by_role("button", name="→ Resolved").click()
    expect(page.locator(".incident-head .istatus")).to_have_text("Resolved")
    settled(page)
    page.locator("#pm-what").fill("The database volume filled up after a log rotation failed.")
    page.locator("#pm-well").fill("Alert fired within two minutes.")
    page.locator("#pm-badly").fill("Nobody watched disk growth.")
    page.get_by_role("button", name="Save post-mortem").click()
    expect(page.locator("#pm-timeline")).to_have_value(re.compile("Incident declared \\(SEV1\\)"))
    settled(page)
    page.locator("#ai-title").fill("Alert when the database disk passes 80%")
    page.locator("#ai-due").fill((utcnow().date() + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Add action item").click()
    item = page.locator(".action-items li", has_text="Alert when the database disk passes 80%")
    expect(item).to_contain_text(re.compile(r"SUP-\d+"))
    expect(item.locator(".status")).to_have_text("New")
    settled(page)
    page.get_by_role("button", name="Mark post-mortem done").click()
    expect(page.locator(".incident-head .istatus")).to_have_text("Post-mortem done")
    shot(page, "incident-done")

    # The ticket got the update as a public reply.
    page.goto(f"{live_server.url}/tickets/{ticket_id}")
    expect(page.locator("#thread .message.staff")).to_contain_text("database disk is full")

    # The action item is a ticket on the board.
    page.goto(f"{live_server.url}/")
    expect(
        page.locator(".board-row", has_text="action: Alert when the database disk passes 80%")
    ).to_be_visible()

    page.goto(f"{live_server.url}/incidents")
    expect(page.locator("section[aria-label='Finished incidents']")).to_contain_text(
        "Every notebook server"
    )
    shot(page, "incidents-list")
