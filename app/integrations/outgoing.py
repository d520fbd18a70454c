"""Delivering `email.send` over SMTP and `slack.notify` to a Slack incoming webhook.

Other areas only enqueue these topics (magic links, approvals, incident updates, handoff
reminders); this module is the one place that talks SMTP and Slack.
Payloads: email.send {"to": [..], "subject", "text", "html"?, "ticket_id"?, "in_reply_to"?,
"references"?, "message_id"?}; slack.notify {"text", "channel"?}.
"""

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from app.integrations.replies import tagged_message_id
from app.integrations.settings import get_integration_settings
from app.outbox.delivery import Delivered, DeliveryFailed, http_client
from app.outbox.models import OutboxMessage

EMAIL_TOPIC = "email.send"
SLACK_TOPIC = "slack.notify"


def outgoing_message_id(idempotency_key: str, ticket_id: int | None = None) -> str:
    """Stable across retries, so a relay that saw the first try can drop the second.

    Mail about a ticket carries `.t<id>` so a reply to it finds the ticket (email.py); every id
    ends in an HMAC tag, so nobody outside can guess one and thread onto someone's ticket.
    """
    safe = "".join(c if c.isalnum() or c in "-._" else "-" for c in idempotency_key)[:100]
    tail = f".t{ticket_id}" if isinstance(ticket_id, int) else ""
    return tagged_message_id(f"{safe}{tail}")


def build_email(message: OutboxMessage, thread_root: str | None = None) -> EmailMessage:
    payload = message.payload
    to = payload.get("to") or []
    if isinstance(to, str):
        to = [to]
    if not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise DeliveryFailed("email.send needs 'to': a list of addresses", permanent=True)
    settings = get_integration_settings()
    mail = EmailMessage()
    mail["From"] = payload.get("from") or settings.mail_from
    mail["To"] = ", ".join(to)
    mail["Subject"] = str(payload.get("subject") or "(no subject)")
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = payload.get("message_id") or outgoing_message_id(
        message.idempotency_key, payload.get("ticket_id")
    )
    # Mail other areas enqueue about a ticket joins the requester's thread too.
    in_reply_to = payload.get("in_reply_to") or thread_root
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    references = payload.get("references") or ([in_reply_to] if in_reply_to else [])
    if references:
        mail["References"] = " ".join(references)
    # Tell auto-responders not to answer us (RFC 3834), so two systems never ping-pong.
    mail["Auto-Submitted"] = "auto-generated" if payload.get("automatic") else "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(str(payload.get("text") or ""))
    if payload.get("html"):
        mail.add_alternative(str(payload["html"]), subtype="html")
    return mail


def _smtp_send(mail: EmailMessage) -> None:
    settings = get_integration_settings()
    timeout = settings.delivery_timeout_seconds
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(mail)


def smtp_configured() -> bool:
    return bool(get_integration_settings().smtp_host)


def slack_configured() -> bool:
    return bool(get_integration_settings().slack_webhook_url)


async def send_email(session: AsyncSession, message: OutboxMessage) -> Delivered:
    root = None
    ticket_id = message.payload.get("ticket_id")
    if isinstance(ticket_id, int) and not message.payload.get("in_reply_to"):
        from app.integrations.replies import thread_root

        root = await thread_root(session, ticket_id)
        await session.commit()  # end the read before the network call
    mail = build_email(message, root)
    try:
        await asyncio.to_thread(_smtp_send, mail)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(
            f"recipients refused: {', '.join(exc.recipients)}", permanent=True
        ) from exc
    except smtplib.SMTPResponseException as exc:
        # 5xx is the relay's final word; 4xx is "try later".
        raise DeliveryFailed(
            f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
            status_code=exc.smtp_code,
            permanent=500 <= exc.smtp_code < 600,
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    return Delivered(detail=f"sent {mail['Message-ID']} to {mail['To']}", status_code=250)


async def notify_slack(session: AsyncSession, message: OutboxMessage) -> Delivered:
    settings = get_integration_settings()
    text = message.payload.get("text")
    if not text:
        raise DeliveryFailed("slack.notify needs 'text'", permanent=True)
    body = {"text": str(text)}
    if message.payload.get("channel"):
        body["channel"] = str(message.payload["channel"])
    try:
        response = await http_client().post(settings.slack_webhook_url, json=body)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc or 'no answer'}") from exc
    if response.status_code == 200:
        return Delivered(detail="posted to Slack", status_code=200)
    # Slack answers 400/403/404/410 with a reason (invalid_payload, channel_not_found, ...): retrying won't help.
    permanent = response.status_code in (400, 403, 404, 410)
    raise DeliveryFailed(
        f"HTTP {response.status_code}: {response.text[:200]}",
        status_code=response.status_code,
        permanent=permanent,
    )
