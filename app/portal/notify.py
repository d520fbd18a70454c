"""The e-mails the portal sends, as `email.send` outbox payloads (issue 7 delivers them).

Texts follow community-support-desk.md: representatives are asked to approve a member's
request; a requester is asked to confirm a resolution and rate it.
"""

from typing import Any

from app.config import get_settings
from app.user.models import User


def _portal_url(path: str) -> str:
    return get_settings().base_url.rstrip("/") + path


def portal_ticket_url(ticket_id: int) -> str:
    """Where a requester sees their ticket: the portal page, never the staff-only one."""
    return _portal_url(f"/portal/tickets/{ticket_id}")


def sign_in_email(user: User, url: str, minutes: int) -> dict[str, Any]:
    text = (
        f"Hello {user.name},\n\n"
        f"Use this link to sign in to the support portal. It works once, for {minutes} minutes:\n\n{url}\n\n"
        "If you did not ask for it, ignore this e-mail; nobody can sign in without the link."
    )
    return {"to": [user.email], "subject": "Your sign-in link for the support portal", "text": text}


def approval_request_email(
    *,
    key: str,
    title: str,
    ticket_id: int,
    community_name: str,
    requester: User | None,
    representatives: list[User],
) -> dict[str, Any]:
    names = ", ".join(r.name for r in representatives) or "representatives"
    who = f"{requester.name} <{requester.email}>" if requester else "a member of your community"
    text = (
        f"Hello {names},\n\n"
        f'We received a support request ({key}: "{title}") from {who}, a member of {community_name}. '
        "To streamline our support process we accept support requests only from community representatives. "
        "Can you read through the request and let us know how you wish to proceed?\n\n"
        f"Approve or decline it here: {portal_ticket_url(ticket_id)}\n\nThanks."
    )
    return {
        "to": [r.email for r in representatives],
        "subject": f"[{key}] Approval needed: {title}",
        "text": text,
        "ticket_id": ticket_id,
    }


def resolution_email(*, key: str, title: str, ticket_id: int, requester: User) -> dict[str, Any]:
    first = requester.name.split()[0] if requester.name.split() else requester.name
    text = (
        f"Hello {first},\n\n"
        f'We believe {key} ("{title}") is now resolved. Could you confirm that it works for you, and tell us '
        f"how we did (1 to 5)? If it is not fixed, say so on the same page and we will reopen it.\n\n"
        f"{portal_ticket_url(ticket_id)}\n"
    )
    return {
        "to": [requester.email],
        "subject": f"[{key}] Resolved: is it fixed?",
        "text": text,
        "ticket_id": ticket_id,
    }
