"""The iCalendar feed: parsed with `icalendar`, it agrees instant for instant with /shifts."""

from datetime import UTC, date, datetime

import pytest
from icalendar import Calendar

from app.user.models import StaffRole
from tests.factories import bearer, make_token, make_user
from tests.rota.conftest import make_schedule

WINDOW = {"from": "2026-02-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


def events(ics: bytes) -> list[dict]:
    cal = Calendar.from_ical(ics)
    out = []
    for ev in cal.walk("VEVENT"):
        start, end = ev.decoded("dtstart"), ev.decoded("dtend")
        assert start.tzinfo is not None and end.tzinfo is not None  # never floating times
        out.append(
            {
                "uid": str(ev["uid"]),
                "start": start.astimezone(UTC),
                "end": end.astimezone(UTC),
                "summary": str(ev["summary"]),
            }
        )
    return sorted(out, key=lambda e: (e["start"], e["uid"]))


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


async def feed_url(client, team, **body) -> str:
    res = await client.post("/api/v1/calendar-feeds", headers=team.headers, json=body)
    assert res.status_code == 201, res.text
    url = res.json()["url"]
    assert url.startswith("http://") and "/calendar/flcal_" in url
    return path_of(url)


def path_of(url: str) -> str:
    return url[url.index("/calendar/") :]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
async def test_feed_agrees_with_shifts_across_dst_and_overrides(client, team, session, zone):
    schedule = await make_schedule(
        session,
        [team.ana, team.bo, team.cy],
        zone=zone,
        roles={"lead-tracker": [team.cy]},
        holiday_country="US",
        holiday_dates=[date(2026, 4, 6)],
    )
    res = await client.post(
        f"/api/v1/schedules/{schedule.id}/overrides",
        headers=team.headers,
        json={
            "start": "2026-03-27T12:00:00Z",
            "end": "2026-03-31T12:00:00Z",
            "user_id": team.bo.id,
        },
    )
    assert res.status_code == 201
    shifts = (
        await client.get(
            f"/api/v1/schedules/{schedule.id}/shifts", headers=team.headers, params=WINDOW
        )
    ).json()
    url = await feed_url(client, team, schedule_id=schedule.id)
    feed = await client.get(
        url, params=WINDOW
    )  # no Authorization header: the URL is the credential
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("text/calendar")
    got = events(feed.content)
    want = sorted(
        (
            {
                "start": parse(s["start"]),
                "end": parse(s["end"]),
                "uid": s["uid"],
                "who": s["user"]["name"],
                "role": s["role"],
            }
            for s in shifts
        ),
        key=lambda e: (e["start"], e["uid"]),
    )
    assert len(got) == len(want) > 60
    for e, s in zip(
        got, sorted(want, key=lambda w: (w["start"], f"rota-{schedule.id}-{w['uid']}@firstline"))
    ):
        assert (e["start"], e["end"]) == (s["start"], s["end"])
        assert e["uid"] == f"rota-{schedule.id}-{s['uid']}@firstline"
        assert e["summary"].startswith(f"{s['who']}: {s['role']}")
    assert len({e["uid"] for e in got}) == len(got)


async def test_uids_are_stable_and_an_override_only_changes_the_shift_it_cuts(
    client, team, session
):
    schedule = await make_schedule(session, [team.ana, team.bo])
    url = await feed_url(client, team, schedule_id=schedule.id)
    first = events((await client.get(url, params=WINDOW)).content)
    again = events((await client.get(url, params=WINDOW)).content)
    assert [e["uid"] for e in first] == [e["uid"] for e in again]
    await client.post(
        f"/api/v1/schedules/{schedule.id}/overrides",
        headers=team.headers,
        json={
            "start": "2026-05-05T08:00:00Z",
            "end": "2026-05-06T08:00:00Z",
            "user_id": team.cy.id,
        },
    )
    after = events((await client.get(url, params=WINDOW)).content)
    before_uids, after_uids = {e["uid"] for e in first}, {e["uid"] for e in after}
    # The cut week keeps its UID (its event just ends earlier); the override and the rest are new events.
    assert before_uids - after_uids == set()
    assert len(after_uids - before_uids) == 2
    cut = [
        e
        for e in after
        if e["uid"] in before_uids and e["end"] == datetime(2026, 5, 5, 8, tzinfo=UTC)
    ]
    assert len(cut) == 1


async def test_personal_feed_spans_schedules_and_only_has_that_person(client, team, session):
    one = await make_schedule(session, [team.ana, team.bo])
    two = await make_schedule(session, [team.bo, team.cy], zone="America/New_York", kind="weekdays")
    bo_headers = bearer(await make_token(session, team.bo))
    res = await client.post(
        "/api/v1/calendar-feeds", headers=bo_headers, json={"user_id": team.bo.id}
    )
    assert res.status_code == 201
    url = path_of(res.json()["url"])
    got = events((await client.get(url, params=WINDOW)).content)
    assert got and all(e["summary"].startswith("Bo:") for e in got)
    assert {e["uid"].split("-")[1] for e in got} == {str(one.id), str(two.id)}
    expected = 0
    for s in (one, two):
        expected += len(
            (
                await client.get(
                    f"/api/v1/schedules/{s.id}/shifts",
                    headers=team.headers,
                    params={**WINDOW, "user_id": team.bo.id},
                )
            ).json()
        )
    assert len(got) == expected
    # Someone else may not make a personal feed of Bo unless they can manage the rota.
    viewer = bearer(await make_token(session, await make_user(session, StaffRole.viewer)))
    res = await client.post("/api/v1/calendar-feeds", headers=viewer, json={"user_id": team.bo.id})
    assert res.status_code == 403


async def test_revoked_and_unknown_feeds_are_404(client, team, session):
    schedule = await make_schedule(session, [team.ana])
    res = await client.post(
        "/api/v1/calendar-feeds", headers=team.headers, json={"schedule_id": schedule.id}
    )
    feed_id, url = res.json()["id"], res.json()["url"]
    path = path_of(url)
    assert (await client.get(path)).status_code == 200
    listed = (await client.get("/api/v1/calendar-feeds", headers=team.headers)).json()
    assert [f["id"] for f in listed] == [feed_id] and listed[0][
        "url"
    ] is None  # the secret is shown once
    assert (
        await client.delete(f"/api/v1/calendar-feeds/{feed_id}", headers=team.headers)
    ).status_code == 204
    gone = await client.get(path)
    assert gone.status_code == 404 and "revoked" in gone.text
    assert (await client.get("/calendar/flcal_nope.ics")).status_code == 404
    assert (await client.get("/calendar/not-even-a-token.ics")).status_code == 404
    assert (
        await client.post("/api/v1/calendar-feeds", headers=team.headers, json={})
    ).status_code == 422
    assert (
        await client.post("/api/v1/calendar-feeds", headers=team.headers, json={"schedule_id": 999})
    ).status_code == 404


async def test_signed_in_calendar_endpoint(client, team, session):
    schedule = await make_schedule(session, [team.ana, team.bo])
    res = await client.get(
        f"/api/v1/schedules/{schedule.id}/calendar.ics",
        headers=team.headers,
        params={**WINDOW, "user_id": team.ana.id},
    )
    assert res.status_code == 200
    got = events(res.content)
    assert got and all(e["summary"].startswith("Ana:") for e in got)
    assert (await client.get(f"/api/v1/schedules/{schedule.id}/calendar.ics")).status_code == 401
