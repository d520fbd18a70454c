"""In a real browser: SLA badges on the board change state as (injected) time passes, and
the board's SLA filter narrows to breached tickets."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.sla import service as sla_service
from app.sla.models import SlaClock
from app.ticket.enums import Channel
from tests.browser.conftest import settled, sign_in
from tests.factories import PASSWORD, make_ticket, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def sla_clock(monkeypatch):
    """The server runs in this process: replacing the SLA's clock moves the time it shows."""
    holder = {"now": None}
    real = sla_service.CLOCK["now"]
    monkeypatch.setitem(sla_service.CLOCK, "now", lambda: holder["now"] or real())
    return holder


# A Wednesday morning, so every step below stays inside business hours on any calendar the
# demo policy uses: with the real clock the "5 minutes overdue" step crossed the end of the
# working day in the afternoon and showed "1m".
OPENED = datetime(2026, 1, 7, 9, 30, tzinfo=UTC)


def test_badges_change_state_as_time_passes(live_server, new_page, sla_clock, monkeypatch):
    monkeypatch.setattr("app.ticket.service.utcnow", lambda: OPENED)
    sla_clock["now"] = OPENED

    async def setup(session):
        await make_user(session, "triager", email="tara@example.org", name="Tara Triager")
        late = await make_ticket(session, title="Slack: cannot log in", channel=Channel.slack)
        await make_ticket(session, title="Web: question about quotas", channel=Channel.web)
        rows = (
            await session.exec(
                select(SlaClock).where(
                    SlaClock.ticket_id == late.id, SlaClock.target == "first_response"
                )
            )
        ).one()
        return late.id, rows.at_risk_at, rows.due_at

    ticket_id, at_risk_at, due_at = live_server.call(setup)
    page = new_page()
    sign_in(page, live_server.url, "tara@example.org", PASSWORD)
    badge = page.locator(f'#row-{ticket_id} [data-sla="first_response"]')
    expect(badge).to_have_attribute("data-state", "running")
    expect(badge).to_contain_text("Reply in")

    sla_clock["now"] = at_risk_at + timedelta(minutes=1)
    page.reload()
    expect(badge).to_have_attribute("data-state", "at_risk")

    sla_clock["now"] = due_at + timedelta(minutes=5)
    page.reload()
    expect(badge).to_have_attribute("data-state", "breached")
    expect(badge).to_contain_text("Reply overdue 5m")

    # The filter keeps only tickets whose SLA is breached (htmx swaps the rows in place).
    page.select_option("#f-sla", "breached")
    settled(page)
    expect(page.locator("#board_rows")).to_contain_text("Slack: cannot log in")
    expect(page.locator("#board_rows")).not_to_contain_text("Web: question about quotas")
    assert "sla=breached" in page.url

    # On the ticket page every target is listed, with its state.
    page.goto(f"{live_server.url}/tickets/{ticket_id}")
    expect(page.locator('#sla-panel [data-sla="first_response"]')).to_have_attribute(
        "data-state", "breached"
    )
    expect(page.locator('#sla-panel [data-sla="resolution"]')).to_have_attribute(
        "data-state", "running"
    )
