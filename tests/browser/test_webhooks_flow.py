"""In a real browser: an admin subscribes, the in-process worker delivers, a dead receiver shows its errors."""

import os
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, make_ticket, make_user

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("FIRSTLINE_SCREENSHOTS")  # a folder: save screenshots there to look at them


def test_subscribe_and_watch_deliveries(live_server, new_page, receiver):
    live_server.call(lambda s: make_user(s, "admin", email="ada@example.org", name="Ada Admin"))
    page = new_page()
    sign_in(page, live_server.url, "ada@example.org", PASSWORD)
    page.get_by_role("link", name="Webhooks").click()
    page.fill("#wh-url", receiver.url)
    page.fill("#wh-events", "ticket.*")
    page.fill("#wh-desc", "ops dashboard")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator("#new-secret")).to_contain_text("whsec_")
    page.fill("#wh-url", "http://127.0.0.1:1/down")
    page.fill("#wh-events", "ticket.created")
    page.fill("#wh-desc", "a receiver that is down")
    page.get_by_role("button", name="Subscribe").click()

    live_server.call(lambda s: make_ticket(s, title="Notebook server fails to start"))
    if os.environ.get("FIRSTLINE_TEST_BACKEND", "sqlite") != "sqlite":
        # On PostgreSQL the job runs in `firstline worker`, not in the web process: run it once here.
        from app.db import utcnow
        from app.outbox.delivery import deliver_due

        live_server.call(lambda s: deliver_due(s, utcnow()))
    # The worker runs inside the app process on SQLite: the deliveries appear without any other process.
    page.goto(f"{live_server.url}/webhooks")
    for _ in range(20):
        if (
            page.locator(".badge.delivery-done").count()
            and page.locator("text=ConnectError").count()
        ):
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("#deliveries .badge.delivery-done")).to_have_count(1)
    expect(page.locator("#deliveries")).to_contain_text("ConnectError")
    assert (
        len(receiver.requests) == 1
        and receiver.requests[0].json()["data"]["title"] == "Notebook server fails to start"
    )
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "webhooks.png"), full_page=True)
    page.locator("#deliveries a").first.click()
    expect(page.locator("#log")).to_contain_text("Delivery log")
    assert re.search(r"/webhooks/deliveries/\d+$", page.url)
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "webhook-delivery.png"), full_page=True)


def test_open_a_tracker_issue_from_the_ticket_page(live_server, new_page, receiver, monkeypatch):
    import json

    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_GITHUB_API_URL", receiver.url.removesuffix("/hook"))
    monkeypatch.setenv("FIRSTLINE_GITHUB_TOKEN", "ghp_test")
    monkeypatch.setenv("FIRSTLINE_GITHUB_REPO", "octo-org/infra")
    get_integration_settings.cache_clear()
    receiver.status = [201]
    receiver.reply = json.dumps(
        {"number": 1347, "html_url": "https://github.com/octo-org/infra/issues/1347"}
    ).encode()
    live_server.call(lambda s: make_user(s, "agent", email="al@example.org", name="Al Agent"))
    ticket = live_server.call(lambda s: make_ticket(s, title="Notebook server fails to start"))
    page = new_page()
    sign_in(page, live_server.url, "al@example.org", PASSWORD)
    page.goto(f"{live_server.url}/tickets/{ticket.id}")
    page.get_by_role("button", name="Open GitHub issue").click()
    expect(page.locator(".tracker-panel")).to_contain_text("octo-org/infra#1347")
    expect(page.locator("body")).to_contain_text(
        "Opened tracker issue https://github.com/octo-org/infra/issues/1347"
    )
    assert receiver.requests[0].path == "/repos/octo-org/infra/issues"
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "ticket-tracker.png"), full_page=True)
    get_integration_settings.cache_clear()
