"""The SLA API: calendars and policies (with reasons for bad input), preview, states on tickets."""

import pytest
from sqlmodel import select

from app.sla.models import SlaCalendar, SlaPolicy
from app.user.models import StaffRole
from tests.factories import bearer, make_community, make_token, make_user

WEEK = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
async def admin(session):
    return bearer(await make_token(session, await make_user(session, StaffRole.admin, name="Ada")))


@pytest.fixture
async def agent(session):
    return bearer(await make_token(session, await make_user(session, StaffRole.agent, name="Al")))


async def test_calendar_crud_and_reasons(client, admin, session):
    body = {
        "name": "Paris office",
        "zone": "Europe/Paris",
        "hours": {**WEEK, "fri": "09:00-12:00, 13:00-16:00"},
        "holiday_country": "FR",
        "custom_holidays": ["2026-12-24"],
    }
    res = await client.post("/api/v1/sla/calendars", json=body, headers=admin)
    assert res.status_code == 201, res.text
    cal = res.json()
    assert cal["hours"]["fri"] == "09:00-12:00, 13:00-16:00" and cal["custom_holidays"] == [
        "2026-12-24"
    ]
    assert res.headers["location"] == f"/api/v1/sla/calendars/{cal['id']}"
    assert (await client.post("/api/v1/sla/calendars", json=body, headers=admin)).json()[
        "code"
    ] == "duplicate_name"
    res = await client.put(
        f"/api/v1/sla/calendars/{cal['id']}", json={**body, "zone": "Europe/Berlin"}, headers=admin
    )
    assert res.status_code == 200 and res.json()["zone"] == "Europe/Berlin"
    names = [c["name"] for c in (await client.get("/api/v1/sla/calendars", headers=admin)).json()]
    assert "Paris office" in names and "Working days (24 h, Mon-Fri)" in names
    assert (
        await client.delete(f"/api/v1/sla/calendars/{cal['id']}", headers=admin)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/sla/calendars/{cal['id']}", headers=admin)
    ).status_code == 404


@pytest.mark.parametrize(
    "patch,fragment",
    [
        ({"zone": "Mars/Olympus"}, "unknown time zone"),
        ({"hours": {"mon": "17:00-09:00"}}, "must end after"),
        ({"hours": {"funday": "09:00-17:00"}}, "unknown weekday"),
        ({"holiday_country": "ZZ"}, "no public holidays"),
        ({"custom_holidays": ["tomorrow"]}, "not a date"),
    ],
)
async def test_bad_calendar_is_422_with_reason_and_writes_nothing(
    client, admin, session, patch, fragment
):
    before = len((await session.exec(select(SlaCalendar))).all())
    res = await client.post(
        "/api/v1/sla/calendars", json={"name": "X", "hours": WEEK, **patch}, headers=admin
    )
    assert res.status_code == 422
    assert res.json()["code"] == "bad_calendar" and fragment in res.json()["detail"]
    assert len((await session.exec(select(SlaCalendar))).all()) == before


async def test_calendar_in_use_cannot_be_deleted(client, admin):
    res = await client.delete("/api/v1/sla/calendars/1", headers=admin)
    assert res.status_code == 409 and res.json()["code"] == "calendar_in_use"


async def test_only_admins_write_sla_settings(client, agent):
    assert (await client.get("/api/v1/sla/policies", headers=agent)).status_code == 200
    res = await client.post(
        "/api/v1/sla/calendars", json={"name": "X", "hours": WEEK}, headers=agent
    )
    assert res.status_code == 403
    assert (await client.get("/api/v1/sla/policies")).status_code == 401


async def test_policy_override_and_preview(client, admin, session):
    await make_community(session, "acme")
    at = "2026-11-20T16:00:00Z"  # Friday
    default = (
        await client.get(
            "/api/v1/sla/preview", params={"channel": "email", "at": at}, headers=admin
        )
    ).json()
    fr = next(p for p in default if p["target"] == "first_response")
    assert fr["due_at"].startswith("2026-11-23T16:00") and fr["calendar"] == "Office hours (UTC)"
    body = {
        "name": "Acme gold",
        "community": "acme",
        "rules": [{"target": "first_response", "minutes": 60, "calendar_id": 2}],
    }
    res = await client.post("/api/v1/sla/policies", json=body, headers=admin)
    assert res.status_code == 201, res.text
    assert res.json()["community"] == "acme" and len(res.json()["rules"]) == 1
    assert (
        await client.post("/api/v1/sla/policies", json={**body, "name": "Other"}, headers=admin)
    ).json()["code"] == "duplicate_policy"
    acme = (
        await client.get(
            "/api/v1/sla/preview",
            params={"channel": "email", "at": at, "community": "acme"},
            headers=admin,
        )
    ).json()
    fr = next(p for p in acme if p["target"] == "first_response")
    assert fr["due_at"].startswith("2026-11-20T17:00") and fr["from_community_policy"] is True
    bad = await client.post(
        "/api/v1/sla/policies",
        json={
            **body,
            "name": "Y",
            "community": None,
            "rules": [{"target": "ack", "minutes": 5, "calendar_id": 99}],
        },
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_calendar"
    dup = await client.post(
        "/api/v1/sla/policies", json={"name": "Z", "community": None, "rules": []}, headers=admin
    )
    assert dup.status_code == 409  # the default policy exists already
    assert (
        await client.get("/api/v1/sla/preview", params={"community": "nope"}, headers=admin)
    ).status_code == 422
    assert len((await session.exec(select(SlaPolicy))).all()) == 2


async def test_ticket_output_carries_sla_states(client, admin):
    body = {"title": "Cannot log in", "requester_email": "x@example.org", "channel": "github"}
    created = (await client.post("/api/v1/tickets", json=body, headers=admin)).json()
    targets = {s["target"]: s for s in created["sla"]}
    assert set(targets) == {"ack", "first_response", "resolution"}
    assert (
        targets["first_response"]["state"] == "running"
        and targets["first_response"]["target_minutes"] == 180
    )
    res = await client.get(f"/api/v1/sla/tickets/{created['key']}", headers=admin)
    assert [s["target"] for s in res.json()] == ["ack", "first_response", "resolution"]
    assert (await client.get("/api/v1/sla/tickets/SUP-999", headers=admin)).status_code == 404
    page = (await client.get("/api/v1/tickets", headers=admin)).json()
    assert page["items"][0]["sla"]
