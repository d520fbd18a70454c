"""GitHub webhooks in: verify X-Hub-Signature-256, then issues and comments become tickets and messages.

issues.opened → a ticket (channel github, requester from the GitHub user, a link to the
issue); issue_comment.created → a message on it; closed / reopened → resolved (closed when
"not planned") / open; labeled / unlabeled → tags, and a `bug` label makes it a bug (the
bug queue, as in weekly-exterminator-rotation.md). The same X-GitHub-Delivery twice changes
nothing, and neither does the same signed body under a new delivery id (a replay: GitHub's
own redeliveries keep their id). Our own comments coming back are dropped (conversations.py).
"""

import hashlib
import hmac
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.community.service import community_for_channel
from app.db import pk
from app.errors import Conflict, InvalidInput, InvalidTransition, Unauthorized
from app.integrations.conversations import is_our_post
from app.integrations.inbound import (
    Effect,
    also_remembering,
    mark_seen,
    person,
    remembering,
    seen,
    ticket_for,
)
from app.ticket.enums import Channel, LinkKind, Status, TicketType
from app.ticket.models import MessageCreate, Ticket, TicketCreate, TicketUpdate
from app.ticket.service import (
    normalise_tag,
    post_message,
    submit_ticket,
    tags_by_ticket,
    ticket_key,
    update_ticket,
)
from app.user.models import User
from app.user.service import principal_of

SOURCE = "github"
DIGEST_SOURCE = "github-body"
BUG_LABELS = {"bug", "type: bug", "kind/bug"}


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    if not secret:
        raise Unauthorized(
            "GitHub webhooks are not configured (FIRSTLINE_GITHUB_WEBHOOK_SECRET)",
            code="not_configured",
        )
    if not header or not header.startswith("sha256="):
        raise Unauthorized("missing X-Hub-Signature-256", code="bad_signature")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), header.strip().encode()):
        raise Unauthorized("X-Hub-Signature-256 does not match the body", code="bad_signature")


@dataclass
class Outcome:
    result: str  # created, message, status, tagged, duplicate, ignored, pong
    ticket: str | None = None
    detail: str = ""


def issue_ref(payload: dict[str, Any]) -> str:
    return f"{payload['repository']['full_name']}#{payload['issue']['number']}"


def _tag_of(label: str) -> str | None:
    try:
        return normalise_tag(label.replace(" ", "-").replace("/", ":")[:48])
    except InvalidInput:
        return None  # a label we cannot express as a tag (emoji-only, ...) is skipped, not an error


async def _github_person(session: AsyncSession, gh_user: dict[str, Any]) -> User:
    login = str(gh_user.get("login") or "ghost")[:64]
    # GitHub's own no-reply form, so a GitHub person never collides with a real mailbox.
    email = f"{gh_user.get('id', 0)}+{login}@users.noreply.github.com".lower()
    return await person(session, email=email, name=login, github_login=login)


async def _open_ticket(
    session: AsyncSession, payload: dict[str, Any], delivery_id: str | None
) -> Ticket:
    issue = payload["issue"]
    requester = await _github_person(session, issue["user"])
    labels = [lb.get("name", "") for lb in issue.get("labels") or []]
    is_bug = any(lb.lower() in BUG_LABELS for lb in labels)
    title = (issue.get("title") or "").strip()[:200] or f"GitHub issue {issue_ref(payload)}"
    effect = Effect(
        SOURCE,
        delivery_id,
        refs=[issue_ref(payload)],
        link=(
            issue["html_url"],
            f"{issue_ref(payload)}: {title}"[:200],
            LinkKind.github_issue.value,
        ),
    )
    mapped = await community_for_channel(session, github_repo=payload["repository"]["full_name"])
    async with remembering(session, effect):
        ticket = await submit_ticket(
            session,
            TicketCreate(
                title=title,
                body=(issue.get("body") or "")[:50_000],
                requester_email=requester.email,
                requester_name=requester.name,
                channel=Channel.github,
                community=mapped.slug if mapped else None,
                type=TicketType.bug if is_bug else TicketType.question,
            ),
        )
    tags = [t for t in (_tag_of(lb) for lb in labels) if t]
    if tags:
        await update_ticket(
            session, pk(ticket), TicketUpdate(tags=tags), actor=principal_of(requester)
        )
    return ticket


def body_digest(event: str, body: bytes) -> str:
    return hashlib.sha256(event.encode() + b"\n" + body).hexdigest()


async def handle_event(
    session: AsyncSession,
    event: str,
    delivery_id: str | None,
    payload: dict[str, Any],
    *,
    digest: str | None = None,
) -> Outcome:
    """`digest`: body_digest() of the signed body, remembered so a replay under a new delivery id is refused."""
    if event == "ping":
        return Outcome("pong", detail=str(payload.get("zen", "")))
    if delivery_id and await seen(session, SOURCE, delivery_id):
        return Outcome("duplicate", detail="this X-GitHub-Delivery was processed before")
    if digest and await seen(session, DIGEST_SOURCE, digest):
        return Outcome(
            "duplicate", detail="this exact payload was processed before under another delivery id"
        )
    try:
        # The digest commits with the ticket change the event makes (see also_remembering).
        remember = also_remembering(session, DIGEST_SOURCE, digest) if digest else nullcontext()
        async with remember:
            if event == "issues":
                outcome = await _on_issue(session, payload, delivery_id)
            elif event == "issue_comment":
                outcome = await _on_comment(session, payload, delivery_id)
            else:
                outcome = Outcome("ignored", detail=f"event {event!r} is not used")
    except (KeyError, TypeError) as exc:
        raise InvalidInput(
            f"not a GitHub {event} payload: missing {exc}", code="bad_payload"
        ) from exc
    if digest:  # an event that changed no ticket still remembers it, so a replay stays cheap
        with suppress(Conflict):
            await mark_seen(session, DIGEST_SOURCE, digest)
    return outcome


async def _on_issue(
    session: AsyncSession, payload: dict[str, Any], delivery_id: str | None
) -> Outcome:
    action = payload["action"]
    ticket = await ticket_for(session, SOURCE, [issue_ref(payload)])
    if action == "opened" or ticket is None:
        if ticket is None:
            if action not in ("opened", "reopened", "labeled", "edited"):
                await _maybe_mark(session, delivery_id)
                return Outcome("ignored", detail=f"no ticket for {issue_ref(payload)}")
            ticket = await _open_ticket(session, payload, delivery_id)
            return Outcome("created", ticket_key(pk(ticket)))
        return Outcome("duplicate", ticket_key(pk(ticket)), "the issue already has a ticket")
    actor = principal_of(
        await _github_person(session, payload.get("sender") or payload["issue"]["user"])
    )
    effect = Effect(SOURCE, delivery_id)
    if action in ("closed", "reopened"):
        reason = payload["issue"].get("state_reason")
        target = (
            Status.open
            if action == "reopened"
            else (Status.closed if reason == "not_planned" else Status.resolved)
        )
        if ticket.status == target:
            await _maybe_mark(session, delivery_id, ticket.id)
            return Outcome("status", ticket_key(pk(ticket)), f"already {target.value}")
        try:
            async with remembering(session, effect):
                await update_ticket(session, pk(ticket), TicketUpdate(status=target), actor=actor)
        except InvalidTransition as exc:
            await _maybe_mark(session, delivery_id, ticket.id)
            return Outcome("ignored", ticket_key(pk(ticket)), exc.detail)
        return Outcome("status", ticket_key(pk(ticket)), target.value)
    if action in ("labeled", "unlabeled"):
        label = payload["label"]["name"]
        tag = _tag_of(label)
        current = (await tags_by_ticket(session, [pk(ticket)]))[pk(ticket)]
        if tag is None:  # not expressible as a tag: skipped, as on a new ticket
            tags = current
        elif action == "labeled":
            tags = sorted(set(current) | {tag})
        else:
            tags = [t for t in current if t != tag]
        patch = TicketUpdate(tags=tags)
        if action == "labeled" and label.lower() in BUG_LABELS:
            patch.type = TicketType.bug
        async with remembering(session, effect):
            await update_ticket(session, pk(ticket), patch, actor=actor)
        await _maybe_mark(
            session, delivery_id, ticket.id
        )  # no-op if the update already remembered it
        return Outcome("tagged", ticket_key(pk(ticket)), f"{action} {label}")
    await _maybe_mark(session, delivery_id, ticket.id)
    return Outcome("ignored", ticket_key(pk(ticket)), f"issues.{action} is not used")


async def _on_comment(
    session: AsyncSession, payload: dict[str, Any], delivery_id: str | None
) -> Outcome:
    if payload["action"] != "created":
        return Outcome("ignored", detail=f"issue_comment.{payload['action']} is not used")
    comment = payload["comment"]
    if await is_our_post(
        session, SOURCE, str(comment.get("id", "")), str(comment.get("body") or "")
    ):
        await _maybe_mark(session, delivery_id)
        return Outcome("ignored", detail="our own comment coming back")
    if (comment.get("user") or {}).get("type") == "Bot":
        return Outcome("ignored", detail="comments by bots are not copied")
    ticket = await ticket_for(session, SOURCE, [issue_ref(payload)])
    if ticket is None:
        ticket = await _open_ticket(session, payload, None)
    author = await _github_person(session, comment["user"])
    body = f"{comment.get('body') or ''}\n\n— [on GitHub]({comment.get('html_url', '')})".strip()
    async with remembering(session, Effect(SOURCE, delivery_id)):
        await post_message(
            session,
            pk(ticket),
            MessageCreate(body=body[:50_000]),
            actor=principal_of(author),
            channel=Channel.github,
        )
    return Outcome("message", ticket_key(pk(ticket)))


async def _maybe_mark(
    session: AsyncSession, delivery_id: str | None, ticket_id: int | None = None
) -> None:
    if delivery_id:
        with suppress(Conflict):  # a racing copy of the same delivery recorded it first
            await mark_seen(session, SOURCE, delivery_id, ticket_id)
