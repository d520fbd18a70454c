"""In a real browser: a staff member sets their Slack id on /profile, and their 👀 in Slack claims the ticket."""

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.audit.models import Event
from app.ticket.models import Ticket
from app.user.service import get_user_by_email
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser
SECRET = "slack-browser-secret"
SLACK = Path(__file__).parent.parent / "integrations" / "payloads" / "slack"


@pytest.fixture
def slack_env(monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("FIRSTLINE_SLACK_CHANNELS", "C123ABC456")
    get_integration_settings.cache_clear()
    yield
    get_integration_settings.cache_clear()


def post_slack(base_url: str, payload: dict) -> httpx.Response:
    body = json.dumps(payload).encode()
    ts = int(time.time())  # the test's stated instant
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return httpx.post(
        f"{base_url}/api/v1/integrations/slack/events",
        content=body,
        timeout=10,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sig,
        },
    )


def reaction(event_id: str, user: str) -> dict:
    data = json.loads((SLACK / "reaction_added.json").read_text())
    data["event"]["user"] = user
    data["event_id"] = event_id
    return data


def test_staff_set_their_slack_id_and_their_eyes_claim_the_ticket(slack_env, live_server, new_page):
    live_server.call(lambda s: make_user(s, "agent", email="sam@desk.example", name="Sam Agent"))
    page = new_page()
    sign_in(page, live_server.url, "sam@desk.example", PASSWORD)
    page.get_by_role("link", name="Sam Agent").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()

    page.fill("#slack_user_id", "sam")  # not a Slack id: refused with the reason, nothing kept
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#profile-error")).to_contain_text("is not a Slack user id")
    page.fill("#slack_user_id", "U0SAM0001")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#profile-saved")).to_be_visible()
    expect(page.locator("#identities")).to_contain_text("U0SAM0001")

    message = json.loads((SLACK / "message.json").read_text())
    assert post_slack(live_server.url, message).json()["result"] == "created"
    first = post_slack(live_server.url, reaction("EvEyes1", "U0SAM0001"))
    assert first.status_code == 200 and first.json()["result"] == "claimed", first.text

    async def state(session):
        sam = await get_user_by_email(session, "sam@desk.example")
        ticket = (await session.exec(select(Ticket))).one()
        events = (await session.exec(select(Event).where(Event.ticket_id == ticket.id))).all()
        return sam.id, ticket.claimed_by_id, ticket.claimed_at, ticket.version, len(events)

    sam_id, claimed_by, claimed_at, version, n_events = live_server.call(state)
    assert claimed_by == sam_id

    # A second 👀 (Sam's again, then someone else's, each a new event) answers 200 and changes nothing.
    for event_id, user in (("EvEyes2", "U0SAM0001"), ("EvEyes3", "U0OTHER01")):
        second = post_slack(live_server.url, reaction(event_id, user))
        assert second.status_code == 200, second.text
        assert live_server.call(state) == (sam_id, claimed_by, claimed_at, version, n_events)

    page.goto(f"{live_server.url}/")
    expect(page.locator("body")).to_contain_text("Live long and prospect")
