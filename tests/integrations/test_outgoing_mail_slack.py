"""email.send through a real SMTP server (aiosmtpd), slack.notify to a loopback receiver, requester mail."""

import re
from datetime import timedelta

from sqlmodel import select

from app.db import transaction, utcnow
from app.outbox.delivery import deliver_due
from app.outbox.models import OutboxMessage
from app.outbox.service import enqueue
from app.ticket.enums import Channel, MessageKind
from app.ticket.models import MessageCreate, TicketUpdate
from app.ticket.service import post_message, update_ticket
from tests.factories import actor_for, make_ticket, make_user, principal_for


async def rows(session, topic):
    stmt = select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id)
    return list((await session.exec(stmt.execution_options(populate_existing=True))).all())


async def test_email_send_reaches_the_smtp_server_with_threading_headers(session, smtp_server):
    async with transaction(session):
        enqueue(
            session,
            "email.send",
            {
                "to": ["ada@uni.example"],
                "subject": "Your magic link",
                "text": "Héllo ✓",
                "html": "<p>Héllo</p>",
                "in_reply_to": "<root@uni.example>",
            },
            idempotency_key="magic-1",
        )
    assert await deliver_due(session, utcnow()) == 1
    [(rcpts, mail)] = smtp_server.messages
    assert rcpts == ["ada@uni.example"]
    assert mail["Subject"] == "Your magic link" and mail["From"] == "support@desk.example"
    assert re.fullmatch(
        r"<magic-1\.[0-9a-f]{20}@desk\.example>", mail["Message-ID"]
    )  # unguessable tag
    assert (
        mail["In-Reply-To"] == "<root@uni.example>" and mail["References"] == "<root@uni.example>"
    )
    assert mail["Auto-Submitted"]
    assert mail.get_body(("plain",)).get_content().strip() == "Héllo ✓"
    assert "<p>Héllo</p>" in mail.get_body(("html",)).get_content()
    [row] = await rows(session, "email.send")
    assert row.status == "done"


async def test_smtp_5xx_is_a_dead_letter_and_4xx_a_retry(session, smtp_server):
    async with transaction(session):
        enqueue(
            session,
            "email.send",
            {"to": ["a@x.example"], "subject": "s", "text": "t"},
            idempotency_key="m-5",
        )
    smtp_server.refuse = 554
    await deliver_due(session, utcnow())
    [row] = await rows(session, "email.send")
    assert row.status == "dead" and "554" in row.last_error
    async with transaction(session):
        enqueue(
            session,
            "email.send",
            {"to": ["a@x.example"], "subject": "s", "text": "t"},
            idempotency_key="m-4",
        )
    smtp_server.refuse = 451
    now = utcnow()
    await deliver_due(session, now)
    row = (await rows(session, "email.send"))[1]
    assert row.status == "pending" and "451" in row.last_error
    smtp_server.refuse = None
    await deliver_due(session, now + timedelta(seconds=10))
    assert [m["Message-ID"].split(".")[0] for _, m in smtp_server.messages] == ["<m-4"]


async def test_bad_payload_is_dead_not_retried(session, smtp_server):
    async with transaction(session):
        enqueue(session, "email.send", {"subject": "no one to send to", "text": "t"})
    await deliver_due(session, utcnow())
    [row] = await rows(session, "email.send")
    assert row.status == "dead" and "needs 'to'" in row.last_error and smtp_server.messages == []


async def test_without_smtp_host_mail_waits_untried(session):
    async with transaction(session):
        enqueue(session, "email.send", {"to": ["a@x.example"], "subject": "s", "text": "t"})
    assert await deliver_due(session, utcnow()) == 0
    [row] = await rows(session, "email.send")
    assert row.status == "pending" and row.attempts == 0


async def test_slack_notify_posts_to_the_incoming_webhook(session, receiver, monkeypatch):
    from app.integrations.settings import get_integration_settings

    monkeypatch.setenv("FIRSTLINE_SLACK_WEBHOOK_URL", receiver.url)
    get_integration_settings.cache_clear()
    receiver.status = [200, 404]
    async with transaction(session):
        enqueue(session, "slack.notify", {"text": "SUP-1 breached its SLA", "channel": "#support"})
        enqueue(session, "slack.notify", {"text": "second"})
    await deliver_due(session, utcnow())
    assert [r.json() for r in receiver.requests] == [
        {"text": "SUP-1 breached its SLA", "channel": "#support"},
        {"text": "second"},
    ]
    assert [r.status for r in await rows(session, "slack.notify")] == ["done", "dead"]


async def test_requester_is_mailed_for_public_replies_and_status_changes_threaded(
    session, smtp_server
):
    agent = await make_user(session, "agent")
    ticket = await make_ticket(
        session, requester_email="ada@uni.example", title="VPN down", channel=Channel.email
    )
    await post_message(
        session,
        ticket.id,
        MessageCreate(body="Internal: check logs", kind=MessageKind.internal),
        actor=principal_for(agent),
    )
    await post_message(
        session,
        ticket.id,
        MessageCreate(body="Could you send a screenshot?"),
        actor=principal_for(agent),
    )
    await update_ticket(session, ticket.id, TicketUpdate(status="open"), actor=principal_for(agent))
    # the requester's own reply does not mail them back
    await post_message(
        session,
        ticket.id,
        MessageCreate(body="Here it is"),
        actor=await actor_for(session, ticket.requester_id),
    )
    await deliver_due(session, utcnow())
    mails = [m for _, m in smtp_server.messages]
    assert len(mails) == 2
    reply, status = mails
    assert reply["Subject"] == f"[SUP-{ticket.id}] VPN down" and reply["To"] == "ada@uni.example"
    assert (
        "Could you send a screenshot?" in reply.get_content()
        and "Internal" not in reply.get_content()
    )
    assert "now open" in status.get_content()
    assert reply["Message-ID"].startswith(f"<sup-{ticket.id}.reply-")


async def test_github_and_slack_requesters_get_no_mail(session, smtp_server):
    agent = await make_user(session, "agent")
    ticket = await make_ticket(session, channel=Channel.github)
    await post_message(
        session, ticket.id, MessageCreate(body="Thanks!"), actor=principal_for(agent)
    )
    assert await rows(session, "email.send") == []


async def test_a_change_another_area_already_mails_about_sends_no_second_mail(session, smtp_server):
    """The hook yields to mail enqueued earlier in the same transaction (e.g. an incident update)."""
    from app.integrations.replies import mail_requester_on_change
    from app.ticket.hooks import TicketChange

    agent = await make_user(session, "agent")
    ticket = await make_ticket(session, requester_email="ada@uni.example")
    change = TicketChange(
        kind="status", now=utcnow(), actor_id=agent.id, status_before="new", status_after="open"
    )
    async with transaction(session):
        enqueue(
            session,
            "email.send",
            {"to": ["ada@uni.example"], "subject": "Incident update", "text": "x"},
        )
        await mail_requester_on_change(session, ticket, change)
    assert len(await rows(session, "email.send")) == 1
    async with transaction(session):
        await mail_requester_on_change(session, ticket, change)
    assert len(await rows(session, "email.send")) == 2
