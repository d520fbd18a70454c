"""The #support tiers from Slack (support-channel-tiers.md): @oncall / @dev911 set the urgency,
each tier escalates when unanswered (20 minutes for "no tag" too), the chain pages whoever holds a
rota role now, and no reaction answers 500."""

import json
from datetime import timedelta
from urllib.parse import quote_plus

import pytest
from sqlmodel import col, select

from app.audit.models import Event
from app.db import transaction, utcnow
from app.escalation.service import run_escalations
from app.incident.config import get_incident_settings
from app.outbox.models import OutboxMessage
from app.ticket.models import MessageCreate, Ticket
from app.ticket.service import post_message
from tests.factories import make_user, principal_for
from tests.integrations.test_slack_inbound import event, post_event, sample, signed, slack_settings  # noqa: F401
from tests.rota.conftest import make_schedule


async def tickets(session) -> list[Ticket]:
    stmt = select(Ticket).order_by(col(Ticket.id)).execution_options(populate_existing=True)
    return list((await session.exec(stmt)).all())


async def slash(client, text: str):
    body = sample("slash-command.txt").replace(
        b"text=Notebook+server+fails+to+start%0AEvery+user+gets+a+504",
        b"text=" + quote_plus(text).encode(),
    )
    r = await client.post(
        "/api/v1/integrations/slack/commands",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **signed(body)},
    )
    assert r.status_code == 200, r.text
    return r


@pytest.fixture(autouse=True)
def fresh_incident_settings():
    get_incident_settings.cache_clear()
    yield
    get_incident_settings.cache_clear()


async def test_slash_command_tags_set_the_tier(session, client):
    await slash(client, "@oncall app is down for ACME")
    await slash(client, "@dev911 app is down for everyone")
    await slash(client, "where can I find the export settings?")
    assert [t.urgency for t in await tickets(session)] == ["urgent", "emergency", "normal"]


async def test_channel_messages_with_a_group_mention_set_the_tier(session, client, monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_SLACK_URGENT_HANDLES", "support-oncall, S0ONCALL")
    get_integration_settings.cache_clear()
    # Slack sends a user-group mention as <!subteam^ID|@handle>; the handle may be renamed, the id stays.
    await post_event(
        client,
        event("message.json", event={"text": "<!subteam^S0ONCALL|@oncall> report totals wrong"}),
    )
    await post_event(
        client,
        event("message.json", event_id="Ev2", event={"ts": "2.1", "text": "@dev911 all down"}),
    )
    await post_event(
        client, event("message.json", event_id="Ev3", event={"ts": "2.2", "text": "@oncall typed"})
    )
    assert [t.urgency for t in await tickets(session)] == ["urgent", "emergency", "normal"]


async def test_no_tag_question_unanswered_for_20_minutes_escalates(session, client, clock):
    leo = await make_user(session, "triager", name="Leo", email="leo@desk.example")
    await make_schedule(session, [leo])
    await post_event(client, event("message.json", event={"text": "Where is the XYZ report?"}))
    answered = event(
        "message.json", event_id="Ev2", event={"ts": "3.1", "text": "Why is this odd?"}
    )
    await post_event(client, answered)
    first, second = await tickets(session)
    assert first.urgency == "normal" and first.status == "new"
    await post_message(session, second.id, MessageCreate(body="Looking"), actor=principal_for(leo))
    clock.shift(timedelta(minutes=19))
    assert await run_escalations(session, utcnow()) == 0
    clock.shift(timedelta(minutes=1, seconds=1))
    assert await run_escalations(session, utcnow()) == 1  # the answered one does not escalate
    [page] = (await session.exec(select(Event).where(Event.kind == "ticket.escalated"))).all()
    assert (
        page.ticket_id == first.id
        and page.data["role"] == "triager"
        and page.data["paged"] == ["Leo"]
    )
    [mail] = [
        m
        for m in (await session.exec(select(OutboxMessage))).all()
        if m.payload.get("subject", "").startswith("[Escalation]")
    ]
    assert mail.payload["to"] == ["leo@desk.example"]


async def test_chain_step_lead_pages_whoever_holds_the_lead_role_now(session, clock, monkeypatch):
    from tests.factories import make_community, make_ticket

    ana = await make_user(session, "triager", name="Ana", email="ana@desk.example")
    bo = await make_user(session, "triager", name="Bo", email="bo@desk.example")
    lee = await make_user(session, "admin", name="Lee", email="lee@desk.example")
    max_ = await make_user(session, "admin", name="Max", email="max@desk.example")
    await make_schedule(session, [ana, bo], roles={"lead": [lee, max_], "responder": [bo]})
    community = await make_community(session, reps=("rep@c.example",))
    ticket = await make_ticket(session, community, requester_email="rep@c.example")
    clock.shift(timedelta(minutes=20, seconds=1))
    assert await run_escalations(session, utcnow()) == 1
    clock.shift(timedelta(minutes=10))
    assert await run_escalations(session, utcnow()) == 1
    steps = [
        e.data
        for e in (
            await session.exec(
                select(Event)
                .where(Event.kind == "ticket.escalated", Event.ticket_id == ticket.id)
                .order_by(col(Event.id))
            )
        ).all()
    ]
    assert [s["role"] for s in steps] == ["triager", "lead"]
    from app.oncall import on_call_user_ids

    holder = await on_call_user_ids(session, "lead", utcnow())
    assert len(holder) == 1 and holder[0] in (lee.id, max_.id)
    assert steps[1]["paged_ids"] == holder


def test_a_tier_policy_must_name_minutes_and_roles(monkeypatch):
    from pydantic import ValidationError

    from app.incident.config import IncidentSettings

    assert IncidentSettings().ticket_policy("normal").minutes == 20
    assert IncidentSettings().ticket_policy("emergency").chain == ("responder", "lead")
    monkeypatch.setenv("FIRSTLINE_ESCALATION_NORMAL", "soon:triager")
    with pytest.raises(ValidationError):
        IncidentSettings()


@pytest.mark.parametrize(
    "change",
    [
        {"item": "1355517523.000005"},  # not an object
        {"item": None},
        {
            "item": {"type": "message", "channel": "C123ABC456", "ts": "1355517523.000005"},
            "user": None,
        },
        {
            "item": {"type": "message", "channel": "C123ABC456", "ts": "1355517523.000005"},
            "user": "",
        },
        {"reaction": None},
        {"reaction": ["eyes"]},
        {"item": {"type": "message", "channel": ["C1"], "ts": {"x": 1}}},
        {"item": {"type": "file", "file": "F1"}},
    ],
)
async def test_no_reaction_answers_500(session, client, change):
    staff = await make_user(session, "agent", name="Sam")
    staff.slack_user_id = "U999STAFF"
    async with transaction(session):
        session.add(staff)
    await post_event(client, event("message.json"))
    payload = json.loads(sample("reaction_added.json"))
    payload["event"].update(change)
    r = await post_event(client, payload)
    assert r.status_code < 500, r.text
    assert r.status_code in (200, 422)


async def test_removing_a_claim_nobody_made_is_no_error(session, client):
    staff = await make_user(session, "agent", name="Sam")
    staff.slack_user_id = "U999STAFF"
    async with transaction(session):
        session.add(staff)
    await post_event(client, event("message.json"))
    removed = event("reaction_added.json")
    removed["event"]["type"] = "reaction_removed"
    r = await post_event(client, removed)
    assert r.status_code == 200
