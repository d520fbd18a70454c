"""Ticket page parts from integrations: the tracker panel and its "open a GitHub issue" action."""

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse

from app.auth.policy import Principal
from app.deps import SessionDep, page_permission
from app.integrations.settings import get_integration_settings
from app.integrations.tracker import open_tracker_issue, tracker_configured, tracker_issues

router = APIRouter(include_in_schema=False)


async def tracker_panel(session, ticket, principal: Principal):
    issues = await tracker_issues(session, ticket.id)
    can_open = tracker_configured() and principal.can("tickets:write")
    if not issues and not can_open:
        return None
    return {
        "ticket_id": ticket.id,
        "issues": issues,
        "can_open": can_open,
        "repo": get_integration_settings().github_repo,
    }


@router.post("/tickets/{ref}/tracker-issue")
async def open_issue(
    ref: str,
    session: SessionDep,
    principal: Annotated[Principal, page_permission("tickets:write")],
    repo: Annotated[str, Form(max_length=201)] = "",
):
    ticket, _url = await open_tracker_issue(session, ref, actor=principal, repo=repo or None)
    return RedirectResponse(f"/tickets/{ticket.id}", status_code=303)


@router.post("/tickets/{ticket_id}/deliveries/{delivery_id}/redeliver")
async def send_reply_again_page(
    ticket_id: int,
    delivery_id: int,
    session: SessionDep,
    principal: Annotated[Principal, page_permission("tickets:write")],
):
    from app.integrations.conversations import send_reply_again

    await send_reply_again(session, delivery_id, ticket_id=ticket_id)
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)
