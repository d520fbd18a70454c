"""SLA pages: badges on the board and ticket page, the breached/at-risk filter, the admin page."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from app.sla.models import SlaCalendar, SlaPolicy
from app.ticket.enums import Channel
from app.user.models import StaffRole
from tests.factories import make_ticket, make_user
from tests.pages.conftest import sign_in


@pytest.fixture
async def admin_csrf(client, session):
    admin = await make_user(session, StaffRole.admin, email="ada@desk.example", name="Ada")
    return await sign_in(client, admin.email)


async def test_board_badges_follow_the_clock_and_the_filter_finds_breaches(
    client, session, csrf, clock
):
    late = await make_ticket(session, title="Slack question", channel=Channel.slack)
    clock.advance(hours=2)
    fresh = await make_ticket(session, title="Email question", channel=Channel.email)
    page = (await client.get("/")).text
    assert 'data-sla="first_response" data-state="running"' in page
    assert "Reply in 1h 00m" in page  # Slack: 3 business hours, 2 used
    clock.advance(minutes=40)  # 20 min left of 3 h: at risk
    assert 'data-state="at_risk"' in (await client.get("/")).text
    clock.advance(minutes=30)
    page = (await client.get("/?sla=breached")).text
    assert "Slack question" in page and "Email question" not in page
    assert "Reply overdue 10m" in page
    only_risk = (await client.get("/?sla=at_risk")).text
    assert "Slack question" not in only_risk
    assert "Email question" not in only_risk  # 70 min of 8 h used: still comfortable
    # E-mail: 8 business hours of 09:00-17:00 from Monday 12:00 → due Tuesday 12:00; at 10:30
    # 6.5 h are used, 1.5 h (under 25 %) left.
    clock.set(datetime(2026, 11, 24, 10, 30, tzinfo=UTC))
    only_risk = (await client.get("/?sla=at_risk")).text
    assert "Email question" in only_risk
    assert (await client.get("/?sla=soon")).status_code == 422
    assert late.id and fresh.id


async def test_ticket_page_shows_every_target(client, session, csrf, clock):
    ticket = await make_ticket(session, channel=Channel.github)
    page = (await client.get(f"/tickets/{ticket.id}")).text
    assert 'id="sla-panel"' in page
    for target in ("ack", "first_response", "resolution"):
        assert f'data-sla="{target}"' in page
    await client.post(f"/tickets/{ticket.id}/messages", data={"body": "On it", "csrf_token": csrf})
    page = (await client.get(f"/tickets/{ticket.id}")).text
    assert "Replied ✓" in page and "Acknowledged ✓" in page


async def test_admin_page_previews_and_saves(client, session, admin_csrf, clock):
    page = await client.get("/sla", params={"channel": "github"})
    assert page.status_code == 200
    assert (
        "would be due" in page.text and "Mon 23 Nov 13:00 UTC" in page.text
    )  # 10:00 + 3 business h
    frag = await client.get("/sla", params={"channel": "email"}, headers={"HX-Request": "true"})
    assert (
        frag.text.lstrip().startswith('<section id="preview"')
        and "Mon 23 Nov 18:00" not in frag.text
    )
    form = {
        "csrf_token": admin_csrf,
        "name": "Berlin office",
        "kind": "hours",
        "zone": "Europe/Berlin",
        "hours_mon": "08:00-12:00, 13:00-17:00",
        "holiday_country": "de",
        "holiday_subdiv": "BE",
        "custom_holidays": "2026-12-24 2026-12-31",
    }
    res = await client.post("/sla/calendars", data=form)
    assert res.status_code == 303
    cal = (await session.exec(select(SlaCalendar).where(SlaCalendar.name == "Berlin office"))).one()
    assert cal.hours == {"mon": "08:00-12:00, 13:00-17:00"} and cal.holiday_country == "DE"
    bad = await client.post("/sla/calendars", data={**form, "name": "Bad", "zone": "Nowhere/City"})
    assert bad.status_code == 422 and "unknown time zone" in bad.text
    assert (
        await session.exec(select(SlaCalendar).where(SlaCalendar.name == "Bad"))
    ).first() is None
    # Edit the default policy: e-mail first response becomes 4 business hours.
    default = (await session.exec(select(SlaPolicy).where(SlaPolicy.name == "Default"))).one()
    policy_form = {
        "csrf_token": admin_csrf,
        "name": "Default",
        "community": "",
        "rule_target": ["first_response", "ack"],
        "rule_channel": ["email", ""],
        "rule_criticality": ["", ""],
        "rule_urgency": ["", ""],
        "rule_hours": ["4", ""],
        "rule_calendar": ["1", "2"],
    }
    assert (await client.post(f"/sla/policies/{default.id}", data=policy_form)).status_code == 303
    page = await client.get("/sla", params={"channel": "email"})
    assert "Mon 23 Nov 14:00 UTC" in page.text and "4 business h" in page.text
    bad = await client.post(
        f"/sla/policies/{default.id}", data={**policy_form, "rule_hours": ["soon", ""]}
    )
    assert bad.status_code == 422 and "not a number of hours" in bad.text


async def test_forms_need_csrf_and_the_admin_role(client, session, csrf):
    # `csrf` signed in a triager: may read the page, may not change settings.
    assert (await client.get("/sla")).status_code == 200
    res = await client.post("/sla/calendars", data={"csrf_token": csrf, "name": "X"})
    assert res.status_code == 403
    res = await client.post("/sla/calendars", data={"name": "X"})
    assert res.status_code == 403
