"""The rota in a real browser: create a schedule, add a cover, see it in the grid and in the calendar feed."""

import re
import urllib.request
from datetime import timedelta

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from app.db import utcnow
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_create_schedule_cover_a_day_and_find_it_in_grid_and_feed(live_server, new_page, tmp_path):
    async def setup(session):
        await make_user(session, "triager", email="tara@example.org", name="Tara Triager")
        await make_user(session, "agent", email="sam@example.org", name="Sam Okafor")

    live_server.call(setup)
    page = new_page()
    sign_in(page, live_server.url, "tara@example.org", PASSWORD)

    page.click("nav[aria-label=Main] >> text=Rota")
    expect(page.locator("main")).to_contain_text("No rota yet")
    page.click("text=New schedule")
    today = utcnow().date()
    page.fill("#s-name", "Exterminator")
    page.select_option("#s-kind", "weekly")
    page.fill("#s-zone", "Europe/Berlin")
    page.fill("#s-anchor", (today - timedelta(days=21)).isoformat())
    page.fill("#s-time", "09:00")
    page.select_option("#s-day", "0")
    page.fill("#s-country", "DE")
    page.fill("#s-members1", "tara@example.org, sam@example.org")
    page.fill("#s-duties1", "Cut the weekly release")
    page.click("button:has-text('Create schedule')")

    expect(page).to_have_url(re.compile(r"/rota\?schedule=\d+$"))
    expect(page.locator(".oncall-now")).to_contain_text("triager")
    expect(page.locator(".oncall-name[data-role=triager]")).to_have_text(
        re.compile("Tara Triager|Sam Okafor")
    )

    # Sam covers a day two weeks from now, 10:00-18:00 Berlin time.
    day = today + timedelta(days=14)
    page.select_option("#ov-user", label="Sam Okafor")
    page.fill("#ov-start", f"{day.isoformat()}T10:00")
    page.fill("#ov-end", f"{day.isoformat()}T18:00")
    page.fill("#ov-reason", "conference")
    page.click("button:has-text('Add cover')")

    # Back on the grid, on the week of the cover: the day shows Sam 10:00-18:00 as a cover.
    cell = page.locator(f"td[data-day='{day.isoformat()}']")
    expect(cell.locator(".shift.override")).to_contain_text("Sam Okafor")
    expect(cell.locator(".shift.override")).to_contain_text("10:00–18:00")
    expect(page.locator("section[aria-label=Covers]")).to_contain_text("asked by Tara Triager")
    page.screenshot(path=str(tmp_path / "rota-week.png"), full_page=True)

    # The month view shows it too, and htmx moves between months without a full reload.
    page.click(".seg >> text=Month")
    expect(page.locator(f"td[data-day='{day.isoformat()}'] .shift.override")).to_contain_text(
        "Sam Okafor"
    )

    # A secret calendar link for the whole rota: the cover is one event, at the right instants.
    page.check("input[name=scope][value=schedule]")
    page.click("button:has-text('Get a calendar link')")
    url = page.locator("input.feed-url").input_value()
    assert "/calendar/flcal_" in url
    # The link is built from FIRSTLINE_BASE_URL; this test server listens on another port.
    with urllib.request.urlopen(
        live_server.url + url[url.index("/calendar/") :], timeout=10
    ) as res:  # no cookie: the URL is the credential
        assert res.headers["Content-Type"].startswith("text/calendar")
        cal = Calendar.from_ical(res.read())
    covers = [
        ev
        for ev in cal.walk("VEVENT")
        if str(ev["summary"]).startswith("Sam Okafor")
        and ev.decoded("dtstart").date() == day
        and ev.decoded("dtend") - ev.decoded("dtstart") == timedelta(hours=8)
    ]
    assert len(covers) == 1
    from zoneinfo import ZoneInfo

    assert covers[0].decoded("dtstart").astimezone(ZoneInfo("Europe/Berlin")).hour == 10
