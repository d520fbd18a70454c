"""The SLA report: attainment and first-response percentiles, grouped, as JSON, CSV and a page."""

import csv
import io
from datetime import UTC, datetime, timedelta

from app.sla.reports import sla_report
from app.sla.views import bar_chart
from app.ticket.enums import Channel
from app.ticket.models import MessageCreate, Ticket
from app.ticket.service import post_message
from app.user.models import StaffRole
from tests.factories import (
    bearer,
    make_community,
    make_ticket,
    make_token,
    make_user,
    principal_for,
)


async def _history(session, clock):
    """Four GitHub tickets answered after 30, 60, 120 and 240 business minutes (target 180),
    two e-mails: one answered after 60 min, one never (overdue once 8 business hours pass)."""
    agent = await make_user(session, "agent")
    acme = await make_community(session, "acme", name="Acme", reps=("r@acme.example",))
    start = clock.now
    for minutes in (30, 60, 120, 240):
        clock.set(start)
        t = await make_ticket(
            session, acme, requester_email="r@acme.example", channel=Channel.github
        )
        clock.set(start + timedelta(minutes=minutes))
        await post_message(session, t.id, MessageCreate(body="Hi"), actor=principal_for(agent))
    clock.set(start)
    e1 = await make_ticket(session, channel=Channel.email)
    await make_ticket(session, channel=Channel.email)
    clock.set(start + timedelta(minutes=60))
    await post_message(session, e1.id, MessageCreate(body="Hi"), actor=principal_for(agent))
    return start


async def test_attainment_and_percentiles_by_channel(session, clock):
    start = await _history(session, clock)
    report = await sla_report(session, by="channel", now=start + timedelta(days=1))
    rows = {r.key: r for r in report.rows}
    gh, em = rows["github"], rows["email"]
    assert gh.tickets == 4 and em.tickets == 2
    fr = gh.targets["first_response"]
    assert (fr.decided, fr.met, fr.attainment) == (4, 3, 75.0)
    # Nearest rank: median of [30, 60, 120, 240] min is the 2nd value, p90 the 4th.
    assert gh.first_response_p50_s == 60 * 60 and gh.first_response_p90_s == 240 * 60
    em_fr = em.targets["first_response"]
    assert (em_fr.decided, em_fr.met) == (2, 1)  # the unanswered one is overdue by now
    assert report.overall.targets["first_response"].decided == 6
    assert report.overall.first_response_p50_s == 60 * 60  # [30, 60, 60, 120, 240] → 3rd
    # Before the e-mail is due, the unanswered one is not decided yet.
    early = await sla_report(session, by="channel", now=start + timedelta(hours=5))
    assert {r.key: r for r in early.rows}["email"].targets["first_response"].decided == 1


async def test_other_groupings_and_range(session, clock):
    start = await _history(session, clock)
    by_comm = await sla_report(session, by="community", now=start + timedelta(days=1))
    assert {r.label: r.tickets for r in by_comm.rows} == {"Acme": 4, "No community": 2}
    by_crit = await sla_report(session, by="criticality", now=start)
    assert [r.label for r in by_crit.rows] == ["Not classified"]
    # Classifying a ticket moves its clocks to that criticality's row (the report reads copies).
    from app.ticket.enums import Criticality
    from app.ticket.models import TicketUpdate
    from app.ticket.service import update_ticket
    from tests.factories import principal_for

    await update_ticket(
        session,
        1,
        TicketUpdate(criticality=Criticality.critical),
        actor=principal_for(await make_user(session, "triager")),
    )
    by_crit = await sla_report(session, by="criticality", now=start + timedelta(days=1))
    assert {r.label: r.targets["first_response"].decided for r in by_crit.rows} == {
        "C1 critical": 1,
        "Not classified": 5,
    }
    by_month = await sla_report(session, by="month", now=start)
    assert [r.key for r in by_month.rows] == ["2026-11"]
    empty = await sla_report(session, by="week", start=start + timedelta(days=1), now=start)
    assert empty.rows == [] and empty.overall.tickets == 0


async def test_api_json_csv_and_errors(client, session, clock):
    await _history(session, clock)
    clock.advance(days=1)
    auth = bearer(await make_token(session, await make_user(session, StaffRole.viewer)))
    res = await client.get(
        "/api/v1/reports/sla",
        params={"by": "channel", "from": "2026-11-23", "to": "2026-11-23"},
        headers=auth,
    )
    assert res.status_code == 200
    body = res.json()
    gh = next(r for r in body["rows"] if r["key"] == "github")
    assert gh["targets"]["first_response"]["attainment_pct"] == 75.0
    assert gh["first_response_median_seconds"] == 3600
    res = await client.get("/api/v1/reports/sla", params={"format": "csv"}, headers=auth)
    assert res.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(res.text)))
    assert rows[-1]["channel"] == "All tickets" and rows[-1]["tickets"] == "6"
    assert (
        next(r for r in rows if r["channel"] == "github")["first_response_attainment_pct"] == "75.0"
    )
    assert (
        await client.get("/api/v1/reports/sla", params={"by": "colour"}, headers=auth)
    ).status_code == 422
    assert (
        await client.get("/api/v1/reports/sla", params={"from": "yesterday"}, headers=auth)
    ).status_code == 422
    res = await client.get(
        "/api/v1/reports/sla", params={"from": "2026-11-24", "to": "2026-11-01"}, headers=auth
    )
    assert res.status_code == 422 and res.json()["code"] == "bad_range"
    assert (await client.get("/api/v1/reports/sla")).status_code == 401


async def test_reports_page_draws_charts(client, session, csrf, clock):
    await _history(session, clock)
    page = await client.get("/reports", params={"by": "channel"})
    assert page.status_code == 200
    assert page.text.count('<svg class="chart"') == 2 and "First response on time" in page.text
    frag = await client.get("/reports", params={"by": "community"}, headers={"HX-Request": "true"})
    assert frag.text.lstrip().startswith('<section id="report"') and "Acme" in frag.text
    res = await client.get("/reports/sla.csv", params={"by": "community"})
    assert res.status_code == 200 and "Acme" in res.text
    assert (await client.get("/reports", params={"by": "nope"})).status_code == 422


def test_chart_escapes_labels_and_scales():
    svg = bar_chart([("<script>", [50.0, None])], ["a", "b"], max_value=100, title="t")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "no data" in svg
    assert bar_chart([], ["a"]) == ""


def test_histogram_rank_is_nearest_rank():
    from app.sla.reports import histogram_rank

    assert histogram_rank({30: 1, 60: 1, 120: 1, 240: 1}, 50) == 60
    assert histogram_rank({30: 1, 60: 1, 120: 1, 240: 1}, 90) == 240
    assert histogram_rank({5: 10}, 90) == 5
    assert histogram_rank({1: 9, 100: 1}, 90) == 1 and histogram_rank({1: 9, 100: 1}, 91) == 100


async def test_week_keys_are_iso_weeks_on_every_database(session):
    """Grouping by week gives the same key on SQLite and PostgreSQL: the ISO 8601 week,
    including the days around New Year that belong to the other year's week 1 or 52/53."""
    from sqlalchemy import literal, select

    from app.sla.reports import iso_week

    dialect = session.bind.dialect.name
    days = [
        datetime(2020, 12, 31, 12, tzinfo=UTC),
        datetime(2021, 1, 3, tzinfo=UTC),
        datetime(2024, 12, 30, tzinfo=UTC),
        datetime(2026, 11, 23, 23, 59, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    ]
    days += [
        datetime(2000, 1, 1, tzinfo=UTC) + timedelta(days=n, hours=n % 24)
        for n in range(0, 12000, 97)
    ]
    stored_as = Ticket.__table__.c.created_at.type  # bound the way ticket timestamps are stored
    for at in days:
        got = (await session.exec(select(iso_week(dialect, literal(at, type_=stored_as))))).one()[0]
        year, week, _ = at.isocalendar()
        assert got == f"{year:04d}-W{week:02d}", (at, got)
