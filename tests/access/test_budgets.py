"""Time entries, budgets per month/quarter, usage on the community page, and the board order."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from app.audit.models import Event
from app.budget import service as budgets
from app.budget.models import TimeEntry, TimeEntryCreate
from app.community.models import BudgetPeriod
from app.ticket.models import Ticket
from app.ticket.triage import Tier
from app.user.models import StaffRole
from tests.factories import (
    bearer,
    make_community,
    make_ticket,
    make_token,
    make_user,
    principal_for,
)
from tests.pages.conftest import sign_in


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(list(BudgetPeriod)),
)
def test_period_contains_its_instant_and_tiles_the_calendar(at, period):
    start, end = budgets.period_bounds(period, at)
    assert start <= at < end
    assert start.day == 1 and start.hour == 0 and end.day == 1
    months = (end.year - start.year) * 12 + end.month - start.month
    assert months == (1 if period == BudgetPeriod.month else 3)
    if period == BudgetPeriod.quarter:
        assert start.month in (1, 4, 7, 10)
    # The next period starts exactly where this one ends.
    assert budgets.period_bounds(period, end)[0] == end


def test_period_bounds_examples():
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert budgets.period_bounds("month", at) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert budgets.period_bounds("quarter", at) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert budgets.period_bounds("month", datetime(2026, 12, 31, 23, 59, tzinfo=UTC))[
        1
    ] == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "budget,used,expected",
    [(None, 5, None), (10, 0, True), (10, 9.99, True), (10, 10, False), (0, 0, False)],
)
def test_budget_state(budget, used, expected):
    assert budgets.budget_state(budget, used) is expected


async def _rank_tier(session, ticket_id: int) -> int:
    key = (
        await session.exec(
            select(Ticket.rank_key)
            .where(Ticket.id == ticket_id)
            .execution_options(populate_existing=True)
        )
    ).one()
    return int(key[2])


async def test_logging_time_uses_budget_and_moves_the_community_to_the_back(session):
    agent = await make_user(session, StaffRole.agent)
    c = await make_community(session, "gamma", reps=("rep@g.example",), budget_hours=1.0)
    t1 = await make_ticket(session, c, requester_email="rep@g.example")
    t2 = await make_ticket(session, c, requester_email="rep@g.example", title="Second")
    assert await _rank_tier(session, t2.id) == Tier.budget_left
    await budgets.log_time(
        session, t1.id, TimeEntryCreate(minutes=45, note="debugging"), actor=principal_for(agent)
    )
    b = await budgets.budget_of(session, c)
    assert (b.used_hours, b.left_hours, b.over_budget) == (0.75, 0.25, False)
    await budgets.log_time(session, t1.id, TimeEntryCreate(minutes=15), actor=principal_for(agent))
    b = await budgets.budget_of(session, c)
    assert b.over_budget and b.left_hours == 0
    # Both of the community's open tickets now rank as over budget: last among equals.
    assert await _rank_tier(session, t2.id) == Tier.over_budget
    assert await _rank_tier(session, t1.id) == Tier.over_budget
    events = (
        await session.exec(select(Event.data).where(Event.kind == "ticket.time_logged"))
    ).all()
    assert [e["minutes"] for e in events] == [45, 15]


@pytest.mark.now(
    "2026-03-01T00:30:00+00:00"
)  # just after a month began: the earlier period is one minute back
async def test_time_in_an_earlier_period_does_not_count(session):
    agent = await make_user(session, StaffRole.agent)
    c = await make_community(session, budget_hours=2.0, budget_period=BudgetPeriod.month)
    t = await make_ticket(session, c)
    start, _ = budgets.period_bounds("month", datetime.now(UTC))
    await budgets.log_time(
        session,
        t.id,
        TimeEntryCreate(minutes=600, spent_at=start - timedelta(minutes=1)),
        actor=principal_for(agent),
    )
    assert (await budgets.budget_of(session, c)).used_hours == 0


async def test_funded_beats_budget_and_board_says_why(client, session):
    admin = await make_user(session, StaffRole.admin)
    funded = await make_community(session, "funded", reps=("f@x.example",), funded=True)
    over = await make_community(session, "over", reps=("o@x.example",), budget_hours=0.0)
    plain = await make_community(session, "plain", reps=("p@x.example",))
    t_over = await make_ticket(
        session, over, requester_email="o@x.example", title="Over budget ask"
    )
    t_plain = await make_ticket(session, plain, requester_email="p@x.example", title="Plain ask")
    t_funded = await make_ticket(session, funded, requester_email="f@x.example", title="Funded ask")
    token = await make_token(session, admin)
    res = await client.get("/api/v1/tickets", headers=bearer(token))
    order = [i["title"] for i in res.json()["items"]]
    assert order == ["Funded ask", "Plain ask", "Over budget ask"]
    reasons = {i["title"]: i["priority_reasons"] for i in res.json()["items"]}
    assert "funded request" in reasons["Funded ask"]
    assert "community is over its support budget" in reasons["Over budget ask"]
    assert {t_over.id, t_plain.id, t_funded.id}


async def test_time_entries_api(client, session):
    agent = await make_user(session, StaffRole.agent)
    viewer = await make_user(session, StaffRole.viewer)
    c = await make_community(session, "delta", budget_hours=10)
    t = await make_ticket(session, c)
    token = await make_token(session, agent)
    res = await client.post(
        f"/api/v1/tickets/{t.id}/time-entries",
        json={"minutes": 30, "note": "triage"},
        headers=bearer(token),
    )
    assert res.status_code == 201, res.text
    assert (
        res.json()["minutes"] == 30
        and res.json()["community_id"] == c.id
        and res.json()["user_name"] == agent.name
    )
    for bad in ({"minutes": 0}, {"minutes": 1441}, {"minutes": "lots"}, {}):
        r = await client.post(
            f"/api/v1/tickets/{t.id}/time-entries", json=bad, headers=bearer(token)
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid"
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = await client.post(
        f"/api/v1/tickets/{t.id}/time-entries",
        json={"minutes": 5, "spent_at": future},
        headers=bearer(token),
    )
    assert r.status_code == 422 and r.json()["code"] == "future_time"
    viewer_token = await make_token(session, viewer)
    r = await client.post(
        f"/api/v1/tickets/{t.id}/time-entries", json={"minutes": 5}, headers=bearer(viewer_token)
    )
    assert r.status_code == 403
    assert len((await session.exec(select(TimeEntry))).all()) == 1
    listed = await client.get(f"/api/v1/tickets/{t.id}/time-entries", headers=bearer(viewer_token))
    assert [e["minutes"] for e in listed.json()] == [30]
    budget = (
        await client.get("/api/v1/communities/delta/budget", headers=bearer(viewer_token))
    ).json()
    assert (
        budget["used_hours"] == 0.5 and budget["budget_hours"] == 10 and budget["period"] == "month"
    )


async def test_setting_a_budget_is_audited_and_needs_communities_write(client, session):
    admin = await make_user(session, StaffRole.admin)
    triager = await make_user(session, StaffRole.triager)
    await make_community(session, "eps")
    r = await client.put(
        "/api/v1/communities/eps/budget",
        json={"budget_hours": 20, "budget_period": "quarter", "funded": True},
        headers=bearer(await make_token(session, triager)),
    )
    assert r.status_code == 403
    r = await client.put(
        "/api/v1/communities/eps/budget",
        json={"budget_hours": 20, "budget_period": "quarter", "funded": True},
        headers=bearer(await make_token(session, admin)),
    )
    assert r.status_code == 200 and r.json()["period"] == "quarter" and r.json()["funded"] is True
    event = (await session.exec(select(Event).where(Event.kind == "community.budget_set"))).one()
    assert event.actor_id == admin.id and event.data["changes"]["budget_hours"] == {
        "before": None,
        "after": 20,
    }
    r = await client.put(
        "/api/v1/communities/eps/budget",
        json={"budget_hours": -1},
        headers=bearer(await make_token(session, admin)),
    )
    assert r.status_code == 422


async def test_community_pages_show_usage_bars(client, session):
    admin = await make_user(session, StaffRole.admin)
    c = await make_community(session, "zeta", name="Zeta Org", budget_hours=2)
    t = await make_ticket(session, c)
    await budgets.log_time(
        session,
        t.id,
        TimeEntryCreate(minutes=90, note="fixed the <b>thing</b>"),
        actor=principal_for(admin),
    )
    csrf = await sign_in(client, admin.email)
    page = (await client.get("/communities")).text
    assert "Zeta Org" in page and "1.5 of 2.0 h this month" in page and "<progress" in page
    page = (await client.get("/communities/zeta")).text
    assert "1h 30m" in page and "fixed the &lt;b&gt;thing&lt;/b&gt;" in page
    res = await client.post(
        "/communities/zeta/budget",
        data={"budget_hours": "1", "budget_period": "month", "csrf_token": csrf},
    )
    assert res.status_code == 303
    assert "over budget" in (await client.get("/communities/zeta")).text
    # The ticket page logs time too.
    res = await client.post(
        f"/tickets/{t.id}/time", data={"minutes": "15", "note": "call", "csrf_token": csrf}
    )
    assert res.status_code == 303
    assert "Time spent · 1h 45m" in (await client.get(f"/tickets/{t.id}")).text
    bad = await client.post(f"/tickets/{t.id}/time", data={"minutes": "0", "csrf_token": csrf})
    assert bad.status_code == 422


async def test_a_mistyped_time_entry_is_corrected_or_deleted_and_the_budget_follows(
    client, session
):
    agent = await make_user(session, StaffRole.agent)
    viewer = await make_user(session, StaffRole.viewer)
    c = await make_community(session, "zeta", budget_hours=1)
    t = await make_ticket(session, c)
    other = await make_ticket(session, c)
    token, viewer_token = await make_token(session, agent), await make_token(session, viewer)
    entry = (
        await client.post(
            f"/api/v1/tickets/{t.id}/time-entries", json={"minutes": 600}, headers=bearer(token)
        )
    ).json()
    budget = (await client.get("/api/v1/communities/zeta/budget", headers=bearer(token))).json()
    assert budget["over_budget"] is True

    url = f"/api/v1/tickets/{t.id}/time-entries/{entry['id']}"
    fixed = await client.patch(
        url, json={"minutes": 30, "note": "was 30, not 600"}, headers=bearer(token)
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["minutes"] == 30 and fixed.json()["note"] == "was 30, not 600"
    budget = (await client.get("/api/v1/communities/zeta/budget", headers=bearer(token))).json()
    assert budget["used_hours"] == 0.5 and budget["over_budget"] is False
    event = (await session.exec(select(Event).where(Event.kind == "ticket.time_corrected"))).one()
    assert (
        event.data["before"] == {"minutes": 600, "note": ""}
        and event.data["after"]["minutes"] == 30
    )

    # Bad input changes nothing: a bad value, the future, a viewer, the entry under another ticket.
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for body, want in (({"minutes": 0}, 422), ({"spent_at": future}, 422)):
        assert (await client.patch(url, json=body, headers=bearer(token))).status_code == want
    assert (
        await client.patch(url, json={"minutes": 5}, headers=bearer(viewer_token))
    ).status_code == 403
    unchanged = await client.patch(url, json={}, headers=bearer(token))
    assert unchanged.status_code == 200 and unchanged.json()["minutes"] == 30
    assert (
        len((await session.exec(select(Event).where(Event.kind == "ticket.time_corrected"))).all())
        == 1
    )
    assert (await client.delete(url, headers=bearer(viewer_token))).status_code == 403
    wrong = f"/api/v1/tickets/{other.id}/time-entries/{entry['id']}"
    res = await client.delete(wrong, headers=bearer(token))
    assert res.status_code == 404 and res.json()["code"] == "unknown_time_entry"
    assert [e.minutes for e in (await session.exec(select(TimeEntry))).all()] == [30]

    assert (await client.delete(url, headers=bearer(token))).status_code == 204
    assert (await session.exec(select(TimeEntry))).all() == []
    budget = (await client.get("/api/v1/communities/zeta/budget", headers=bearer(token))).json()
    assert budget["used_hours"] == 0
    assert (await client.delete(url, headers=bearer(token))).status_code == 404


async def test_the_ticket_page_deletes_a_time_entry_with_its_form_token(client, session):
    agent = await make_user(session, StaffRole.agent)
    t = await make_ticket(session, await make_community(session, "eta", budget_hours=5))
    entry = await budgets.log_time(
        session, t.id, TimeEntryCreate(minutes=45), actor=principal_for(agent)
    )
    csrf = await sign_in(client, agent.email)
    page = await client.get(f"/tickets/{t.id}")
    assert f"/tickets/{t.id}/time/{entry.id}/delete" in page.text
    res = await client.post(
        f"/tickets/{t.id}/time/{entry.id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert res.status_code == 303
    assert (await session.exec(select(TimeEntry))).all() == []
