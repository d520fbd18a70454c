"""Community pages with budget usage bars, and logging time from the ticket page."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.auth.policy import Principal
from app.budget import service
from app.budget.models import TimeEntryCreate
from app.budget.views import entry_views, hours
from app.community.models import BudgetPeriod, Community, CommunityMapping
from app.community.service import (
    get_community_by_slug,
    list_communities,
    members,
    set_community_mapping,
)
from app.db import pk
from app.deps import SessionDep, page_permission
from app.errors import AppError, Conflict, InvalidInput, NotFound
from app.templating import env, render
from app.ticket.models import Ticket
from app.ticket.service import parse_ticket_ref, ticket_key
from app.ticket.views import users_by_id

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, page_permission("communities:read")]
Writer = Annotated[Principal, page_permission("communities:write")]
TicketWriter = Annotated[Principal, page_permission("tickets:write")]


async def _community_or_404(session, slug: str) -> Community:
    community = await get_community_by_slug(session, slug)
    if community is None:
        raise NotFound(f"community {slug!r} does not exist")
    return community


@router.get("/communities")
async def communities_page(request: Request, session: SessionDep, principal: Reader):
    rows = await list_communities(session)
    return render(
        request,
        "budget/communities.html",
        {"section": "communities", "rows": rows, "budgets": await service.budgets(session, rows)},
    )


@router.get("/communities/{slug}")
async def community_page(request: Request, slug: str, session: SessionDep, principal: Reader):
    community = await _community_or_404(session, slug)
    return await _render_community(request, session, principal, community)


async def _render_community(
    request: Request,
    session: SessionDep,
    principal: Principal,
    community: Community,
    *,
    mapping_error: AppError | None = None,
    typed: dict[str, str] | None = None,
):
    budget = await service.budget_of(session, community)
    entries = await service.recent_entries(
        session, pk(community), budget.period_start, budget.period_end
    )
    tickets = {
        pk(t): t
        for t in [await session.get(Ticket, i) for i in {e.ticket_id for e in entries}]
        if t
    }
    # What the mapping form shows: the saved lists, or what was typed when it was refused.
    mapping = typed or {
        name: "\n".join(getattr(community, name) or [])
        for name in ("email_domains", "slack_channels", "github_repos")
    }
    return render(
        request,
        "budget/community.html",
        {
            "section": "communities",
            "c": community,
            "budget": budget,
            "entries": await entry_views(session, entries),
            "tickets": {i: (ticket_key(i), t.title) for i, t in tickets.items()},
            "members": await members(session, pk(community)),
            "periods": list(BudgetPeriod),
            "can_edit": principal.can("communities:write"),
            "mapping": mapping,
            "mapping_error": mapping_error.detail if mapping_error else None,
            "mapping_field": mapping_error.extra.get("field") if mapping_error else None,
        },
        status_code=mapping_error.status_code if mapping_error else 200,
    )


@router.post("/communities/{slug}/budget")
async def community_budget(
    slug: str,
    session: SessionDep,
    principal: Writer,
    budget_hours: Annotated[str, Form(max_length=12)] = "",
    budget_period: Annotated[str, Form(max_length=16)] = "month",
    funded: Annotated[str, Form(max_length=8)] = "",
):
    community = await _community_or_404(session, slug)
    try:
        hours = float(budget_hours) if budget_hours.strip() else None
        period = BudgetPeriod(budget_period)
    except ValueError:
        raise InvalidInput(
            "budget hours must be a number and the period month or quarter", code="bad_budget"
        ) from None
    await service.set_budget(
        session, community, budget_hours=hours, period=period, funded=bool(funded), actor=principal
    )
    return RedirectResponse(f"/communities/{community.slug}", status_code=303)


@router.post("/communities/{slug}/mapping")
async def community_mapping(
    request: Request,
    slug: str,
    session: SessionDep,
    principal: Writer,
    email_domains: Annotated[str, Form(max_length=2000)] = "",
    slack_channels: Annotated[str, Form(max_length=2000)] = "",
    github_repos: Annotated[str, Form(max_length=2000)] = "",
):
    """Which mail domains, Slack channels and GitHub repos bring requests to this community
    (one per line or comma-separated); a bad or taken entry answers 422/409 and keeps all three."""
    community = await _community_or_404(session, slug)
    try:
        await set_community_mapping(
            session,
            pk(community),
            CommunityMapping(
                email_domains=_entries(email_domains),
                slack_channels=_entries(slack_channels),
                github_repos=_entries(github_repos),
            ),
            actor_id=principal.user_id,
        )
    except (InvalidInput, Conflict) as exc:
        # The page again, with what was typed and the reason beside its field, not an error page.
        typed = {
            "email_domains": email_domains,
            "slack_channels": slack_channels,
            "github_repos": github_repos,
        }
        await session.refresh(community)
        return await _render_community(
            request, session, principal, community, mapping_error=exc, typed=typed
        )
    return RedirectResponse(f"/communities/{community.slug}", status_code=303)


def _entries(text: str) -> list[str]:
    return [e for e in text.replace(",", "\n").split() if e]


@router.post("/tickets/{ref}/time")
async def log_time(
    ref: str,
    session: SessionDep,
    principal: TicketWriter,
    minutes: Annotated[str, Form(max_length=6)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
):
    try:
        data = TimeEntryCreate(minutes=int(minutes), note=note)
    except (ValueError, ValidationError):
        raise InvalidInput(
            "minutes must be a whole number from 1 to 1440", code="bad_minutes"
        ) from None
    entry = await service.log_time(session, ref, data, actor=principal)
    return RedirectResponse(f"/tickets/{entry.ticket_id}", status_code=303)


@router.post("/tickets/{ref}/time/{entry_id}/delete")
async def delete_time(ref: str, entry_id: int, session: SessionDep, principal: TicketWriter):
    await service.delete_time(session, ref, entry_id, actor=principal)
    ticket_id = parse_ticket_ref(ref)
    return RedirectResponse(f"/tickets/{ticket_id}#time-panel", status_code=303)


async def time_panel(session, ticket: Ticket, principal: Principal) -> dict:
    entries = await service.list_time_entries(session, pk(ticket))
    community = await session.get(Community, ticket.community_id) if ticket.community_id else None
    people = await users_by_id(session, {e.user_id for e in entries})
    return {
        "ticket_id": ticket.id,
        "entries": [(e, people.get(e.user_id)) for e in entries],
        "total": sum(e.minutes for e in entries),
        "community": community,
        "budget": await service.budget_of(session, community) if community else None,
        "can_log": principal.can("tickets:write"),
    }


env.filters["hours"] = hours
