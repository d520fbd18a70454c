"""Tracker issues: from a ticket, open a GitHub issue through GitHub's REST API and link it.

The ticket then waits on the issue (pending), as community-support-desk.md asks ("add a
link to the GitHub issue ... move the ticket to Pending"). The issue is remembered as the
ticket's GitHub thread, so GitHub's own webhooks for it (comments, closed) land on the ticket.
"""

import re
from contextlib import suppress

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth.policy import Principal
from app.config import get_settings
from app.db import pk
from app.errors import AppError, Conflict, InvalidInput, NotFound
from app.integrations.inbound import Effect, remembering
from app.integrations.models import ExternalRef
from app.integrations.settings import get_integration_settings
from app.ticket.enums import LinkKind, MessageKind, Status
from app.ticket.models import MessageCreate, Ticket, TicketUpdate
from app.ticket.service import get_ticket, post_message, ticket_key, update_ticket
from app.ticket.triage import TRANSITIONS

REPO_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


class TrackerUnavailable(AppError):
    status_code = 502
    code = "tracker_unavailable"


def tracker_configured() -> bool:
    settings = get_integration_settings()
    return bool(settings.github_token and settings.github_api_url)


async def tracker_issues(session: AsyncSession, ticket_id: int) -> list[str]:
    stmt = select(ExternalRef.external_id).where(
        ExternalRef.ticket_id == ticket_id, ExternalRef.source == "github"
    )
    return list((await session.exec(stmt.order_by(col(ExternalRef.id)))).all())


def issue_body(ticket: Ticket) -> str:
    link = f"{get_settings().base_url}/tickets/{ticket.id}"
    return f"{ticket.body}\n\n---\nOpened from support ticket [{ticket_key(pk(ticket))}]({link})."


async def open_tracker_issue(
    session: AsyncSession,
    ref: str | int,
    *,
    actor: Principal,
    repo: str | None = None,
    title: str | None = None,
) -> tuple[Ticket, str]:
    """Create the GitHub issue, then link it and set the ticket pending; returns (ticket, issue URL)."""
    settings = get_integration_settings()
    if not tracker_configured():
        raise InvalidInput(
            "tracker issues are not configured (FIRSTLINE_GITHUB_TOKEN)", code="not_configured"
        )
    repo = (repo or settings.github_repo).strip()
    if not REPO_RE.match(repo):
        raise InvalidInput("repo must look like owner/name", code="bad_repo")
    ticket = await get_ticket(session, ref)
    if ticket is None:
        raise NotFound(f"ticket {ref} does not exist")
    title = (title or ticket.title).strip()[:256] or ticket.title
    url = f"{settings.github_api_url.rstrip('/')}/repos/{repo}/issues"
    headers = {
        "Authorization": f"Bearer {settings.github_token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "Firstline",
    }
    try:
        async with httpx.AsyncClient(timeout=settings.delivery_timeout_seconds) as client:
            response = await client.post(
                url, json={"title": title, "body": issue_body(ticket)}, headers=headers
            )
    except httpx.HTTPError as exc:
        raise TrackerUnavailable(f"GitHub did not answer: {type(exc).__name__}") from exc
    if response.status_code != 201:
        try:
            reason = response.json().get("message", "")
        except ValueError:
            reason = response.text[:200]
        raise TrackerUnavailable(
            f"GitHub refused to open the issue: HTTP {response.status_code} {reason}".strip()
        )
    issue = response.json()
    html_url, number = issue.get("html_url"), issue.get("number")
    if not html_url or not number:
        raise TrackerUnavailable("GitHub's answer had no issue URL or number")
    effect = Effect(
        "github",
        refs=[f"{repo}#{number}"],
        link=(html_url, f"{repo}#{number}: {title}"[:200], LinkKind.github_issue.value),
    )
    async with remembering(session, effect):
        await post_message(
            session,
            pk(ticket),
            MessageCreate(body=f"Opened tracker issue {html_url}", kind=MessageKind.internal),
            actor=actor,
        )
    fresh = await get_ticket(session, pk(ticket))
    if fresh is None:
        raise NotFound(f"ticket {ticket_key(pk(ticket))} does not exist")
    if Status.pending in TRANSITIONS[fresh.status]:
        with suppress(
            Conflict
        ):  # someone moved it meanwhile; the link and note are in, the status is theirs
            fresh = await update_ticket(
                session, pk(fresh), TicketUpdate(status=Status.pending), actor=actor
            )
    return fresh, html_url
