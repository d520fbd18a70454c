"""Slack in: slash commands and Events API, verified with Slack's signing secret.

`/support <text>` opens a ticket and answers with its key and link; top-level messages in
the configured channels open tickets and thread replies become messages on them; emoji
reactions act per a configurable table (👀 claims, 🐛 tags bug, ...: support-channel-tiers.md).
A signed request is accepted once: its signature is remembered in the database for the replay
window, so a replay to any replica is refused. Our own thread replies coming back are dropped.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.community.service import community_for_channel
from app.db import pk, transaction
from app.errors import AppError, Conflict, InvalidInput, Unauthorized
from app.integrations.conversations import is_our_post, queue_thread_for_slash_ticket
from app.integrations.inbound import Effect, mark_seen, person, remembering, seen, ticket_for
from app.integrations.models import InboundDelivery
from app.integrations.settings import get_integration_settings
from app.portal.notify import portal_ticket_url
from app.ticket.enums import Channel, Urgency
from app.ticket.models import MessageCreate, TicketCreate, TicketUpdate
from app.ticket.service import (
    claim_ticket,
    normalise_tag,
    post_message,
    release_claim,
    submit_ticket,
    tags_by_ticket,
    ticket_key,
    update_ticket,
)
from app.user.models import User
from app.user.service import principal_of

SOURCE = "slack"
SIGNATURE_SOURCE = "slack-sig"
REPLAY_WINDOW = 300  # seconds, as Slack recommends


def verify_request(
    secret: str, timestamp: str | None, body: bytes, signature: str | None, *, now: int
) -> None:
    if not secret:
        raise Unauthorized(
            "Slack is not configured (FIRSTLINE_SLACK_SIGNING_SECRET)", code="not_configured"
        )
    try:
        ts = int(timestamp or "")
    except ValueError:
        raise Unauthorized("missing X-Slack-Request-Timestamp", code="bad_signature") from None
    if abs(now - ts) > REPLAY_WINDOW:
        raise Unauthorized(
            "stale request: timestamp outside the 5-minute window", code="stale_request"
        )
    base = b"v0:" + str(ts).encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Unauthorized("X-Slack-Signature does not match", code="bad_signature")


async def first_time(session: AsyncSession, signature: str, *, now: datetime) -> bool:
    """Remember a verified request's signature (it covers the timestamp and the body); False if seen: a replay."""
    signature = signature.strip()[:255]
    try:
        async with transaction(session):
            # Older than two windows: verify_request refuses those by their timestamp anyway.
            await session.exec(
                delete(InboundDelivery).where(
                    col(InboundDelivery.source) == SIGNATURE_SOURCE,
                    col(InboundDelivery.created_at) < now - timedelta(seconds=2 * REPLAY_WINDOW),
                )
            )
            if await seen(session, SIGNATURE_SOURCE, signature):
                return False
            session.add(
                InboundDelivery(source=SIGNATURE_SOURCE, delivery_id=signature, created_at=now)
            )
    except Conflict:
        return False  # a racing copy of the same request stored the signature first
    return True


# A user-group mention as Slack encodes it (<!subteam^S0ABC|@oncall>), or typed plainly (@oncall).
_SUBTEAM = re.compile(r"<!subteam\^([A-Za-z0-9]+)(?:\|@?([^>]*))?>")
_HANDLE = re.compile(r"(?<![\w@<|])@([A-Za-z0-9][\w.-]*)")


def _handles(raw: str) -> set[str]:
    return {h.strip().lstrip("@").lower() for h in raw.split(",") if h.strip()}


def urgency_from_text(text: str, urgent_handles: str, emergency_handles: str) -> Urgency:
    """The #support tier a message asks for (support-channel-tiers.md): @dev911 an emergency,
    @oncall urgent, no tag normal. Handles and subteam ids are configurable."""
    mentioned = {m.lower() for m in _HANDLE.findall(text)}
    for subteam_id, handle in _SUBTEAM.findall(text):
        mentioned |= {subteam_id.lower(), handle.strip().lower()}
    if mentioned & _handles(emergency_handles):
        return Urgency.emergency
    if mentioned & _handles(urgent_handles):
        return Urgency.urgent
    return Urgency.normal


def _urgency(text: str) -> Urgency:
    settings = get_integration_settings()
    return urgency_from_text(text, settings.slack_urgent_handles, settings.slack_emergency_handles)


def reaction_table(raw: str) -> dict[str, str]:
    """ "eyes=claim,bug=tag:bug" → {"eyes": "claim", "bug": "tag:bug"}; malformed pairs are skipped."""
    table = {}
    for pair in raw.split(","):
        name, _, action = pair.strip().partition("=")
        if name and (action == "claim" or action.startswith("tag:")):
            table[name.strip().strip(":")] = action.strip()
    return table


async def _slack_person(
    session: AsyncSession, user_id: str, team_id: str | None, name: str | None = None
) -> User:
    # Synthetic and never mailed (Slack people are answered in Slack); ".example" keeps it off real domains.
    email = f"{user_id}@{(team_id or 'team')}.slack.example".lower()
    return await person(session, email=email, name=name or user_id, slack_user_id=user_id[:32])


def _thread_id(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def _title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "Slack request"
    return first[:120].strip() or "Slack request"


async def slash_command(session: AsyncSession, form: dict[str, str]) -> dict[str, Any]:
    text = (form.get("text") or "").strip()
    command = form.get("command") or "/support"
    if not text:
        return {
            "response_type": "ephemeral",
            "text": f"Usage: `{command} <what you need help with>`",
        }
    user_id = form.get("user_id")
    if not user_id:
        raise InvalidInput("not a Slack slash command: no user_id", code="bad_payload")
    requester = await _slack_person(session, user_id, form.get("team_id"), form.get("user_name"))
    mapped = await community_for_channel(session, slack_channel=form.get("channel_id"))
    async with transaction(session):  # the ticket and its thread's post commit together
        ticket = await submit_ticket(
            session,
            TicketCreate(
                title=_title(text),
                body=text[:50_000],
                requester_email=requester.email,
                requester_name=requester.name,
                channel=Channel.slack,
                urgency=_urgency(text),
                community=mapped.slug if mapped else None,
            ),
        )
        key = ticket_key(pk(ticket))
        channel = form.get("channel_id")
        if channel:
            queue_thread_for_slash_ticket(
                session,
                ticket,
                channel,
                f"<@{user_id}> asked: {text[:3000]}\n_{key}: we answer in this thread._",
            )
    # The requester's own page: the staff ticket page would refuse them.
    link = portal_ticket_url(pk(ticket))
    return {
        "response_type": "ephemeral",
        "text": f"Opened *{key}*: <{link}|{ticket.title}>. We will answer in a thread in this channel.",
    }


@dataclass
class EventOutcome:
    result: str
    ticket: str | None = None
    detail: str = ""


async def handle_event(
    session: AsyncSession, payload: dict[str, Any]
) -> dict[str, Any] | EventOutcome:
    kind = payload.get("type")
    if kind == "url_verification":
        challenge = payload.get("challenge")
        if not isinstance(challenge, str):
            raise InvalidInput("url_verification without a challenge", code="bad_payload")
        return {"challenge": challenge}
    if kind != "event_callback":
        return EventOutcome("ignored", detail=f"type {kind!r} is not used")
    event_id = str(payload.get("event_id") or "")
    event = payload.get("event")
    if not event_id or not isinstance(event, dict):
        raise InvalidInput("event_callback needs event_id and event", code="bad_payload")
    if await seen(session, SOURCE, event_id):
        return EventOutcome("duplicate", detail="this event_id was processed before")
    team_id = payload.get("team_id")
    etype = event.get("type")
    if etype == "message":
        outcome = await _on_message(session, event, event_id, team_id)
    elif etype in ("reaction_added", "reaction_removed"):
        outcome = await _on_reaction(
            session, event, event_id, team_id, added=etype == "reaction_added"
        )
    else:
        outcome = EventOutcome("ignored", detail=f"event {etype!r} is not used")
    if outcome.result in ("ignored", "tagged", "claimed"):
        await mark_seen(session, SOURCE, event_id)  # no-op when the change already remembered it
    return outcome


async def _on_message(
    session: AsyncSession, event: dict[str, Any], event_id: str, team_id: str | None
) -> EventOutcome:
    channels = {
        c.strip() for c in get_integration_settings().slack_channels.split(",") if c.strip()
    }
    channel, ts, user = event.get("channel"), event.get("ts"), event.get("user")
    if channel and ts and await is_our_post(session, SOURCE, _thread_id(channel, ts)):
        return EventOutcome("ignored", detail="our own reply coming back")
    if event.get("subtype") or event.get("bot_id"):
        return EventOutcome("ignored", detail="edits, joins and bot messages are not copied")
    if not (channel and ts and user):
        raise InvalidInput("message event needs channel, ts and user", code="bad_payload")
    text = str(event.get("text") or "").strip() or "(no text)"
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != ts:
        # A thread that is a ticket is followed in any channel: a /support ticket's thread is
        # opened by our bot wherever the command was typed, watched channel or not.
        ticket = await ticket_for(session, SOURCE, [_thread_id(channel, thread_ts)])
        if ticket is None:
            return EventOutcome("ignored", detail="a reply in a thread that is not a ticket")
        author = await _slack_person(session, user, team_id)
        async with remembering(session, Effect(SOURCE, event_id)):
            await post_message(
                session,
                pk(ticket),
                MessageCreate(body=text[:50_000]),
                actor=principal_of(author),
                channel=Channel.slack,
            )
        return EventOutcome("message", ticket_key(pk(ticket)))
    mapped = await community_for_channel(session, slack_channel=channel)
    if channel not in channels and mapped is None:  # a community's mapped channel is watched too
        return EventOutcome("ignored", detail=f"channel {channel} is not watched")
    author = await _slack_person(session, user, team_id)
    async with remembering(session, Effect(SOURCE, event_id, refs=[_thread_id(channel, ts)])):
        ticket = await submit_ticket(
            session,
            TicketCreate(
                title=_title(text),
                body=text[:50_000],
                requester_email=author.email,
                requester_name=author.name,
                channel=Channel.slack,
                urgency=_urgency(text),
                community=mapped.slug if mapped else None,
            ),
        )
    return EventOutcome("created", ticket_key(pk(ticket)))


async def _on_reaction(
    session: AsyncSession, event: dict[str, Any], event_id: str, team_id: str | None, *, added: bool
) -> EventOutcome:
    # Whatever shape Slack (or a client bug) sends, a reaction is answered 200: Slack retries anything else.
    raw_item = event.get("item")
    item: dict[str, Any] = raw_item if isinstance(raw_item, dict) else {}
    raw_reaction = event.get("reaction")
    reaction = (raw_reaction if isinstance(raw_reaction, str) else "").split("::")[
        0
    ]  # skin tones: "+1::skin-tone-2"
    action = reaction_table(get_integration_settings().slack_reactions).get(reaction)
    if action is None:
        return EventOutcome("ignored", detail=f":{reaction}: has no meaning here")
    if (
        item.get("type") != "message"
        or not isinstance(item.get("channel"), str)
        or not item.get("channel")
        or not isinstance(item.get("ts"), str)
        or not item.get("ts")
    ):
        return EventOutcome("ignored", detail="a reaction on something other than a message")
    ticket = await ticket_for(session, SOURCE, [_thread_id(item["channel"], item["ts"])])
    if ticket is None:
        return EventOutcome("ignored", detail="a reaction on a message that is not a ticket")
    # Plain values: a refused claim rolls back, which expires `ticket`; reading it then would be a lazy load.
    ticket_id, key = pk(ticket), ticket_key(pk(ticket))
    reactor_id = event.get("user")
    if not isinstance(reactor_id, str) or not reactor_id:
        return EventOutcome("ignored", key, "a reaction without a user")
    reactor = await _slack_person(
        session, reactor_id, team_id if isinstance(team_id, str) else None
    )
    if not reactor.is_staff:
        return EventOutcome("ignored", key, "only staff reactions act on tickets")
    actor = principal_of(reactor)
    try:
        if action == "claim":
            if added:
                await claim_ticket(session, ticket_id, actor=actor)
            else:
                await release_claim(session, ticket_id, actor=actor)
            return EventOutcome("claimed", key, "claimed" if added else "released")
        tag = normalise_tag(action.removeprefix("tag:"))
        current = (await tags_by_ticket(session, [ticket_id]))[ticket_id]
        tags = sorted(set(current) | {tag}) if added else [t for t in current if t != tag]
        await update_ticket(session, ticket_id, TicketUpdate(tags=tags), actor=actor)
        return EventOutcome("tagged", key, f"{'+' if added else '-'}{tag}")
    except AppError as exc:
        # Already claimed by someone else, finished ticket...: Slack cannot show an error; note it and move on.
        return EventOutcome("ignored", key, exc.detail)
