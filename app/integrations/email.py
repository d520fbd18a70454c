"""E-mail in: one raw RFC 822 message → a new ticket, or a message threaded onto its ticket.

Decodes headers and bodies in whatever charset they declare, reduces HTML to safe text,
keeps attachments within the upload limits, threads replies by In-Reply-To / References
(our own Message-IDs are remembered per ticket) or by the ticket key in the subject, trims
the quoted history under a reply, and ignores auto-replies, bulk mail and our own mail
coming back, so two robots never talk to each other through a ticket.
"""

import hmac
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

import authres  # type: ignore[import-untyped]
import nh3
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import get_settings
from app.db import pk
from app.errors import Conflict, InvalidInput
from app.integrations.inbound import Effect, person, remembering, seen, ticket_for
from app.integrations.replies import our_id_tag
from app.integrations.settings import get_integration_settings
from app.ticket.enums import Channel, MessageKind
from app.ticket.models import BODY_MAX, Message, MessageCreate, Ticket, TicketCreate
from app.ticket.service import UploadedFile, get_ticket, post_message, submit_ticket, ticket_key
from app.user.models import User
from app.user.service import principal_of

SOURCE = "email"
MSGID_RE = re.compile(r"<[^<>\s]+>")


@dataclass
class ParsedMail:
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_name: str | None
    from_email: str
    text: str
    files: list[UploadedFile] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    auto: str | None = None  # why it is an automatic message we must not answer, if it is one
    verified: bool = False  # our MTA says DKIM or SPF passed, aligned with the From domain


# --- pure parts ---------------------------------------------------------------------------

_BLOCK_END = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6]|/blockquote)\s*>")


def html_to_text(markup: str) -> str:
    """Safe plain text from HTML: scripts and styles dropped with their content, tags removed."""
    markup = _BLOCK_END.sub("\n", markup)
    cleaned = nh3.clean(markup, tags=set(), clean_content_tags={"script", "style", "head", "title"})
    text = html.unescape(cleaned).replace("\xa0", " ")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


_QUOTE_HEADERS = [
    re.compile(r"^On .{0,200}wrote:\s*$"),  # Gmail, Apple Mail, Thunderbird
    re.compile(r"^Am .{0,200}schrieb .{0,100}:\s*$"),
    re.compile(r"^Le .{0,200}a écrit\s*:\s*$"),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.I),
    re.compile(r"^_{10,}\s*$"),  # Outlook's rule above "From: ..."
    re.compile(r"^From: .+$"),  # Outlook without a rule
]


def trim_quoted(text: str) -> str:
    """The new part of a reply: cut at the "On ... wrote:" line (or alike), drop trailing "> " lines."""
    # Every kind of line break (a lone "\r" too) and quote marks after blanks: otherwise the
    # final strip could leave a ">" line that only a second trim removes.
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if i > 0 and any(p.match(line.strip()) for p in _QUOTE_HEADERS):
            lines = lines[:i]
            break
    while lines and (lines[-1].lstrip().startswith(">") or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip()


def automatic_reason(msg: EmailMessage, our_domain: str, our_address: str) -> str | None:
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Loop"):
        if msg.get(header):
            return f"{header} present"
    if str(msg.get("X-Loop", "")).strip().lower() == our_address.lower():
        return "X-Loop: ours"
    message_id = str(msg.get("Message-ID", ""))
    if message_id.strip().lower().endswith(f"@{our_domain.lower()}>"):
        return "our own message came back"
    if parseaddr(str(msg.get("From", "")))[1].lower() == our_address.lower():
        return "sent from our own address"
    if parseaddr(str(msg.get("Return-Path", "")))[1] == "" and msg.get("Return-Path") is not None:
        return "bounce (empty Return-Path)"
    return None


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment (RFC 7489): the same domain, or one a subdomain of the other."""
    domain, from_domain = (
        domain.strip().lower().rstrip("."),
        from_domain.strip().lower().rstrip("."),
    )
    return bool(domain) and (
        domain == from_domain
        or from_domain.endswith("." + domain)
        or domain.endswith("." + from_domain)
    )


def sender_verified(headers: list[str], from_email: str, authserv_id: str) -> bool:
    """Whether our receiving MTA (`authserv_id`) stamped a DKIM or SPF pass aligned with From.

    Only headers carrying our MTA's id count: anything else could have been written by the
    sender (RFC 8601 §5 has the MTA drop forged ones with its id). No id configured: nothing is.
    """
    if not authserv_id or "@" not in from_email:
        return False
    from_domain = from_email.rsplit("@", 1)[1]
    for header in headers:
        try:
            parsed = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {header}")
        except (
            Exception
        ):  # authres raises its own family of syntax errors; an unparsable header proves nothing
            continue
        if str(parsed.authserv_id or "").lower() != authserv_id.lower():
            continue
        for result in parsed.results:
            if str(result.result).lower() != "pass":
                continue
            props = {f"{p.type}.{p.name}".lower(): str(p.value or "") for p in result.properties}
            if result.method == "dkim" and _aligned(props.get("header.d", ""), from_domain):
                return True
            if result.method == "spf":
                mailfrom = props.get("smtp.mailfrom", "")
                if _aligned(mailfrom.rsplit("@", 1)[-1], from_domain):
                    return True
    return False


def _decode_part(part) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError):
        # Unknown or lying charset: keep the bytes readable rather than refuse the mail.
        raw = part.get_payload(decode=True) or b""
        for charset in ("utf-8", "windows-1252"):
            try:
                return raw.decode(charset)
            except UnicodeDecodeError:
                continue
        return raw.decode("latin-1")


def parse_mail(
    raw: bytes,
    *,
    max_files: int,
    max_file_bytes: int,
    our_domain: str,
    our_address: str,
    authserv_id: str = "",
) -> ParsedMail:
    msg = message_from_bytes(raw, policy=policy.default)
    if not isinstance(msg, EmailMessage) or not msg.get("From"):
        raise InvalidInput("not an RFC 822 message: it has no From header", code="bad_message")
    try:
        from_name, from_email = getaddresses([str(msg.get("From"))])[0]
    except (IndexError, ValueError):
        from_name, from_email = "", ""
    if "@" not in from_email:
        raise InvalidInput("the From header has no address", code="bad_message")
    subject = re.sub(r"\s+", " ", str(msg.get("Subject", "") or "")).strip()
    body_part = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if body_part is not None:
        content = _decode_part(body_part)
        text = html_to_text(content) if body_part.get_content_type() == "text/html" else content
    files: list[UploadedFile] = []
    dropped: list[str] = []
    for part in msg.iter_attachments():
        name = part.get_filename() or "attachment"
        decoded = part.get_payload(decode=True)  # bytes (or None) for a part that is not multipart
        data = decoded if isinstance(decoded, bytes) else b""
        if len(files) >= max_files:
            dropped.append(f"{name} (more than {max_files} files)")
        elif len(data) > max_file_bytes:
            dropped.append(
                f"{name} ({len(data) // 1024} KB, over the {max_file_bytes // 1024} KB limit)"
            )
        else:
            files.append(
                UploadedFile(filename=name, content_type=part.get_content_type(), data=data)
            )
    return ParsedMail(
        message_id=(MSGID_RE.findall(str(msg.get("Message-ID", ""))) or [None])[0],
        in_reply_to=MSGID_RE.findall(str(msg.get("In-Reply-To", ""))),
        references=MSGID_RE.findall(str(msg.get("References", ""))),
        subject=subject,
        from_name=from_name or None,
        from_email=from_email.strip().lower(),
        text=text,
        files=files,
        dropped=dropped,
        auto=automatic_reason(msg, our_domain, our_address),
        verified=sender_verified(
            [str(h) for h in msg.get_all("Authentication-Results", [])],
            from_email.strip().lower(),
            authserv_id,
        ),
    )


def key_in_subject(subject: str, prefix: str) -> int | None:
    match = re.search(rf"\[?\b{re.escape(prefix)}-(\d{{1,12}})\b\]?", subject, re.I)
    return int(match.group(1)) if match else None


def ticket_in_our_ids(message_ids: list[str], our_domain: str) -> int | None:
    """Our outgoing mail about a ticket has a Message-ID like <...t42.<tag>@our.domain> (outgoing.py),
    the tag an HMAC of the rest under our secret key: a guessed id names no ticket."""
    pattern = re.compile(
        rf"^<(.+\.t(\d{{1,12}}))\.([0-9a-f]{{20}})@{re.escape(our_domain)}>$", re.I
    )
    for message_id in message_ids:
        match = pattern.search(message_id)
        if match and hmac.compare_digest(match.group(3).lower(), our_id_tag(match.group(1))):
            return int(match.group(2))
    return None


# --- the use case -------------------------------------------------------------------------


@dataclass
class IngestResult:
    result: str  # created, message, duplicate, ignored
    ticket: str | None = None
    detail: str = ""


async def _may_thread(session: AsyncSession, ticket: Ticket, sender: User, verified: bool) -> bool:
    """Only the ticket's participants, or staff whose mail our MTA verified, add to it by mail.

    An unverified mail from a staff address is no participant either: it must not speak as staff.
    """
    if sender.is_staff:
        return verified
    if ticket.requester_id == sender.id:
        return True
    wrote = (
        select(Message.id)
        .where(
            Message.ticket_id == ticket.id,
            Message.author_id == sender.id,
            Message.kind == MessageKind.public,
        )
        .limit(1)
    )
    return (await session.exec(wrote)).first() is not None


async def _thread_target(session: AsyncSession, mail: ParsedMail, sender: User) -> Ticket | None:
    """The ticket this mail answers, if its sender may add to it; else None (a new ticket).

    Message-IDs and ticket keys can be guessed or copied, so naming a ticket is not enough."""
    ticket = await ticket_for(session, SOURCE, mail.in_reply_to + mail.references)
    if ticket is None:
        ticket_id = key_in_subject(mail.subject, get_settings().ticket_prefix)
        if ticket_id is None:
            ticket_id = ticket_in_our_ids(
                mail.in_reply_to + mail.references, get_integration_settings().mail_domain
            )
        ticket = await get_ticket(session, ticket_id) if ticket_id is not None else None
    if ticket is not None and await _may_thread(session, ticket, sender, mail.verified):
        return ticket
    return None


async def ingest_email(session: AsyncSession, raw: bytes) -> IngestResult:
    settings = get_integration_settings()
    if len(raw) > settings.email_max_bytes:
        from app.errors import PayloadTooLarge

        raise PayloadTooLarge(f"message larger than {settings.email_max_bytes} bytes")
    app_settings = get_settings()
    mail = parse_mail(
        raw,
        max_files=app_settings.max_attachments,
        max_file_bytes=app_settings.max_attachment_bytes,
        our_domain=settings.mail_domain,
        our_address=settings.mail_from,
        authserv_id=settings.mail_authserv_id,
    )
    if mail.auto:
        return IngestResult("ignored", detail=mail.auto)
    if mail.message_id and await seen(session, SOURCE, mail.message_id):
        return IngestResult("duplicate", detail=f"{mail.message_id} was processed before")
    sender = await person(session, email=mail.from_email, name=mail.from_name)
    ticket = await _thread_target(session, mail, sender)
    text = trim_quoted(mail.text) if ticket is not None else mail.text.strip()
    if mail.dropped:
        text += "\n\n[attachments not kept: " + "; ".join(mail.dropped) + "]"
    effect = Effect(SOURCE, mail.message_id, refs=[mail.message_id] if mail.message_id else [])
    try:
        async with remembering(session, effect):
            if ticket is not None:
                await post_message(
                    session,
                    pk(ticket),
                    MessageCreate(body=(text or "(empty reply)")[:BODY_MAX]),
                    actor=principal_of(sender),
                    channel=Channel.email,
                    files=mail.files,
                )
                return IngestResult("message", ticket_key(pk(ticket)))
            title = (
                re.sub(r"^((re|fwd?|aw|wg)\s*:\s*)+", "", mail.subject, flags=re.I).strip()[:200]
                or "(no subject)"
            )
            created = await submit_ticket(
                session,
                TicketCreate(
                    title=title,
                    body=text[:BODY_MAX],
                    requester_email=sender.email,
                    requester_name=sender.name,
                    channel=Channel.email,
                ),
                files=mail.files,
                verified=mail.verified,
            )
            return IngestResult("created", ticket_key(pk(created)))
    except Conflict:
        # The same Message-ID raced in through another delivery and won.
        if mail.message_id and await seen(session, SOURCE, mail.message_id):
            return IngestResult("duplicate", detail=f"{mail.message_id} was processed before")
        raise
