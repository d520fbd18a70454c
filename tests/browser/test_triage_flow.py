"""The foundation's whole flow in a real browser: embedded intake → live board → triage → closed."""

import http.server
import re
import threading

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from app.outbox.models import OutboxMessage
from tests.browser.conftest import free_port, settled, sign_in
from tests.factories import PASSWORD, make_community, make_user

pytestmark = pytest.mark.browser


def test_embedded_request_reaches_the_live_board_and_is_triaged_to_closed(live_server, new_page):
    site_origin = f"http://127.0.0.1:{free_port()}"

    async def setup(session):
        await make_user(session, "triager", email="tara@example.org", name="Tara Triager")
        await make_community(
            session,
            "uni-physics",
            name="Uni Physics",
            reps=("marie@uni.example",),
            allowed_origins=[site_origin],
        )

    live_server.call(setup)
    _run_flow(live_server, new_page, site_origin)


def _serve_site(origin_port: int, form_url: str):
    """The community's own website, on another origin, embedding our intake form."""
    page = (
        f"<!doctype html><title>Uni Physics</title><h1>Need help?</h1>"
        f'<iframe id="support" src="{form_url}" width="800" height="1000"></iframe>'
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", origin_port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def _run_flow(live_server, new_page, site_origin):
    port = int(site_origin.rsplit(":", 1)[1])
    httpd = _serve_site(port, f"{live_server.url}/intake/uni-physics")
    try:
        triager = new_page()
        sign_in(triager, live_server.url, "tara@example.org", PASSWORD)
        expect(triager.locator("#board_rows")).to_contain_text("The queue is clear")
        expect(triager.locator("body")).to_have_class(re.compile("live-on"))

        # The representative fills the form embedded on the community's own site.
        rep = new_page()
        rep.goto(site_origin)
        form = rep.frame_locator("#support")
        form.locator("#name").fill("Marie Curie")
        form.locator("#email").fill("marie@uni.example")
        form.locator("#title").fill("Notebook servers fail to start")
        form.locator("#type").select_option("bug")
        form.locator("#urgency").select_option("urgent")
        form.locator("#body").fill("Every user gets a **504** since 09:10.")
        form.locator("button[type=submit]").click()
        key = form.locator("#ticket-key")
        expect(key).to_have_text(re.compile(r"^SUP-\d+$"))
        ticket_key = key.inner_text()

        # An address typed into a form proves nothing: the representative's request is held
        # until she confirms it from the link mailed to her address.
        expect(form.locator("#held")).to_contain_text("e-mailed a confirmation link")
        expect(triager.locator("#board_rows")).to_contain_text("The queue is clear")

        async def confirmation_link(session):
            stmt = select(OutboxMessage).where(
                col(OutboxMessage.idempotency_key).like("intake-confirm-%")
            )
            [mail] = (await session.exec(stmt)).all()
            return re.search(r"https?://\S+(/intake/confirm/\S+)", mail.payload["text"]).group(1)

        rep.goto(live_server.url + live_server.call(confirmation_link))
        rep.locator("#confirm").click()
        expect(rep.locator("main")).to_contain_text(ticket_key)

        # It appears on the triager's open board without a reload.
        row = triager.locator(".board-row", has_text="Notebook servers fail to start")
        expect(row).to_be_visible()
        expect(row).to_contain_text(ticket_key)
        expect(row).to_contain_text("asked as urgent")

        # Claim, classify inline.
        row.get_by_role("button", name="Claim").click()
        expect(row).to_contain_text("looking: Tara Triager")
        settled(triager)
        row.locator("select[name=criticality]").select_option("2")
        expect(row.locator(".rank .badge")).to_have_text("C2")
        settled(triager)
        row.locator("select[name=status]").select_option("open")
        expect(row.locator(".meta .status")).to_have_text("Open")

        # Reply with a canned "need more details" reply on the ticket page.
        row.locator("a.title").click()
        triager.wait_for_url(re.compile(r"/tickets/\d+$"))
        expect(triager.locator("h1")).to_have_text("Notebook servers fail to start")
        expect(triager.locator(".message-body strong")).to_have_text("504")
        settled(triager)
        triager.locator("#canned").select_option("need-repro-steps")
        expect(triager.locator("#reply-body")).to_have_value(re.compile(r"^Hello Marie,"))
        settled(triager)
        triager.get_by_role("button", name="Send", exact=True).click()
        expect(triager.locator("#thread .message.staff")).to_contain_text("walk me through")
        expect(triager.locator("#reply-body")).to_have_value("")
        settled(triager)

        # Resolve, then close.
        triager.locator("#sidebar").get_by_role("button", name="Resolved").click()
        expect(triager.locator("#sidebar .status")).to_have_text("Resolved")
        settled(triager)
        triager.locator("#sidebar").get_by_role("button", name="Closed").click()
        expect(triager.locator("#sidebar .status")).to_have_text("Closed")
        expect(triager.locator("#sidebar .timeline")).to_contain_text("status resolved → closed")

        # The board's "To do" view no longer lists it; "Closed" does.
        triager.goto(f"{live_server.url}/?view=closed")
        expect(triager.locator(".board-row", has_text=ticket_key)).to_be_visible()
    finally:
        httpd.shutdown()
        httpd.server_close()
