"""Slack in: Slack's own request samples, its signing scheme and replay window, commands, events, reactions."""

import copy
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from sqlmodel import select

from app.errors import Unauthorized
from app.integrations.slack import reaction_table, verify_request
from app.ticket.models import Message, Ticket
from app.ticket.service import tags_by_ticket
from app.user.models import User
from tests.factories import make_user

SAMPLES = Path(__file__).parent / "payloads" / "slack"
SECRET = "slack-test-secret"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def event(name: str, **changes) -> dict:
    data = json.loads(sample(name))
    data["event"].update(changes.pop("event", {}))
    data.update(changes)
    return data


@pytest.fixture(autouse=True)
def slack_settings(monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("FIRSTLINE_SLACK_CHANNELS", "C123ABC456, C0OTHER")
    get_integration_settings.cache_clear()


def signed(body: bytes, *, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig}


async def post_event(client, payload: dict, **kw):
    body = json.dumps(payload).encode()
    return await client.post(
        "/api/v1/integrations/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **signed(body, **kw)},
    )


async def tickets(session) -> list[Ticket]:
    return list(
        (
            await session.exec(
                select(Ticket).order_by(Ticket.id).execution_options(populate_existing=True)
            )
        ).all()
    )


def test_slacks_published_signing_example_verifies():
    body = sample("signing-example.txt")
    verify_request(
        "8f742231b10e8888abcd99yyyzzz85a5",
        "1531420618",
        body,
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        now=1531420618 + 60,
    )
    with pytest.raises(Unauthorized) as stale:
        verify_request(
            "8f742231b10e8888abcd99yyyzzz85a5",
            "1531420618",
            body,
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            now=1531420618 + 301,
        )
    assert stale.value.code == "stale_request"
    with pytest.raises(Unauthorized):
        verify_request(
            "8f742231b10e8888abcd99yyyzzz85a5",
            "1531420618",
            body + b"&x=1",
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            now=1531420618,
        )


async def test_url_verification_is_answered(client):
    r = await post_event(client, json.loads(sample("url_verification.json")))
    assert r.status_code == 200 and r.json() == {
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    }


async def test_bad_signature_and_stale_timestamp_are_401_and_change_nothing(session, client):
    body = json.dumps(event("message.json")).encode()
    wrong = await client.post(
        "/api/v1/integrations/slack/events", content=body, headers=signed(body, secret="nope")
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_signature"
    old = await client.post(
        "/api/v1/integrations/slack/events",
        content=body,
        headers=signed(body, ts=int(time.time()) - 301),
    )
    assert old.status_code == 401 and old.json()["code"] == "stale_request"
    assert (await client.post("/api/v1/integrations/slack/events", content=body)).status_code == 401
    assert await tickets(session) == []


async def test_slash_command_opens_a_ticket_and_answers_key_and_link(session, client):
    body = sample("slash-command.txt")
    r = await client.post(
        "/api/v1/integrations/slack/commands",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **signed(body)},
    )
    assert r.status_code == 200, r.text
    assert (
        "SUP-1" in r.json()["text"]
        and "/tickets/1|Notebook server fails to start>" in r.json()["text"]
    )
    [ticket] = await tickets(session)
    assert (
        ticket.channel == "slack"
        and ticket.body == "Notebook server fails to start\nEvery user gets a 504"
    )
    requester = await session.get(User, ticket.requester_id)
    assert requester.slack_user_id == "U2147483697" and requester.name == "Steve"
    empty = body.replace(b"text=Notebook+server+fails+to+start%0AEvery+user+gets+a+504", b"text=")
    r = await client.post(
        "/api/v1/integrations/slack/commands", content=empty, headers=signed(empty)
    )
    assert r.status_code == 200 and "Usage" in r.json()["text"] and len(await tickets(session)) == 1


async def test_channel_messages_open_tickets_and_thread_replies_are_messages(session, client):
    r = await post_event(client, event("message.json"))
    assert r.json()["result"] == "created"
    reply = event(
        "message.json",
        event_id="Ev2",
        event={
            "ts": "1355517600.000001",
            "thread_ts": "1355517523.000005",
            "user": "U777",
            "text": "Same here",
        },
    )
    assert (await post_event(client, reply)).json()["result"] == "message"
    elsewhere = event("message.json", event_id="Ev3", event={"channel": "CRANDOM", "ts": "1.2"})
    assert (await post_event(client, elsewhere)).json()["result"] == "ignored"
    bot = event("message.json", event_id="Ev4", event={"bot_id": "B1", "ts": "1.3"})
    assert (await post_event(client, bot)).json()["result"] == "ignored"
    [ticket] = await tickets(session)
    assert ticket.title == "Live long and prospect."
    [message] = (await session.exec(select(Message))).all()
    assert message.body == "Same here" and message.channel == "slack"


async def test_retried_event_changes_nothing(session, client):
    payload = event("message.json")
    await post_event(client, payload)
    again = await post_event(client, payload)
    assert again.json()["result"] == "duplicate"
    assert len(await tickets(session)) == 1


async def test_reactions_claim_and_tag_per_the_table(session, client):
    staff = await make_user(session, "agent", name="Sam")
    staff.slack_user_id = "U999STAFF"
    from app.db import transaction

    async with transaction(session):
        session.add(staff)
    await post_event(client, event("message.json"))
    r = await post_event(client, event("reaction_added.json"))
    assert r.json()["result"] == "claimed"
    [ticket] = await tickets(session)
    assert ticket.claimed_by_id == staff.id
    bug = event("reaction_added.json", event_id="EvBug", event={"reaction": "bug"})
    assert (await post_event(client, bug)).json()["detail"] == "+bug"
    assert (await tags_by_ticket(session, [ticket.id]))[ticket.id] == ["bug"]
    removed = copy.deepcopy(bug)
    removed["event_id"], removed["event"]["type"] = "EvBugOff", "reaction_removed"
    await post_event(client, removed)
    assert (await tags_by_ticket(session, [ticket.id]))[ticket.id] == []
    # a requester's reaction, or an emoji with no meaning, does nothing
    stranger = event(
        "reaction_added.json", event_id="EvS", event={"user": "U123ABC456", "reaction": "bug"}
    )
    assert (await post_event(client, stranger)).json()["result"] == "ignored"
    party = event("reaction_added.json", event_id="EvP", event={"reaction": "tada"})
    assert (await post_event(client, party)).json()["result"] == "ignored"
    assert (await tags_by_ticket(session, [ticket.id]))[ticket.id] == []


async def test_malformed_events_are_422(session, client):
    r = await post_event(client, {"type": "event_callback", "event_id": "Ev9"})
    assert r.status_code == 422 and r.json()["code"] == "bad_payload"
    body = b"not json"
    r = await client.post("/api/v1/integrations/slack/events", content=body, headers=signed(body))
    assert r.status_code == 422
    assert await tickets(session) == []


def test_reaction_table_parsing():
    assert reaction_table("eyes=claim, :bug:=tag:bug,broken,x=delete") == {
        "eyes": "claim",
        "bug": "tag:bug",
    }
