"""Which tickets, messages and attachments a principal may see: the per-community rule.

Staff with `tickets:read` see every ticket. A community contact sees:
- as a representative, every ticket of the communities they represent;
- as anyone (member or not), the tickets they asked themselves;
- never an internal note, nor an attachment posted with one, nor another community's data.

Reading code asks this module, in SQL (`ticket_clause`) for lists and search, or per row
(`can_see_ticket`) for a single ticket, so the API, the pages, the portal, search,
attachments and the live stream all apply one rule. A ticket someone may not see is
"not found" for them (404), so its existence does not leak either.
"""

from typing import Any

from sqlalchemy import false, or_
from sqlmodel import col

from app.auth.policy import Principal
from app.community.models import MembershipRole
from app.errors import Conflict, Forbidden, NotFound
from app.ticket.enums import Status
from app.ticket.models import Ticket


def represented(principal: Principal) -> frozenset[int]:
    """Ids of the communities this contact represents."""
    return frozenset(
        cid for cid, role in principal.memberships.items() if role == MembershipRole.representative
    )


def ticket_clause(principal: Principal) -> Any:
    """A WHERE clause limiting a ticket query to what `principal` may see (None: no limit)."""
    if principal.is_staff:
        return None if principal.can("tickets:read") else false()
    reps = represented(principal)
    own = col(Ticket.requester_id) == principal.user_id
    return or_(own, col(Ticket.community_id).in_(reps)) if reps else own


def can_see_ticket(principal: Principal | None, ticket: Ticket) -> bool:
    if principal is None:
        return False
    if principal.is_staff:
        return principal.can("tickets:read")
    return ticket.requester_id == principal.user_id or (
        ticket.community_id is not None and ticket.community_id in represented(principal)
    )


def check_ticket_visible(principal: Principal | None, ticket: Ticket | None, ref: object) -> Ticket:
    if ticket is None or not can_see_ticket(principal, ticket):
        raise NotFound(f"ticket {ref} does not exist")
    return ticket


def sees_internal_notes(principal: Principal) -> bool:
    return principal.is_staff and principal.can("tickets:read")


def can_speak_for(principal: Principal, ticket: Ticket) -> bool:
    """Reply, confirm a fix, say "not fixed": the requester or a representative of the community."""
    return can_see_ticket(principal, ticket) and principal.is_contact


def can_approve(principal: Principal, ticket: Ticket) -> bool:
    """Only a representative of the ticket's community approves a member's request."""
    return (
        principal.is_contact
        and ticket.community_id is not None
        and ticket.community_id in represented(principal)
        and ticket.status == Status.awaiting_approval
    )


def require_approver(principal: Principal, ticket: Ticket) -> None:
    if not can_approve(principal, ticket):
        if ticket.status != Status.awaiting_approval:
            raise Conflict(
                f"this request is {ticket.status}, not awaiting approval",
                code="not_awaiting_approval",
            )
        raise Forbidden(
            "only a representative of this community can approve or decline it",
            code="not_representative",
        )
