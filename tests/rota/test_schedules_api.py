"""/api/v1/schedules: CRUD, who is on, final shifts, overrides, swaps, duties, fairness."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.audit.models import Event
from app.oncall import on_call_user_ids
from app.rota.models import Member, Override, Schedule
from app.user.models import StaffRole
from tests.factories import bearer, make_token, make_user
from tests.rota.conftest import make_schedule


def body(team, **over):
    data = {
        "name": "Exterminator",
        "kind": "weekly",
        "zone": "Europe/Berlin",
        "anchor_date": "2026-01-05",
        "handoff_time": "09:00",
        "handoff_weekday": 0,
        "holiday_country": "DE",
        "holiday_subdivision": "BE",
        "holiday_dates": ["2026-12-28"],
        "roles": [
            {
                "name": "triager",
                "members": [team.ana.id, team.bo.id, team.cy.id],
                "duties": ["Cut the weekly release"],
            },
            {"name": "lead-tracker", "members": [team.cy.id]},
        ],
        "triage_mode": "assign",
    }
    data.update(over)
    return data


async def test_create_read_replace_delete(client, team):
    res = await client.post("/api/v1/schedules", headers=team.headers, json=body(team))
    assert res.status_code == 201, res.text
    out = res.json()
    sid = out["id"]
    assert res.headers["location"] == f"/api/v1/schedules/{sid}"
    assert [r["name"] for r in out["roles"]] == ["triager", "lead-tracker"]
    assert [m["name"] for m in out["roles"][0]["members"]] == ["Ana", "Bo", "Cy"]
    assert out["roles"][0]["duties"][0]["title"] == "Cut the weekly release"
    assert out["holiday_country"] == "DE" and out["handoff_time"] == "09:00"

    res = await client.put(
        f"/api/v1/schedules/{sid}",
        headers=team.headers,
        json=body(
            team, name="Renamed", roles=[{"name": "triager", "members": [team.bo.id, team.ana.id]}]
        ),
    )
    assert res.status_code == 200, res.text
    assert res.json()["name"] == "Renamed"
    assert [m["name"] for m in res.json()["roles"][0]["members"]] == ["Bo", "Ana"]
    assert [
        s["name"] for s in (await client.get("/api/v1/schedules", headers=team.headers)).json()
    ] == ["Renamed"]

    assert (
        await client.delete(f"/api/v1/schedules/{sid}", headers=team.headers)
    ).status_code == 204
    assert (await client.get(f"/api/v1/schedules/{sid}", headers=team.headers)).status_code == 404


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"zone": "Mars/Olympus"}, "invalid"),
        ({"holiday_country": "ZZ"}, "bad_holidays"),
        ({"holiday_country": "US", "holiday_subdivision": "XX"}, "bad_holidays"),
        ({"roles": []}, "invalid"),
        ({"roles": [{"name": "Triager!", "members": [1]}]}, "invalid"),
        ({"roles": [{"name": "triager", "members": [999]}]}, "unknown_user"),
        ({"roles": [{"name": "t", "members": [1]}, {"name": "t", "members": [1]}]}, "invalid"),
        ({"kind": "fortnightly"}, "invalid"),
        ({"handoff_time": "25:00"}, "invalid"),
        ({"handoff_weekday": 7}, "invalid"),
    ],
)
async def test_bad_schedules_are_422_with_a_reason_and_write_nothing(
    client, team, session, change, code
):
    res = await client.post("/api/v1/schedules", headers=team.headers, json=body(team, **change))
    assert res.status_code == 422, res.text
    assert res.json()["code"] == code and res.json()["detail"]
    assert (await session.exec(select(func.count()).select_from(Schedule))).one() == 0
    assert (await session.exec(select(func.count()).select_from(Member))).one() == 0


async def test_contacts_cannot_be_rota_members(client, team, session):
    contact = await make_user(session, None, email="someone@customer.example")
    res = await client.post(
        "/api/v1/schedules",
        headers=team.headers,
        json=body(team, roles=[{"name": "triager", "members": [contact.id]}]),
    )
    assert res.status_code == 422 and res.json()["code"] == "unknown_user"


async def test_permissions(client, team, session):
    viewer = bearer(await make_token(session, await make_user(session, StaffRole.viewer)))
    assert (await client.get("/api/v1/schedules")).status_code == 401
    assert (await client.get("/api/v1/schedules", headers=viewer)).status_code == 200
    res = await client.post("/api/v1/schedules", headers=viewer, json=body(team))
    assert res.status_code == 403 and res.json()["code"] == "forbidden"
    read_only = bearer(await make_token(session, team.ana, scopes="schedules:read"))
    assert (
        await client.post("/api/v1/schedules", headers=read_only, json=body(team))
    ).status_code == 403


async def test_oncall_now_and_next_across_roles(client, team, session):
    schedule = await make_schedule(session, [team.ana, team.bo], roles={"lead-tracker": [team.cy]})
    # Week of 5 Jan 2026 (09:00 Berlin = 08:00 UTC) is Ana's, then Bo's.
    res = await client.get(
        f"/api/v1/schedules/{schedule.id}/oncall",
        headers=team.headers,
        params={"at": "2026-01-07T12:00:00Z"},
    )
    assert res.status_code == 200, res.text
    out = res.json()
    assert out["roles"]["triager"]["user"]["name"] == "Ana"
    assert out["roles"]["triager"]["start"] == "2026-01-05T08:00:00Z"
    assert out["next"]["triager"]["user"]["name"] == "Bo"
    assert out["roles"]["lead-tracker"]["user"]["name"] == "Cy"
    assert out["next"]["lead-tracker"] is None  # nobody else takes that role
    # Before the rotation starts nobody is on.
    early = (
        await client.get(
            f"/api/v1/schedules/{schedule.id}/oncall",
            headers=team.headers,
            params={"at": "2025-12-01T00:00:00Z"},
        )
    ).json()
    assert early["roles"]["triager"] is None
    # The cross-domain resolver answers the same.
    at = datetime(2026, 1, 13, tzinfo=UTC)
    assert await on_call_user_ids(session, "triager", at) == [team.bo.id]
    assert await on_call_user_ids(session, "lead-tracker", at, schedule_id=schedule.id) == [
        team.cy.id
    ]
    assert await on_call_user_ids(session, "responder", at) == []


async def test_oncall_rejects_a_naive_time(client, team, session):
    schedule = await make_schedule(session, [team.ana])
    res = await client.get(
        f"/api/v1/schedules/{schedule.id}/oncall",
        headers=team.headers,
        params={"at": "2026-01-07T12:00:00"},
    )
    assert res.status_code == 422


async def test_override_wins_in_shifts_and_oncall_and_records_who_asked_and_agreed(
    client, team, session
):
    schedule = await make_schedule(session, [team.ana, team.bo])
    res = await client.post(
        f"/api/v1/schedules/{schedule.id}/overrides",
        headers=team.headers,
        json={
            "start": "2026-01-06T08:00:00Z",
            "end": "2026-01-07T08:00:00Z",
            "user_id": team.cy.id,
            "replaces_user_id": team.ana.id,
            "agreed_by_id": team.cy.id,
            "reason": "dentist",
        },
    )
    assert res.status_code == 201, res.text
    ov = res.json()
    assert (
        ov["requested_by"]["name"] == "Ana"
        and ov["agreed_by"]["name"] == "Cy"
        and ov["role"] == "triager"
    )

    shifts = (
        await client.get(
            f"/api/v1/schedules/{schedule.id}/shifts",
            headers=team.headers,
            params={"from": "2026-01-05T00:00:00Z", "to": "2026-01-19T00:00:00Z"},
        )
    ).json()
    assert [(s["user"]["name"], s["start"], s["end"]) for s in shifts] == [
        ("Ana", "2026-01-05T08:00:00Z", "2026-01-06T08:00:00Z"),
        ("Cy", "2026-01-06T08:00:00Z", "2026-01-07T08:00:00Z"),
        ("Ana", "2026-01-07T08:00:00Z", "2026-01-12T08:00:00Z"),
        ("Bo", "2026-01-12T08:00:00Z", "2026-01-19T08:00:00Z"),
    ]
    assert len({s["uid"] for s in shifts}) == 4
    at = (
        await client.get(
            f"/api/v1/schedules/{schedule.id}/oncall",
            headers=team.headers,
            params={"at": "2026-01-06T10:00:00+01:00"},
        )
    ).json()
    assert at["roles"]["triager"]["user"]["name"] == "Cy"
    assert at["next"]["triager"]["user"]["name"] == "Ana"

    listed = (
        await client.get(f"/api/v1/schedules/{schedule.id}/overrides", headers=team.headers)
    ).json()
    assert [o["id"] for o in listed] == [ov["id"]]
    assert (
        await client.delete(
            f"/api/v1/schedules/{schedule.id}/overrides/{ov['id']}", headers=team.headers
        )
    ).status_code == 204
    assert (
        await client.delete(
            f"/api/v1/schedules/{schedule.id}/overrides/{ov['id']}", headers=team.headers
        )
    ).status_code == 404
    kinds = (await session.exec(select(Event.kind).where(Event.subject_type == "schedule"))).all()
    assert kinds == ["schedule.created", "override.created", "override.deleted"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"end": "2026-01-06T07:00:00Z"}, "invalid"),
        ({"start": "2026-01-06T08:00:00"}, "invalid"),
        ({"role": "pilot"}, "unknown_role"),
        ({"user_id": 999}, "unknown_user"),
    ],
)
async def test_bad_overrides_are_422_and_write_nothing(client, team, session, change, code):
    schedule = await make_schedule(session, [team.ana, team.bo])
    data = {
        "start": "2026-01-06T08:00:00Z",
        "end": "2026-01-07T08:00:00Z",
        "user_id": team.cy.id,
        **change,
    }
    res = await client.post(
        f"/api/v1/schedules/{schedule.id}/overrides", headers=team.headers, json=data
    )
    assert res.status_code == 422, res.text
    assert res.json()["code"] == code
    assert (await session.exec(select(func.count()).select_from(Override))).one() == 0


async def test_swap_trades_two_shifts(client, team, session):
    schedule = await make_schedule(session, [team.ana, team.bo])
    res = await client.post(
        f"/api/v1/schedules/{schedule.id}/swaps",
        headers=team.headers,
        json={"first_shift_index": 0, "second_shift_index": 1, "agreed_by_id": team.bo.id},
    )
    assert res.status_code == 201, res.text
    assert len({o["swap_group"] for o in res.json()}) == 1
    shifts = (
        await client.get(
            f"/api/v1/schedules/{schedule.id}/shifts",
            headers=team.headers,
            params={"from": "2026-01-05T08:00:00Z", "to": "2026-01-26T08:00:00Z"},
        )
    ).json()
    assert [s["user"]["name"] for s in shifts] == ["Bo", "Ana", "Ana"]
    same = await client.post(
        f"/api/v1/schedules/{schedule.id}/swaps",
        headers=team.headers,
        json={"first_shift_index": 0, "second_shift_index": 2},
    )
    assert same.status_code == 422 and same.json()["code"] == "bad_swap"


async def test_shifts_window_is_checked(client, team, session):
    schedule = await make_schedule(session, [team.ana])
    url = f"/api/v1/schedules/{schedule.id}/shifts"
    for params, code in [
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "bad_window"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2028-01-01T00:00:00Z"}, "window_too_long"),
        (
            {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "role": "x"},
            "unknown_role",
        ),
    ]:
        res = await client.get(url, headers=team.headers, params=params)
        assert res.status_code == 422 and res.json()["code"] == code
    assert (
        await client.get(url, headers=team.headers, params={"from": "x", "to": "y"})
    ).status_code == 422


async def test_holidays_skipped_in_a_weekday_rota_through_the_api(client, team):
    res = await client.post(
        "/api/v1/schedules",
        headers=team.headers,
        json=body(
            team,
            kind="weekdays",
            zone="America/New_York",
            anchor_date="2026-06-29",
            holiday_country="US",
            holiday_subdivision=None,
            holiday_dates=["2026-07-06"],
            roles=[{"name": "triager", "members": [team.ana.id, team.bo.id]}],
        ),
    )
    sid = res.json()["id"]
    shifts = (
        await client.get(
            f"/api/v1/schedules/{sid}/shifts",
            headers=team.headers,
            params={"from": "2026-06-29T00:00:00Z", "to": "2026-07-11T00:00:00Z"},
        )
    ).json()
    days = [s["start"][:10] for s in shifts]
    # 3 July is the observed Independence Day (a Friday), 6 July a custom day off.
    assert days == [
        "2026-06-29",
        "2026-06-30",
        "2026-07-01",
        "2026-07-02",
        "2026-07-07",
        "2026-07-08",
        "2026-07-09",
        "2026-07-10",
    ]
    assert [s["user"]["name"] for s in shifts] == [
        "Ana",
        "Bo",
        "Ana",
        "Bo",
        "Ana",
        "Bo",
        "Ana",
        "Bo",
    ]
    assert all(s["start"][11:] == "13:00:00Z" for s in shifts)  # 09:00 EDT


async def test_duty_ticks_per_shift(client, team, session):
    schedule = await make_schedule(session, [team.ana, team.bo], duties=["Cut the weekly release"])
    duty_id = (await client.get(f"/api/v1/schedules/{schedule.id}", headers=team.headers)).json()[
        "roles"
    ][0]["duties"][0]["id"]
    url = f"/api/v1/schedules/{schedule.id}/duties/{duty_id}/ticks"
    assert (await client.put(url, headers=team.headers, json={"shift_index": 3})).json() == {
        "shift_index": 3,
        "ticked": True,
    }
    assert (
        await client.put(url, headers=team.headers, json={"shift_index": 3})
    ).status_code == 200  # idempotent
    from app.rota.service import ticks_for

    assert set(await ticks_for(session, schedule.id, [2, 3, 4])) == {(duty_id, 3)}
    assert (
        await client.put(url, headers=team.headers, json={"shift_index": 3, "ticked": False})
    ).json()["ticked"] is False
    assert await ticks_for(session, schedule.id, [3]) == {}
    missing = await client.put(
        f"/api/v1/schedules/{schedule.id}/duties/999/ticks",
        headers=team.headers,
        json={"shift_index": 3},
    )
    assert missing.status_code == 404


async def test_fairness_summary(client, team, session):
    schedule = await make_schedule(session, [team.ana, team.bo], zone="UTC")
    res = await client.get(
        f"/api/v1/schedules/{schedule.id}/fairness",
        headers=team.headers,
        params={"from": "2026-01-05T09:00:00Z", "to": "2026-02-02T09:00:00Z"},
    )
    assert res.status_code == 200
    assert [(r["user"]["name"], r["shifts"], r["hours"]) for r in res.json()] == [
        ("Ana", 2, 336),
        ("Bo", 2, 336),
    ]
