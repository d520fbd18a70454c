"""Replies go back where the request came from: a GitHub issue comment, a Slack thread reply.

A public staff reply (and, with FIRSTLINE_REPLY_STATUS_CHANGES, a status change) on a ticket
born on GitHub or Slack is enqueued in the outbox in the change's own transaction, so it is
retried and dead-lettered like any delivery. A `ReplyDelivery` row ties it to its message and,
once sent, to the id GitHub or Slack gave it; the inbound side drops the webhook echo of that
id. E-mail replies stay in replies.py (they add a `ReplyDelivery` too, for the delivery state).
"""

import re
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import pk, transaction
from app.errors import NotFound
from app.integrations.inbound import inbound_source
from app.integrations.models import ExternalRef, ReplyDelivery
from app.integrations.settings import get_integration_settings
from app.outbox.delivery import Delivered, DeliveryFailed, http_client, redeliver
from app.outbox.models import OutboxMessage, OutboxStatus
from app.outbox.service import enqueue
from app.rota.handoff import HandoffNotice
from app.ticket.enums import STATUS_LABELS, Channel, MessageKind, Status
from app.ticket.hooks import TicketChange
from app.ticket.models import Message, MessageDelivery, Ticket

GITHUB_TOPIC = "github.comment"
SLACK_TOPIC = "slack.reply"
TOPIC_OF = {Channel.github.value: GITHUB_TOPIC, Channel.slack.value: SLACK_TOPIC}
# Hidden in the comment body: GitHub echoes it back, so our own comment is known even if its
# webhook arrives before the worker recorded the comment id.
MARKER_RE = re.compile(r"<!-- firstline:([A-Za-z0-9._-]{1,128}) -->")
STATUS_NOTES = {
    Status.open.value: "We are working on it.",
    Status.pending.value: "We are waiting on something before we can go on.",
    Status.resolved.value: "We believe this is fixed; please tell us here if it is not.",
    Status.closed.value: "This request is closed.",
}
# Slack's `ok: false` errors that no retry can fix; any other (ratelimited, internal_error, ...) is retried.
SLACK_PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "msg_too_long",
    "no_text",
    "invalid_arguments",
    "restricted_action",
    "thread_reply_disabled",
}


async def _thread_of(session: AsyncSession, ticket: Ticket) -> str | None:
    # The first ref is where the ticket was born (later GitHub refs may be tracker issues).
    stmt = (
        select(ExternalRef.external_id)
        .where(ExternalRef.ticket_id == ticket.id, ExternalRef.source == ticket.channel)
        .order_by(col(ExternalRef.id))
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def reply_in_origin_thread(
    session: AsyncSession, ticket: Ticket, change: TicketChange
) -> None:
    topic = TOPIC_OF.get(ticket.channel)
    if topic is None or inbound_source(session) == ticket.channel:
        return  # not a GitHub/Slack ticket, or the change came from that very thread
    message_id, what = None, ""
    if (
        change.kind == "message"
        and change.by_staff
        and change.message_kind == MessageKind.public.value
    ):
        stmt = (
            select(Message)
            .where(Message.ticket_id == ticket.id)
            .order_by(col(Message.id).desc())
            .limit(1)
        )
        message = (await session.exec(stmt)).first()
        if message is None or message.channel == ticket.channel:
            return
        message_id, what, text = message.id, f"reply-{message.id}", message.body
    elif (
        change.kind == "status"
        and change.status_after in STATUS_NOTES
        and get_integration_settings().reply_status_changes
    ):
        label = STATUS_LABELS[Status(change.status_after)]
        text = f"Status: **{label}**. {STATUS_NOTES[change.status_after]}"
        what = f"status-{change.status_after}-{int(change.now.timestamp() * 1000)}"
    else:
        return
    thread = await _thread_of(session, ticket)
    if thread is None:
        if ticket.channel != Channel.slack.value:
            return
        thread = ""  # a slash-command ticket whose thread the worker has not opened yet
    outbox = enqueue(
        session,
        topic,
        {"ticket_id": ticket.id, "thread": thread, "text": text},
        idempotency_key=f"{ticket.channel}-{ticket.id}-{what}",
    )
    await session.flush()  # the outbox id, for the delivery row
    session.add(
        ReplyDelivery(
            ticket_id=pk(ticket),
            message_id=message_id,
            outbox_message_id=pk(outbox),
            source=ticket.channel,
        )
    )


async def _posted_as(session: AsyncSession, outbox_id: int) -> str | None:
    stmt = select(ReplyDelivery.external_id).where(ReplyDelivery.outbox_message_id == outbox_id)
    external_id = (await session.exec(stmt)).first()
    await session.commit()  # end the read before the network call
    return external_id


async def _record_posted(session: AsyncSession, outbox_id: int, external_id: str) -> None:
    async with transaction(session):
        await session.exec(
            update(ReplyDelivery)
            .where(col(ReplyDelivery.outbox_message_id) == outbox_id)
            .values(external_id=external_id[:255])
        )


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers.get("retry-after", "")), 0.0)
    except ValueError:
        return None


def github_configured() -> bool:
    return bool(get_integration_settings().github_token)


async def post_github_comment(session: AsyncSession, message: OutboxMessage) -> Delivered:
    payload = message.payload
    done = await _posted_as(session, pk(message))
    if done:
        return Delivered(
            detail=f"already posted as comment {done}", status_code=201
        )  # a retry after a lost lease
    repo, _, number = str(payload.get("thread") or "").rpartition("#")
    if not repo or not number.isdigit() or not payload.get("text"):
        raise DeliveryFailed(
            "github.comment needs 'thread' (owner/repo#number) and 'text'", permanent=True
        )
    settings = get_integration_settings()
    url = f"{settings.github_api_url.rstrip('/')}/repos/{repo}/issues/{number}/comments"
    body = f"{payload['text']}\n\n<!-- firstline:{message.idempotency_key} -->"
    headers = {
        "Authorization": f"Bearer {settings.github_token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "Firstline",
    }
    try:
        response = await http_client().post(url, json={"body": body}, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc or 'no answer'}") from exc
    if response.status_code == 201:
        comment_id = _json(response).get("id")
        if comment_id is not None:
            await _record_posted(session, pk(message), str(comment_id))
        return Delivered(detail=f"comment {comment_id} on {repo}#{number}", status_code=201)
    # Primary limits: 403/429 with no requests remaining; secondary limits: 403/429 with Retry-After.
    limited = response.status_code in (403, 429) and (
        response.status_code == 429
        or "retry-after" in response.headers
        or response.headers.get("x-ratelimit-remaining") == "0"
    )
    # 401/404/410/422: bad token, no such issue, locked or invalid: a retry gets the same answer.
    permanent = not limited and response.status_code in (400, 401, 403, 404, 410, 422)
    raise DeliveryFailed(
        f"HTTP {response.status_code}: {response.text[:200]}",
        status_code=response.status_code,
        permanent=permanent,
        retry_after=_retry_after(response) if limited else None,
    )


def slack_bot_configured() -> bool:
    return bool(get_integration_settings().slack_bot_token)


async def _slack_api(method: str, body: dict[str, Any]) -> dict[str, Any]:
    """One Slack Web API call with the bot token; failures become retryable or permanent."""
    settings = get_integration_settings()
    headers = {"Authorization": f"Bearer {settings.slack_bot_token}"}
    try:
        response = await http_client().post(
            f"{settings.slack_api_url.rstrip('/')}/{method}", json=body, headers=headers
        )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc or 'no answer'}") from exc
    if response.status_code == 429:
        raise DeliveryFailed(
            "HTTP 429: rate limited", status_code=429, retry_after=_retry_after(response)
        )
    if response.status_code != 200:
        raise DeliveryFailed(
            f"HTTP {response.status_code}: {response.text[:200]}", status_code=response.status_code
        )
    answer = _json(response)
    if not answer.get("ok"):  # Slack reports failures as 200 with ok: false
        error = str(answer.get("error") or "unknown_error")
        raise DeliveryFailed(f"Slack: {error}", status_code=200, permanent=error in SLACK_PERMANENT)
    return answer


async def post_slack_reply(session: AsyncSession, message: OutboxMessage) -> Delivered:
    payload = message.payload
    done = await _posted_as(session, pk(message))
    if done:
        return Delivered(detail=f"already posted as {done}", status_code=200)
    thread = str(payload.get("thread") or "")
    if not thread and isinstance(payload.get("ticket_id"), int):
        # A slash-command ticket: its thread is the one our bot opened for it, which may have
        # been posted after this reply was queued.
        thread = await _thread_now(session, payload["ticket_id"]) or ""
        if not thread:
            raise DeliveryFailed("the ticket's Slack thread is not open yet")
    channel, _, thread_ts = thread.partition(":")
    if not channel or not thread_ts or not payload.get("text"):
        raise DeliveryFailed("slack.reply needs 'thread' (channel:ts) and 'text'", permanent=True)
    answer = await _slack_api(
        "chat.postMessage",
        {"channel": channel, "thread_ts": thread_ts, "text": str(payload["text"])},
    )
    ts = str(answer.get("ts") or "")
    if ts:
        await _record_posted(session, pk(message), f"{channel}:{ts}")
    return Delivered(detail=f"replied in {channel} thread {thread_ts} as {ts}", status_code=200)


async def _thread_now(session: AsyncSession, ticket_id: int) -> str | None:
    ticket = await session.get(Ticket, ticket_id)
    thread = await _thread_of(session, ticket) if ticket is not None else None
    await session.commit()  # end the read before the network call
    return thread


# --- a slash-command ticket gets a thread of its own -----------------------------------------

OPEN_THREAD_TOPIC = "slack.open_thread"


def queue_thread_for_slash_ticket(
    session: AsyncSession, ticket: Ticket, channel: str, text: str
) -> None:
    """`/support` answers only its caller (ephemerally), so nothing in the channel could carry
    staff replies: the bot posts the request in the channel and that post's thread becomes the
    ticket's, so replies reach the requester where they asked, like a message-born ticket."""
    enqueue(
        session,
        OPEN_THREAD_TOPIC,
        {"ticket_id": pk(ticket), "channel": channel, "text": text},
        idempotency_key=f"slack-open-thread-{pk(ticket)}",
    )


async def open_slack_thread(session: AsyncSession, message: OutboxMessage) -> Delivered:
    payload = message.payload
    ticket_id, channel = payload.get("ticket_id"), str(payload.get("channel") or "")
    if not isinstance(ticket_id, int) or not channel or not payload.get("text"):
        raise DeliveryFailed(
            "slack.open_thread needs 'ticket_id', 'channel' and 'text'", permanent=True
        )
    existing = await _thread_now(session, ticket_id)
    if existing:
        return Delivered(detail=f"thread already open as {existing}", status_code=200)
    answer = await _slack_api("chat.postMessage", {"channel": channel, "text": payload["text"]})
    ts = str(answer.get("ts") or "")
    if not ts:
        raise DeliveryFailed("Slack answered ok without a ts", permanent=True)
    async with transaction(session):
        if await session.get(Ticket, ticket_id) is not None:  # deleted meanwhile: nothing to tie
            session.add(
                ExternalRef(source="slack", external_id=f"{channel}:{ts}", ticket_id=ticket_id)
            )
    return Delivered(detail=f"opened thread {channel}:{ts}", status_code=200)


# --- the support channel's topic: who is on now ---------------------------------------------

TOPIC_TOPIC = "slack.topic"
TOPIC_MAX = 250  # Slack's limit on a channel topic


def channel_topic(notice: HandoffNotice) -> str:
    people = ", ".join(f"{role}: {name}" for role, name in notice.on_now.items()) or "nobody"
    return f"On call now ({notice.schedule_name}): {people}"[:TOPIC_MAX]


async def announce_handoff_in_channel(session: AsyncSession, notice: HandoffNotice) -> None:
    """Handoff listener: the support channel's topic names who is on now (through the outbox)."""
    channel = get_integration_settings().slack_support_channel.strip()
    if not channel:
        return
    enqueue(
        session,
        TOPIC_TOPIC,
        {"channel": channel, "topic": channel_topic(notice)},
        idempotency_key=f"slack-topic-handoff-{notice.handoff_id}",
    )


async def set_slack_topic(session: AsyncSession, message: OutboxMessage) -> Delivered:
    payload = message.payload
    if not payload.get("channel") or not isinstance(payload.get("topic"), str):
        raise DeliveryFailed("slack.topic needs 'channel' and 'topic'", permanent=True)
    channel = str(payload["channel"])
    await _slack_api("conversations.setTopic", {"channel": channel, "topic": payload["topic"]})
    return Delivered(detail=f"topic of {channel} set", status_code=200)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# --- inbound: our own echo ------------------------------------------------------------------


async def is_our_post(session: AsyncSession, source: str, external_id: str, body: str = "") -> bool:
    """The webhook of something we posted: by the id the channel gave it, or by our hidden marker."""
    stmt = select(ReplyDelivery.id).where(
        ReplyDelivery.source == source, ReplyDelivery.external_id == external_id
    )
    if (await session.exec(stmt)).first() is not None:
        return True
    marker = MARKER_RE.search(body)
    if marker is None:
        return False
    stmt = select(OutboxMessage.id).where(
        OutboxMessage.idempotency_key == marker.group(1),
        col(OutboxMessage.topic).in_(list(TOPIC_OF.values())),
    )
    return (await session.exec(stmt)).first() is not None


# --- delivery state per message ---------------------------------------------------------------

_STATE = {
    OutboxStatus.pending.value: "queued",
    OutboxStatus.done.value: "sent",
    OutboxStatus.dead.value: "failed",
}


async def message_deliveries(session: AsyncSession, messages: list[Message]) -> dict[int, dict]:
    """{message_id: {"delivery": MessageDelivery}} for messages we sent out to a channel."""
    ids = [m.id for m in messages if m.id is not None]
    if not ids:
        return {}
    stmt = (
        select(ReplyDelivery, OutboxMessage)
        .join(OutboxMessage, col(OutboxMessage.id) == col(ReplyDelivery.outbox_message_id))
        .where(col(ReplyDelivery.message_id).in_(ids))
        .order_by(col(ReplyDelivery.id))
    )
    out: dict[int, dict] = {}
    for reply, outbox in (await session.exec(stmt)).all():
        if reply.message_id is None:
            continue
        out[reply.message_id] = {
            "delivery": MessageDelivery(
                id=pk(outbox),
                channel=reply.source,
                state=_STATE.get(outbox.status, "queued"),
                attempts=outbox.attempts,
                last_error=outbox.last_error,
                next_try_at=outbox.available_at if outbox.status == "pending" else None,
                delivered_at=outbox.delivered_at,
            )
        }
    return out


async def send_reply_again(
    session: AsyncSession, delivery_id: int, *, ticket_id: int | None = None
) -> MessageDelivery:
    """Queue a failed (or sent) reply again, same idempotency key; 409 while it is still queued."""
    stmt = select(ReplyDelivery).where(
        ReplyDelivery.outbox_message_id == delivery_id, col(ReplyDelivery.message_id).is_not(None)
    )
    reply = (await session.exec(stmt)).first()
    if reply is None or (ticket_id is not None and reply.ticket_id != ticket_id):
        raise NotFound(f"no reply delivery {delivery_id}")
    message = await session.get(Message, reply.message_id)
    if message is None:
        raise NotFound(f"no reply delivery {delivery_id}")
    await redeliver(session, delivery_id)
    delivery: MessageDelivery = (await message_deliveries(session, [message]))[pk(message)][
        "delivery"
    ]
    return delivery
