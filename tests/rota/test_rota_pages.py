"""The /rota pages as a browser without JavaScript uses them (plain forms, CSRF, 303s)."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.db import utcnow
from app.rota.handoff import write_due_handoffs
from app.rota.models import DutyTick, Handoff, Override, Schedule
from app.user.models import StaffRole
from tests.factories import make_user
from tests.rota.conftest import make_schedule


def schedule_form(csrf: str, **over) -> dict:
    monday = utcnow().date() - timedelta(days=utcnow().weekday() + 14)
    data = {
        "csrf_token": csrf,
        "name": "Exterminator",
        "kind": "weekly",
        "zone": "Europe/Berlin",
        "anchor_date": monday.isoformat(),
        "handoff_time": "09:00",
        "handoff_weekday": "0",
        "shift_days": "7",
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        "holiday_dates": "",
        "triage_mode": "off",
        "role1": "triager",
        "members1": "tara@desk.example, bo@desk.example",
        "duties1": "Cut the weekly release",
        "role2": "lead-tracker",
        "members2": "bo@desk.example",
    }
    data.update(over)
    return data


async def test_empty_rota_page_invites_to_create(client, csrf):
    res = await client.get("/rota")
    assert res.status_code == 200
    assert "No rota yet" in res.text and 'href="/rota/new"' in res.text


async def test_create_schedule_through_the_form(client, csrf, session, triager):
    await make_user(session, StaffRole.agent, email="bo@desk.example", name="Bo")
    assert (await client.get("/rota/new")).status_code == 200
    res = await client.post("/rota/new", data=schedule_form(csrf))
    assert res.status_code == 303, res.text
    schedule = (await session.exec(select(Schedule))).one()
    assert res.headers["location"] == f"/rota?schedule={schedule.id}"
    assert schedule.roles == ["triager", "lead-tracker"] and schedule.holiday_subdivision == "BE"
    page = await client.get(res.headers["location"])
    assert page.status_code == 200
    assert 'data-role="triager"' in page.text and "Cut the weekly release" in page.text


async def test_bad_schedule_form_rerenders_with_the_reason_and_writes_nothing(
    client, csrf, session
):
    await make_user(session, StaffRole.agent, email="bo@desk.example", name="Bo")
    for over, reason in [
        ({"zone": "Nowhere/City"}, "unknown IANA time zone"),
        ({"members1": "stranger@elsewhere.example"}, "not staff members"),
        ({"holiday_country": "ZZ"}, "no public holidays known"),
        ({"anchor_date": "yesterday"}, "anchor_date"),
    ]:
        res = await client.post("/rota/new", data=schedule_form(csrf, **over))
        assert res.status_code == 422, over
        assert (
            reason in res.text and 'value="Exterminator"' in res.text
        )  # the form keeps what was typed
    assert (await session.exec(select(func.count()).select_from(Schedule))).one() == 0
    no_csrf = await client.post("/rota/new", data=schedule_form("wrong"))
    assert no_csrf.status_code == 403


# Before the stated clock this test anchored the rota 30 days before the real now, so from
# early 2027 the fixed 1 December 2026 cover fell before the rota began and replaced nobody.
@pytest.mark.now("2026-11-25T10:00:00+00:00")
async def test_override_form_shows_in_the_grid(client, csrf, session, triager):
    bo = await make_user(session, StaffRole.agent, email="bo@desk.example", name="Bo")
    schedule = await make_schedule(session, [triager], anchor=date(2026, 10, 26))
    res = await client.post(
        f"/rota/{schedule.id}/overrides",
        data={
            "csrf_token": csrf,
            "user_id": str(bo.id),
            "start": "2026-12-01T10:00",
            "end": "2026-12-01T18:00",
            "agreed_by_id": str(bo.id),
            "reason": "dentist",
        },
    )
    assert res.status_code == 303, res.text
    assert res.headers["location"] == f"/rota?schedule={schedule.id}&start=2026-12-01"
    override = (await session.exec(select(Override))).one()
    # 10:00 in Berlin in winter is 09:00 UTC; the cover replaces whoever the rota had then.
    assert override.start_at == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert (override.requested_by_id, override.agreed_by_id, override.replaces_user_id) == (
        triager.id,
        bo.id,
        triager.id,
    )
    page = (await client.get(res.headers["location"])).text
    day = re.search(r'data-day="2026-12-01">(.*?)</td>', page, re.S).group(1)
    assert "Bo" in day and "10:00–18:00" in day and "override" in day
    # Bad input re-renders with the reason; nothing is written.
    bad = await client.post(
        f"/rota/{schedule.id}/overrides",
        data={
            "csrf_token": csrf,
            "user_id": str(bo.id),
            "start": "2026-12-02T10:00",
            "end": "2026-12-02T09:00",
        },
    )
    assert bad.status_code == 422 and "end must be after start" in bad.text
    assert (await session.exec(select(func.count()).select_from(Override))).one() == 1
    removed = await client.post(
        f"/rota/{schedule.id}/overrides/{override.id}/delete", data={"csrf_token": csrf}
    )
    assert removed.status_code == 303
    assert (await session.exec(select(func.count()).select_from(Override))).one() == 0


async def test_grid_navigation_is_an_htmx_fragment(client, csrf, session, triager):
    schedule = await make_schedule(session, [triager])
    res = await client.get(
        f"/rota?schedule={schedule.id}&view=month&start=2026-03-01", headers={"HX-Request": "true"}
    )
    assert res.status_code == 200 and res.headers["vary"] == "HX-Request"
    assert res.text.lstrip().startswith('<section id="grid"') and "<html" not in res.text
    assert "March 2026" in res.text
    full = await client.get(f"/rota?schedule={schedule.id}&view=week&start=2026-03-25")
    assert "<html" in full.text and "Week of 23 March 2026" in full.text
    assert (await client.get("/rota?view=year")).status_code == 422


# A weekly rota handed over on Mondays 09:00 Berlin: the shift is running at each of these
# instants (a Friday evening, a Sunday, the small hours of Monday before the handoff).
@pytest.mark.parametrize(
    "when",
    [
        pytest.param("friday-evening", marks=pytest.mark.now("2026-12-04T19:30:00+01:00")),
        pytest.param("sunday", marks=pytest.mark.now("2026-12-06T12:00:00+01:00")),
        pytest.param("monday-before-handoff", marks=pytest.mark.now("2026-12-07T00:30:00+01:00")),
    ],
)
async def test_duty_tick_and_feed_link(client, csrf, session, triager, when):
    schedule = await make_schedule(
        session, [triager], anchor=date(2026, 11, 2), duties=["Cut the weekly release"]
    )
    page = (await client.get(f"/rota?schedule={schedule.id}")).text
    duty_id = re.search(rf"/rota/{schedule.id}/duties/(\d+)/tick", page).group(1)
    index = re.search(r'name="shift_index" value="(\d+)"', page).group(1)
    res = await client.post(
        f"/rota/{schedule.id}/duties/{duty_id}/tick",
        data={"csrf_token": csrf, "shift_index": index, "ticked": "1"},
    )
    assert res.status_code == 303
    assert (await session.exec(select(DutyTick))).one().shift_index == int(index)
    assert 'aria-pressed="true"' in (await client.get(f"/rota?schedule={schedule.id}")).text

    res = await client.post(f"/rota/{schedule.id}/feed", data={"csrf_token": csrf, "scope": "mine"})
    assert res.status_code == 200
    url = re.search(r'value="(http[^"]+/calendar/flcal_[^"]+\.ics)"', res.text).group(1)
    client.cookies.clear()  # signed out: the secret URL alone must do
    feed = await client.get(url[url.index("/calendar/") :])
    assert feed.status_code == 200 and b"BEGIN:VCALENDAR" in feed.content


@pytest.mark.now("2026-03-11T10:00:00+00:00")
async def test_handoff_pages(client, csrf, session, triager):
    bo = await make_user(session, StaffRole.agent, email="bo@desk.example", name="Bo")
    # Daily shifts from Sunday 09:00 UTC: by Wednesday 10:00 three handoffs are due.
    schedule = await make_schedule(
        session, [bo, triager], zone="UTC", kind="custom", shift_days=1, anchor=date(2026, 3, 8)
    )
    assert await write_due_handoffs(session, utcnow()) >= 2
    h = (await session.exec(select(Handoff).where(Handoff.incoming_id == triager.id))).first()
    page = await client.get(f"/rota/handoffs/{h.id}")
    assert (
        page.status_code == 200 and "I have read it" in page.text and "What went well?" in page.text
    )
    # Tara (a triager, so a rota manager) may write the notes as well; then acknowledges.
    res = await client.post(
        f"/rota/handoffs/{h.id}",
        data={"csrf_token": csrf, "notes": "Watch the Kafka certs", "went_well": "calm week"},
    )
    assert res.status_code == 303
    assert (
        await client.post(f"/rota/handoffs/{h.id}/acknowledge", data={"csrf_token": csrf})
    ).status_code == 303
    await session.refresh(h)
    assert h.acknowledged_by_id == triager.id and h.notes == "Watch the Kafka certs"
    found = await client.get("/rota/handoffs", params={"q": "kafka"})
    assert f"/rota/handoffs/{h.id}" in found.text
    none = await client.get("/rota/handoffs", params={"q": "zebra"}, headers={"HX-Request": "true"})
    assert "No handoff mentions" in none.text and "<html" not in none.text
    assert (await client.get("/rota/handoffs/999")).status_code == 404
    assert schedule.id == h.schedule_id


# Weekly from Monday 9 March 09:00 UTC, Tara first. With the real clock (anchor "this Monday")
# the test failed every Monday before 09:00 UTC, when that week's shift had not begun.
@pytest.mark.parametrize(
    "when",
    [
        pytest.param("wednesday", marks=pytest.mark.now("2026-03-11T10:00:00+00:00")),
        pytest.param("sunday-night", marks=pytest.mark.now("2026-03-15T23:30:00+00:00")),
        pytest.param("monday-before-handoff", marks=pytest.mark.now("2026-03-16T08:30:00+00:00")),
    ],
)
async def test_board_header_shows_who_is_on_now_and_next(client, csrf, session, triager, when):
    bo = await make_user(session, StaffRole.agent, email="bo@desk.example", name="Bo")
    await make_schedule(session, [triager, bo], zone="UTC", anchor=date(2026, 3, 9))
    board = (await client.get("/")).text
    chip = re.search(r'<div class="oncall-chip".*?</div>', board, re.S).group(0)
    assert "triager now" in chip and "<strong>Tara</strong>" in chip and "next</span> Bo" in chip


async def test_rota_pages_need_sign_in(client):
    res = await client.get("/rota")
    assert res.status_code in (303, 401)
