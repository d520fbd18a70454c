"""Replies go back where the request came from, against real HTTP servers on loopback standing in
for GitHub's REST API and Slack's Web API; echoes and replays change nothing; a second 👀 is a 200."""

import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from app.db import transaction, utcnow
from app.integrations.models import InboundDelivery, ReplyDelivery
from app.outbox.delivery import deliver_due
from app.outbox.models import OutboxMessage
from app.ticket.enums import MessageKind, Status
from app.ticket.models import Message, MessageCreate, Ticket, TicketUpdate
from app.ticket.service import post_message, update_ticket
from tests.factories import bearer, make_token, make_user, principal_for
from tests.pages.conftest import sign_in

PAYLOADS = Path(__file__).parent / "payloads"
GH_SECRET, SLACK_SECRET = "gh-secret", "slack-secret"
COMMENT = {
    "id": 9001,
    "html_url": "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-9001",
}


@pytest.fixture
def fake_github(receiver, monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_GITHUB_API_URL", receiver.url.removesuffix("/hook") + "/api/v3")
    monkeypatch.setenv("FIRSTLINE_GITHUB_TOKEN", "github_pat_test")
    monkeypatch.setenv("FIRSTLINE_GITHUB_WEBHOOK_SECRET", GH_SECRET)
    get_integration_settings.cache_clear()
    receiver.status = [201]
    receiver.reply = json.dumps(COMMENT).encode()
    return receiver


@pytest.fixture
def fake_slack(receiver, monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_SLACK_API_URL", receiver.url.removesuffix("/hook") + "/api")
    monkeypatch.setenv("FIRSTLINE_SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("FIRSTLINE_SLACK_SIGNING_SECRET", SLACK_SECRET)
    monkeypatch.setenv("FIRSTLINE_SLACK_CHANNELS", "C123ABC456")
    get_integration_settings.cache_clear()
    receiver.reply = json.dumps(
        {"ok": True, "channel": "C123ABC456", "ts": "1355517600.000100"}
    ).encode()
    return receiver


def gh_sample(name: str) -> dict:
    return json.loads((PAYLOADS / "github" / f"{name}.json").read_text())


def slack_sample(name: str, **event) -> dict:
    data = json.loads((PAYLOADS / "slack" / name).read_text())
    data["event"].update(event)
    return data


async def github_hook(
    client, event: str, payload: dict, *, delivery: str | None = None, body: bytes | None = None
):
    body = body or json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(GH_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return await client.post(
        "/api/v1/integrations/github",
        content=body,
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": sig,
            "Content-Type": "application/json",
        },
    )


def slack_signed(body: bytes) -> dict[str, str]:
    ts = int(time.time())
    sig = (
        "v0="
        + hmac.new(SLACK_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    )
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig}


async def slack_event(client, payload: dict):
    body = json.dumps(payload).encode()
    return await client.post(
        "/api/v1/integrations/slack/events",
        content=body,
        headers={"Content-Type": "application/json", **slack_signed(body)},
    )


async def the_ticket(session) -> Ticket:
    return (await session.exec(select(Ticket).execution_options(populate_existing=True))).one()


async def count(session, model, *where) -> int:
    return (await session.exec(select(func.count()).select_from(model).where(*where))).one()


async def staff_reply(session, ticket_id: int, text: str, kind=MessageKind.public) -> Message:
    agent = await make_user(session, "agent", name="Ada")
    return await post_message(
        session, ticket_id, MessageCreate(body=text, kind=kind), actor=principal_for(agent)
    )


async def outbox(session, topic: str) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
    return list((await session.exec(stmt.execution_options(populate_existing=True))).all())


async def test_reply_on_a_github_ticket_becomes_a_comment_and_its_echo_is_dropped(
    session, client, fake_github
):
    assert (await github_hook(client, "issues", gh_sample("issues.opened"))).json()[
        "result"
    ] == "created"
    ticket = await the_ticket(session)
    await staff_reply(
        session, ticket.id, "Internal: looks like the proxy", kind=MessageKind.internal
    )
    reply = await staff_reply(
        session, ticket.id, "Thanks! Restarting the hub fixed it on our side."
    )
    assert await deliver_due(session, utcnow()) == 1
    [call] = fake_github.requests
    assert call.path == "/api/v3/repos/Codertocat/Hello-World/issues/1/comments"
    assert call.headers["authorization"] == "Bearer github_pat_test"
    assert (
        call.headers["accept"] == "application/vnd.github+json"
        and call.headers["x-github-api-version"]
    )
    assert call.json()["body"].startswith("Thanks! Restarting the hub fixed it on our side.")
    [row] = (await session.exec(select(ReplyDelivery))).all()
    assert (row.message_id, row.external_id) == (reply.id, "9001")

    # GitHub's webhook for our own comment (a fine-grained token posts as a User, not a Bot)
    echo = gh_sample("issue_comment.created")
    echo["comment"].update(id=9001, body=call.json()["body"])
    r = await github_hook(client, "issue_comment", echo)
    assert r.json()["result"] == "ignored", r.text
    echo["comment"].update(
        id=9002
    )  # arriving before the id was recorded: the hidden marker says it is ours
    assert (await github_hook(client, "issue_comment", echo)).json()["result"] == "ignored"
    assert (
        await count(session, Message, Message.ticket_id == ticket.id) == 2
    )  # the note and the reply, once

    agent = await make_user(session, "viewer")
    messages = (
        await client.get(
            f"/api/v1/tickets/{ticket.id}/messages",
            headers=bearer(await make_token(session, agent)),
        )
    ).json()
    sent = next(m for m in messages if m["id"] == reply.id)
    assert sent["delivery"]["state"] == "sent" and sent["delivery"]["channel"] == "github"
    assert next(m for m in messages if m["id"] != reply.id)["delivery"] is None


async def test_github_down_is_retried_then_sent_and_shown_on_the_ticket_page(
    session, client, fake_github
):
    await github_hook(client, "issues", gh_sample("issues.opened"))
    ticket = await the_ticket(session)
    fake_github.status = [500, 201]
    await staff_reply(session, ticket.id, "We are on it.")
    now = utcnow()
    assert await deliver_due(session, now) == 0
    [row] = await outbox(session, "github.comment")
    assert row.status == "pending" and row.attempts == 1 and "HTTP 500" in row.last_error
    staff = await make_user(session, "triager", email="tri@desk.example")
    await sign_in(client, staff.email)
    page = (await client.get(f"/tickets/{ticket.id}")).text
    assert "delivery-queued" in page and "HTTP 500" in page
    assert await deliver_due(session, now + timedelta(seconds=11)) == 1
    assert len(fake_github.requests) == 2
    assert "delivery-sent" in (await client.get(f"/tickets/{ticket.id}")).text


async def test_status_changes_are_commented_unless_they_came_from_github_or_are_turned_off(
    session, client, fake_github, monkeypatch
):
    await github_hook(client, "issues", gh_sample("issues.opened"))
    ticket = await the_ticket(session)
    agent = await make_user(session, "agent")
    await update_ticket(
        session, ticket.id, TicketUpdate(status=Status.open), actor=principal_for(agent)
    )
    [row] = await outbox(session, "github.comment")
    assert "Status: **Open**" in row.payload["text"]
    closed = gh_sample("issues.opened")
    closed.update(action="closed")
    closed["issue"].update(state="closed", state_reason="completed")
    assert (await github_hook(client, "issues", closed)).json()["result"] == "status"
    assert (await the_ticket(session)).status == "resolved"
    assert len(await outbox(session, "github.comment")) == 1  # GitHub knows: it sent us the close

    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_REPLY_STATUS_CHANGES", "false")
    get_integration_settings.cache_clear()
    await update_ticket(
        session, ticket.id, TicketUpdate(status=Status.open), actor=principal_for(agent)
    )
    assert len(await outbox(session, "github.comment")) == 1


async def test_reply_on_a_slack_ticket_goes_to_its_thread_retrying_ok_false_and_429(
    session, client, fake_slack
):
    assert (await slack_event(client, slack_sample("message.json"))).json()["result"] == "created"
    ticket = await the_ticket(session)
    fake_slack.replies = [
        b'{"ok": false, "error": "internal_error"}',
        b'{"ok": false, "error": "ratelimited"}',
        fake_slack.reply,
    ]
    fake_slack.status = [200, 429, 200]
    fake_slack.reply_headers = {"Retry-After": "30"}
    reply = await staff_reply(session, ticket.id, "Can you send the notebook's log?")
    now = utcnow()
    assert await deliver_due(session, now) == 0
    [row] = await outbox(session, "slack.reply")
    assert row.status == "pending" and "internal_error" in row.last_error
    assert await deliver_due(session, now + timedelta(seconds=11)) == 0  # 429, Retry-After: 30
    [row] = await outbox(session, "slack.reply")
    assert row.available_at == now + timedelta(seconds=41)
    assert await deliver_due(session, now + timedelta(seconds=29)) == 0
    assert await deliver_due(session, now + timedelta(seconds=41)) == 1
    call = fake_slack.requests[-1]
    assert (
        call.path == "/api/chat.postMessage" and call.headers["authorization"] == "Bearer xoxb-test"
    )
    assert call.json() == {
        "channel": "C123ABC456",
        "thread_ts": "1355517523.000005",
        "text": "Can you send the notebook's log?",
    }
    [delivery] = (await session.exec(select(ReplyDelivery))).all()
    assert (delivery.message_id, delivery.external_id) == (reply.id, "C123ABC456:1355517600.000100")

    # Slack's event for our own reply: bot_id, and the ts we recorded
    echo = slack_sample(
        "message.json",
        ts="1355517600.000100",
        thread_ts="1355517523.000005",
        bot_id="B01",
        text="Can you send the notebook's log?",
    )
    echo["event_id"] = "EvEcho"
    assert (await slack_event(client, echo)).json()["result"] == "ignored"
    echo["event"].pop("bot_id")
    echo["event_id"] = "EvEcho2"
    assert (await slack_event(client, echo)).json()["result"] == "ignored"
    assert await count(session, Message, Message.ticket_id == ticket.id) == 1


async def test_slack_refusal_is_failed_and_can_be_sent_again_from_the_page_and_the_api(
    session, client, fake_slack
):
    await slack_event(client, slack_sample("message.json"))
    ticket = await the_ticket(session)
    fake_slack.replies = [b'{"ok": false, "error": "channel_not_found"}', fake_slack.reply]
    await staff_reply(session, ticket.id, "Hello?")
    assert await deliver_due(session, utcnow()) == 0
    [row] = await outbox(session, "slack.reply")
    assert row.status == "dead" and "channel_not_found" in row.last_error
    staff = await make_user(session, "triager", email="tri@desk.example")
    csrf = await sign_in(client, staff.email)
    page = (await client.get(f"/tickets/{ticket.id}")).text
    assert (
        "delivery-failed" in page and f"/tickets/{ticket.id}/deliveries/{row.id}/redeliver" in page
    )
    r = await client.post(
        f"/tickets/{ticket.id}/deliveries/{row.id}/redeliver", data={"csrf_token": csrf}
    )
    assert r.status_code == 303
    assert (
        await client.post(
            f"/tickets/{ticket.id + 1}/deliveries/{row.id}/redeliver", data={"csrf_token": csrf}
        )
    ).status_code == 404
    headers = bearer(await make_token(session, staff))
    again = await client.post(f"/api/v1/integrations/replies/{row.id}/redeliver", headers=headers)
    assert again.status_code == 409  # still queued from the page's "Send again"
    assert await deliver_due(session, utcnow()) == 1
    r = await client.post(f"/api/v1/integrations/replies/{row.id}/redeliver", headers=headers)
    assert r.status_code == 200 and r.json()["state"] == "queued" and r.json()["id"] == row.id
    assert (
        await client.post("/api/v1/integrations/replies/999/redeliver", headers=headers)
    ).status_code == 404


async def test_replayed_slack_command_opens_no_second_ticket(session, client, fake_slack):
    body = (PAYLOADS / "slack" / "slash-command.txt").read_bytes()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **slack_signed(body)}
    assert (
        await client.post("/api/v1/integrations/slack/commands", content=body, headers=headers)
    ).status_code == 200
    again = await client.post("/api/v1/integrations/slack/commands", content=body, headers=headers)
    assert again.status_code == 401 and again.json()["code"] == "replayed_request"
    assert await count(session, Ticket) == 1


async def test_a_support_command_gets_a_thread_and_replies_go_into_it(session, client, fake_slack):
    """/support answers only its caller, so the bot opens a thread in the channel for the ticket;
    a reply queued before that thread exists waits for it instead of being dropped."""
    body = (PAYLOADS / "slack" / "slash-command.txt").read_bytes()
    r = await client.post(
        "/api/v1/integrations/slack/commands",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **slack_signed(body)},
    )
    assert r.status_code == 200
    ticket = await the_ticket(session)
    assert f"/portal/tickets/{ticket.id}|" in r.json()["text"]  # the requester's page
    reply = await staff_reply(session, ticket.id, "Which notebook image?")  # before the thread
    fake_slack.replies = [
        json.dumps({"ok": True, "channel": "C2147483705", "ts": "1700000000.000100"}).encode(),
        json.dumps({"ok": True, "channel": "C2147483705", "ts": "1700000000.000200"}).encode(),
    ]
    now = utcnow()
    assert await deliver_due(session, now) == 2  # the thread first, then the waiting reply
    opened, answered = fake_slack.requests[-2:]
    assert opened.json()["channel"] == "C2147483705" and "thread_ts" not in opened.json()
    assert "<@U2147483697> asked: Notebook server fails to start" in opened.json()["text"]
    assert answered.json() == {
        "channel": "C2147483705",
        "thread_ts": "1700000000.000100",
        "text": "Which notebook image?",
    }
    [delivery] = (await session.exec(select(ReplyDelivery))).all()
    assert delivery.message_id == reply.id
    # The requester answers in that thread, in a channel nobody watches: a message on the ticket.
    answer = slack_sample(
        "message.json",
        channel="C2147483705",
        ts="1700000000.000300",
        thread_ts="1700000000.000100",
        user="U2147483697",
        text="The default one",
    )
    answer["event_id"] = "EvThreadAnswer"
    assert (await slack_event(client, answer)).json()["result"] == "message"
    assert await count(session, Message, Message.ticket_id == ticket.id) == 2


async def test_a_reply_waits_while_the_support_thread_cannot_be_opened(session, client, fake_slack):
    body = (PAYLOADS / "slack" / "slash-command.txt").read_bytes()
    await client.post(
        "/api/v1/integrations/slack/commands",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **slack_signed(body)},
    )
    ticket = await the_ticket(session)
    await staff_reply(session, ticket.id, "Which notebook image?")
    fake_slack.replies = [b'{"ok": false, "error": "internal_error"}']
    assert await deliver_due(session, utcnow()) == 0
    [thread_row] = await outbox(session, "slack.open_thread")
    [reply_row] = await outbox(session, "slack.reply")
    assert thread_row.status == "pending" and "internal_error" in thread_row.last_error
    assert reply_row.status == "pending" and "not open yet" in reply_row.last_error
    assert [c.path for c in fake_slack.requests] == ["/api/chat.postMessage"]  # no reply posted


async def test_replayed_github_comment_with_a_new_delivery_id_posts_nothing_twice(
    session, client, fake_github
):
    comment = gh_sample("issue_comment.created")
    body = json.dumps(comment).encode()
    assert (await github_hook(client, "issue_comment", comment, body=body)).json()[
        "result"
    ] == "message"
    again = await github_hook(
        client, "issue_comment", comment, body=body, delivery=str(uuid.uuid4())
    )
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    assert await count(session, Message) == 1
    # The digest was written by the message's own transaction (it names the ticket), so a replay
    # racing the first copy conflicts on it and rolls back instead of posting again.
    [digest_row] = (
        await session.exec(select(InboundDelivery).where(InboundDelivery.source == "github-body"))
    ).all()
    assert digest_row.ticket_id is not None


async def test_second_eyes_reaction_answers_200_and_changes_nothing(session, client, fake_slack):
    sam = await make_user(session, "agent", name="Sam")
    kim = await make_user(session, "agent", name="Kim")
    async with transaction(session):
        sam.slack_user_id, kim.slack_user_id = "U999STAFF", "U888STAFF"
        session.add_all([sam, kim])
    await slack_event(client, slack_sample("message.json"))
    assert (await slack_event(client, slack_sample("reaction_added.json"))).json()[
        "result"
    ] == "claimed"
    before = await the_ticket(session)
    claimed_at, version = before.claimed_at, before.version
    same = slack_sample("reaction_added.json")
    same["event_id"] = "EvEyes2"
    r = await slack_event(client, same)
    assert r.status_code == 200, r.text
    other = slack_sample("reaction_added.json", user="U888STAFF")
    other["event_id"] = "EvEyes3"
    r = await slack_event(client, other)
    assert (
        r.status_code == 200
        and r.json()["result"] == "ignored"
        and "already claimed" in r.json()["detail"]
    )
    after = await the_ticket(session)
    assert (after.claimed_by_id, after.claimed_at, after.version) == (sam.id, claimed_at, version)


async def test_an_emailed_reply_shows_its_delivery_state(session, client, smtp_server):
    from app.ticket.enums import Channel
    from app.ticket.service import list_messages
    from app.ticket.views import message_views
    from tests.factories import make_ticket

    ticket = await make_ticket(session, requester_email="ada@uni.example", channel=Channel.email)
    reply = await staff_reply(session, ticket.id, "Could you send a screenshot?")
    [view] = await message_views(
        session, await list_messages(session, ticket.id, include_internal=True)
    )
    assert (
        view.id == reply.id and view.delivery.state == "queued" and view.delivery.channel == "email"
    )
    assert await deliver_due(session, utcnow()) == 1
    session.expunge_all()
    [view] = await message_views(
        session, await list_messages(session, ticket.id, include_internal=True)
    )
    assert view.delivery.state == "sent" and view.delivery.delivered_at is not None


async def test_github_rate_limit_waits_for_retry_after_and_a_missing_issue_is_failed(
    session, client, fake_github
):
    await github_hook(client, "issues", gh_sample("issues.opened"))
    ticket = await the_ticket(session)
    fake_github.status = [403, 201]
    fake_github.reply_headers = {"Retry-After": "60"}
    await staff_reply(session, ticket.id, "One moment.")
    now = utcnow()
    assert await deliver_due(session, now) == 0
    [row] = await outbox(session, "github.comment")
    assert row.status == "pending" and row.available_at == now + timedelta(seconds=60)
    assert await deliver_due(session, now + timedelta(seconds=60)) == 1
    fake_github.status, fake_github.reply_headers = [404], {}
    await staff_reply(session, ticket.id, "Anyone there?")
    assert await deliver_due(session, now + timedelta(seconds=61)) == 0
    assert [r.status for r in await outbox(session, "github.comment")] == ["done", "dead"]
