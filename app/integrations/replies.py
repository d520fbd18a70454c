"""E-mail to requesters when staff reply publicly or the status changes, threaded on their mail.

Each mail we send carries a Message-ID we remember for the ticket (ExternalRef source
"email"), In-Reply-To / References naming the requester's first message, and the ticket key
in the subject; so when the requester answers, the inbound mail finds its ticket.
"""

import hashlib
import hmac

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import pk
from app.integrations.models import ExternalRef, ReplyDelivery
from app.integrations.settings import get_integration_settings
from app.outbox.models import OutboxMessage
from app.outbox.service import enqueue
from app.portal.notify import portal_ticket_url
from app.ticket.enums import STATUS_LABELS, Channel, MessageKind, Status
from app.ticket.hooks import TicketChange
from app.ticket.models import Message, Ticket
from app.user.models import User

# People who reached us through a mailbox or a form gave a real address; GitHub and Slack
# people are answered where they wrote (their synthetic addresses must not get mail).
MAILED_CHANNELS = {Channel.email.value, Channel.web.value, Channel.api.value}
STATUS_NOTES = {
    Status.open.value: "We are working on it.",
    Status.pending.value: "We are waiting on something before we can go on (see the latest reply).",
    # resolved: the access area (portal/flows.py) sends its own "is it fixed?" mail with the survey.
    Status.closed.value: "This request is closed. Reply to this e-mail to reopen it.",
}


def ticket_subject(ticket: Ticket) -> str:
    return f"[{get_settings().ticket_prefix}-{ticket.id}] {ticket.title}"


def our_id_tag(local: str) -> str:
    """HMAC of a Message-ID's left part under the secret key: our ids cannot be guessed or forged."""
    digest = hmac.new(
        get_settings().secret_key.encode(), f"message-id|{local}".encode(), hashlib.sha256
    )
    return digest.hexdigest()[:20]


def tagged_message_id(local: str) -> str:
    return f"<{local}.{our_id_tag(local)}@{get_integration_settings().mail_domain}>"


def our_message_id(ticket: Ticket, what: str) -> str:
    return tagged_message_id(
        f"{get_settings().ticket_prefix.lower()}-{ticket.id}.{what}.t{ticket.id}"
    )


async def thread_root(session: AsyncSession, ticket_id: int) -> str | None:
    stmt = (
        select(ExternalRef.external_id)
        .where(ExternalRef.source == "email", ExternalRef.ticket_id == ticket_id)
        .order_by(col(ExternalRef.id))
        .limit(1)
    )
    return (await session.exec(stmt)).first()


_MAILS = "email_send_in_transaction"


@sa_event.listens_for(Session, "transient_to_pending")
def _note_mail(sync_session: Session, obj: object) -> None:
    if isinstance(obj, OutboxMessage) and obj.topic == "email.send":
        sync_session.info[_MAILS] = True


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_mail(sync_session: Session, *_args: object) -> None:
    sync_session.info.pop(_MAILS, None)


def _change_already_mails(session: AsyncSession) -> bool:
    """Another area is e-mailing about this change (an incident update, the "is it fixed?" mail):
    it owns the conversation, so the requester does not get a second mail for the same change."""
    return bool(session.info.get(_MAILS))


async def _mail_requester(
    session: AsyncSession,
    ticket: Ticket,
    *,
    what: str,
    text: str,
    actor_id: int | None,
    reply_id: int | None = None,
) -> None:
    if (
        ticket.channel not in MAILED_CHANNELS
        or ticket.requester_id is None
        or ticket.requester_id == actor_id
    ):
        return
    if _change_already_mails(session):
        return
    requester = await session.get(User, ticket.requester_id)
    if requester is None or not requester.email:
        return
    root = await thread_root(session, pk(ticket))
    message_id = our_message_id(ticket, what)
    link = portal_ticket_url(pk(ticket))  # the requester's page; the staff page would refuse them
    outbox = enqueue(
        session,
        "email.send",
        {
            "to": [requester.email],
            "subject": ticket_subject(ticket),
            "text": f"{text}\n\n-- \n{link}\n",
            "ticket_id": ticket.id,
            "message_id": message_id,
            "in_reply_to": root,
            "references": [root] if root else [],
        },
        idempotency_key=f"mail-{ticket.id}-{what}",
    )
    session.add(ExternalRef(source="email", external_id=message_id, ticket_id=pk(ticket)))
    if reply_id is not None:  # the reply's delivery state, shown with it
        await session.flush()
        session.add(
            ReplyDelivery(
                ticket_id=pk(ticket),
                message_id=reply_id,
                outbox_message_id=pk(outbox),
                source="email",
                external_id=message_id,
            )
        )


async def mail_requester_on_change(
    session: AsyncSession, ticket: Ticket, change: TicketChange
) -> None:
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
        if message is not None:
            await _mail_requester(
                session,
                ticket,
                what=f"reply-{message.id}",
                text=message.body,
                actor_id=change.actor_id,
                reply_id=message.id,
            )
    elif change.kind == "status" and change.status_after in STATUS_NOTES:
        label = STATUS_LABELS[Status(change.status_after)]
        text = f"Your request is now {label.lower()}. {STATUS_NOTES[change.status_after]}"
        stamp = int(change.now.timestamp() * 1000)
        await _mail_requester(
            session,
            ticket,
            what=f"status-{change.status_after}-{stamp}",
            text=text,
            actor_id=change.actor_id,
        )
