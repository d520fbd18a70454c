"""Ticket use cases: intake, triage, claiming, conversation, votes and links.

Every public function here is one use case and commits once (through `transaction`).
Writers go through `writing`: it loads the ticket inside the transaction with a row lock
(`lock_ticket`), so two people acting on one ticket at once are serialised and the loser
sees the winner's state; `TicketWrite.done` then stamps the ticket, runs the hooks,
re-ranks it and records its events, the same way for every kind of change.

Whoever acts is a `Principal` (staff, a portal contact, or an integration's author through
`principal_of`); `None` is the system itself (auto-close after quiet days).
"""

import base64
import binascii
import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, union_all
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.service import changes, record_event
from app.auth.policy import Principal
from app.auth.uploads import upload_refusal
from app.community.models import Community, Membership, MembershipRole
from app.community.service import community_for_person, representatives
from app.config import get_settings
from app.db import keep_loaded, memo, pk, transaction, utcnow
from app.errors import (
    AlreadyClaimed,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedMediaType,
)
from app.ticket.canned import safe_fill
from app.ticket.enums import Channel, MessageKind, Status, TicketType
from app.ticket.hooks import TicketChange, run_ticket_hooks
from app.ticket.models import (
    Attachment,
    CannedReply,
    Link,
    LinkCreate,
    Message,
    MessageCreate,
    Tag,
    Ticket,
    TicketCreate,
    TicketTag,
    TicketUpdate,
    Vote,
)
from app.ticket.ranking import refresh_rank
from app.ticket.triage import check_transition, is_reopen
from app.user.models import User
from app.user.service import ensure_contact, get_user_by_email, normalise_email

TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_:.-]{0,47}$")
KEY_RE = re.compile(r"^(?:([A-Za-z][A-Za-z0-9]*)-)?(\d{1,12})$")


def ticket_key(ticket_id: int) -> str:
    return f"{get_settings().ticket_prefix}-{ticket_id}"


def parse_ticket_ref(ref: str | int) -> int | None:
    """`42`, `SUP-42` and `sup-42` all name ticket 42; anything else names nothing."""
    match = KEY_RE.match(str(ref).strip())
    return int(match.group(2)) if match else None


def normalise_tag(raw: str) -> str:
    tag = raw.strip().lower().replace(" ", "-")
    if not TAG_RE.match(tag):
        raise InvalidInput(
            f"bad tag {raw!r}: use letters, digits, - _ : . (max 48)", code="bad_tag"
        )
    return tag


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


def check_uploads(files: list[UploadedFile]) -> list[UploadedFile]:
    settings = get_settings()
    files = [f for f in files if f.filename or f.data]
    if len(files) > settings.max_attachments:
        raise PayloadTooLarge(
            f"at most {settings.max_attachments} files per request", code="too_many_files"
        )
    for f in files:
        if len(f.data) > settings.max_attachment_bytes:
            limit_mb = settings.max_attachment_bytes / 1024 / 1024
            raise PayloadTooLarge(
                f"{f.filename} is larger than {limit_mb:g} MB", code="file_too_large"
            )
        if reason := upload_refusal(f.filename or "", f.content_type or "", f.data[:8]):
            raise UnsupportedMediaType(reason, code="file_type_refused")
    return files


def _attach(
    session: AsyncSession,
    ticket: Ticket,
    files: list[UploadedFile],
    *,
    uploader_id: int | None,
    message_id: int | None = None,
) -> None:
    for f in files:
        name = re.sub(r"[\\/\x00-\x1f]", "_", f.filename or "upload")[-255:]
        session.add(
            Attachment(
                ticket_id=pk(ticket),
                message_id=message_id,
                filename=name,
                content_type=(f.content_type or "application/octet-stream")[:127],
                size=len(f.data),
                sha256=hashlib.sha256(f.data).hexdigest(),
                data=f.data,
                uploaded_by_id=uploader_id,
            )
        )


# --- reading -------------------------------------------------------------------------------


async def get_ticket(session: AsyncSession, ref: str | int) -> Ticket | None:
    ticket_id = parse_ticket_ref(ref)
    return await session.get(Ticket, ticket_id) if ticket_id is not None else None


async def lock_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    """Load the ticket for writing: a row lock on PostgreSQL, the write lock on SQLite."""
    stmt = (
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    ticket = (await session.exec(stmt)).first()
    if ticket is None:
        raise NotFound(f"ticket {ticket_key(ticket_id)} does not exist")
    return ticket


def actor_id(actor: Principal | None) -> int | None:
    return actor.user_id if actor is not None else None


@dataclass
class TicketWrite:
    """One change to one locked ticket: what it does, then `done` says what kind it was."""

    session: AsyncSession
    ticket: Ticket
    actor_id: int | None
    now: datetime
    _events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def event(self, kind: str, data: dict[str, Any]) -> None:
        """An audit event about this ticket, recorded by `done` after the hooks ran."""
        self._events.append((kind, data))

    async def done(
        self,
        kind: str,
        *,
        fields: frozenset[str] = frozenset(),
        status_before: str | None = None,
        status_after: str | None = None,
        message_kind: str | None = None,
        by_staff: bool | None = None,
        held_unverified: bool = False,
    ) -> Ticket:
        """Stamp the ticket, run the hooks, re-rank it and record its events (in that order).
        `kind` and the rest describe the change to the hooks (see TicketChange)."""
        ticket = self.ticket
        ticket.updated_at = self.now
        await run_ticket_hooks(
            self.session,
            ticket,
            TicketChange(
                kind=kind,
                now=self.now,
                actor_id=self.actor_id,
                fields=fields,
                status_before=status_before,
                status_after=status_after,
                message_kind=message_kind,
                by_staff=by_staff,
                held_unverified=held_unverified,
            ),
        )
        await refresh_rank(self.session, ticket)
        for event_kind, data in self._events:
            record_event(
                self.session,
                event_kind,
                subject_type="ticket",
                subject_id=pk(ticket),
                ticket_id=pk(ticket),
                community_id=ticket.community_id,
                actor_id=self.actor_id,
                data=data,
            )
        return ticket


@asynccontextmanager
async def writing(
    session: AsyncSession, ref: str | int, actor: Principal | None
) -> AsyncIterator[TicketWrite]:
    """One use case's transaction over the ticket `ref` names, locked; NotFound if none."""
    ticket_id = parse_ticket_ref(ref)
    if ticket_id is None:
        raise NotFound(f"no ticket {ref}")
    async with transaction(session):
        ticket = await lock_ticket(session, ticket_id)
        yield TicketWrite(session, ticket, actor_id(actor), utcnow())


async def tags_by_ticket(session: AsyncSession, ticket_ids: list[int]) -> dict[int, list[str]]:
    if not ticket_ids:
        return {}
    if not set(ticket_ids) - memo(session, FRESH_TICKETS).keys():
        return {i: [] for i in ticket_ids}  # all created in this session, untagged: nothing to ask
    stmt = (
        select(TicketTag.ticket_id, Tag.name)
        .join(Tag, col(Tag.id) == TicketTag.tag_id)
        .where(col(TicketTag.ticket_id).in_(ticket_ids))
        .order_by(col(Tag.name))
    )
    out: dict[int, list[str]] = {i: [] for i in ticket_ids}
    for ticket_id, name in (await session.exec(stmt)).all():
        out[ticket_id].append(name)
    return out


@dataclass
class TicketFilter:
    statuses: list[Status] = field(default_factory=list)
    type: TicketType | None = None
    community: str | None = None
    assignee: str | None = None  # a user id, "me" or "none"
    channel: Channel | None = None
    tag: str | None = None
    text: str | None = None
    sort: str = "priority"  # priority | age (oldest first) | -age (newest first)
    # A subquery of ticket ids to keep (other domains' filters, e.g. the SLA's "breached").
    only_ids: Any = None


SORTS = ("priority", "age", "-age")


def encode_cursor(sort: str, values: list[Any]) -> str:
    raw = json.dumps({"s": sort, "k": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        values = data["k"]
        if data["s"] != sort or not isinstance(values, list) or len(values) != 2:
            raise ValueError
        if not isinstance(values[1], int) or not isinstance(values[0], str):
            raise ValueError
        return values
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "cursor is not valid for this query; start again without it", code="bad_cursor"
        ) from None


def _sort_key(sort: str) -> tuple[Any, bool]:
    """(column, descending) of a sort; ties are broken by id in the same direction."""
    if sort == "priority":
        return col(Ticket.rank_key), False
    return col(Ticket.created_at), sort == "-age"


def _in_order(stmt: Any, sort: str) -> Any:
    key, desc = _sort_key(sort)
    return (
        stmt.order_by(key.desc(), col(Ticket.id).desc())
        if desc
        else stmt.order_by(key, col(Ticket.id))
    )


def _after_cursor(sort: str, last: Any, last_id: int) -> Any:
    key, desc = _sort_key(sort)
    if desc:
        return or_(key < last, and_(key == last, col(Ticket.id) < last_id))
    return or_(key > last, and_(key == last, col(Ticket.id) > last_id))


async def list_tickets(
    session: AsyncSession,
    flt: TicketFilter,
    *,
    viewer_id: int | None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Ticket], str | None]:
    if flt.sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", code="bad_sort")
    conds: list[Any] = []
    if flt.type:
        conds.append(Ticket.type == flt.type.value)
    if flt.channel:
        conds.append(Ticket.channel == flt.channel.value)
    if flt.community:
        conds.append(
            Ticket.community_id
            == select(Community.id).where(Community.slug == flt.community).scalar_subquery()
        )
    if flt.assignee:
        if flt.assignee == "none":
            conds.append(col(Ticket.assignee_id).is_(None))
        elif flt.assignee == "me":
            conds.append(Ticket.assignee_id == viewer_id)
        elif flt.assignee.isdigit():
            conds.append(Ticket.assignee_id == int(flt.assignee))
        else:
            raise InvalidInput("assignee must be a user id, 'me' or 'none'", code="bad_assignee")
    if flt.tag:
        tagged = (
            select(TicketTag.ticket_id)
            .join(Tag, col(Tag.id) == TicketTag.tag_id)
            .where(Tag.name == flt.tag.lower())
        )
        conds.append(col(Ticket.id).in_(tagged))
    if flt.only_ids is not None:
        conds.append(col(Ticket.id).in_(flt.only_ids))
    if flt.text:
        term = (
            "%"
            + flt.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            + "%"
        )
        conds.append(
            or_(
                col(Ticket.title).ilike(term, escape="\\"),
                col(Ticket.body).ilike(term, escape="\\"),
            )
        )
    if cursor:
        last, last_id = decode_cursor(cursor, flt.sort)
        if flt.sort != "priority":
            try:
                last = datetime.fromisoformat(last)
            except ValueError:
                raise InvalidInput(
                    "cursor is not valid for this query", code="bad_cursor"
                ) from None
        conds.append(_after_cursor(flt.sort, last, last_id))

    # Each ticket's requester is loaded alongside it into the session, where ticket/views.py
    # looks first: showing a page of tickets then needs no query of its own for them.
    stmt = select(Ticket, User).outerjoin(User, col(User.id) == Ticket.requester_id)
    statuses = list(dict.fromkeys(s.value for s in flt.statuses))
    if len(statuses) > 1:
        # An IN list over the (status, key, id) index cannot come back in key order, so the
        # database would read and sort every matching ticket (all 10,000 open ones) for one
        # page. Instead take the ids of the first page of each status from its own index
        # range and sort only those: the same rows in the same order.
        firsts = union_all(
            *(
                select(
                    _in_order(select(Ticket.id).where(*conds, Ticket.status == s), flt.sort)
                    .limit(limit + 1)
                    .subquery()
                )
                for s in statuses
            )
        )
        stmt = stmt.where(col(Ticket.id).in_(firsts))
    else:
        stmt = stmt.where(*conds, *(Ticket.status == s for s in statuses))
    result = (await session.exec(_in_order(stmt, flt.sort).limit(limit + 1))).all()
    keep_loaded(session, *(requester for _ticket, requester in result))
    rows = [ticket for ticket, _requester in result]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        tail = rows[-1]
        value = tail.rank_key if flt.sort == "priority" else tail.created_at.isoformat()
        next_cursor = encode_cursor(flt.sort, [value, tail.id])
    return rows, next_cursor


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    stmt = select(Ticket.status, func.count()).group_by(Ticket.status)
    return {status: n for status, n in (await session.exec(stmt)).all()}


# --- intake --------------------------------------------------------------------------------

# Tickets created in this unit of work that nothing has been attached to yet (tags, incident
# links): their views and their rank need not ask for either. A `memo` (app/db.py), so it is
# dropped when the next transaction starts; whoever attaches something removes the ticket.
FRESH_TICKETS = "fresh_tickets"

# Channels where the request itself names no community, so the requester's identity decides.
OUTSIDE_CHANNELS = (Channel.email, Channel.github, Channel.slack)


async def _requester_and_role(
    session: AsyncSession, email: str, community: Community | None
) -> tuple[User | None, str | None]:
    """The person with this e-mail and their role in `community`, in one query."""
    if community is None:
        return await get_user_by_email(session, email), None
    stmt = (
        select(User, Membership.role)
        .outerjoin(
            Membership,
            (col(Membership.user_id) == User.id) & (col(Membership.community_id) == community.id),
        )
        .where(User.email == normalise_email(email))
    )
    row = (await session.exec(stmt)).first()
    return (row[0], row[1]) if row else (None, None)


async def submit_ticket(
    session: AsyncSession,
    data: TicketCreate,
    *,
    actor: Principal | None = None,
    files: list[UploadedFile] | None = None,
    verified: bool = True,
) -> Ticket:
    """Open a ticket from any channel.

    Only representatives may open tickets for a community; anyone else's request waits for
    a representative's approval (community-support-desk.md). `verified` False: nobody proved
    they own `requester_email` (typed into a form, unauthenticated mail), so it never carries
    a representative's or staff member's rights: such a request is held awaiting approval
    until that address confirms it (the `held_unverified` change tells the hooks).
    """
    files = check_uploads(files or [])
    community: Community | None = None
    if data.community:
        community = (
            await session.exec(select(Community).where(Community.slug == data.community))
        ).first()
        if community is None:
            raise InvalidInput(f"unknown community {data.community!r}", code="unknown_community")
    elif data.channel in OUTSIDE_CHANNELS:
        # Nobody chose a community: the person's membership (or their address's domain) says which.
        known = await get_user_by_email(session, data.requester_email)
        known_id = known.id if known else None
        community = await community_for_person(session, known_id, data.requester_email)
    # Look the requester up before taking the write lock: with SQLite every write waits on
    # that lock, so reads done while holding it slow down every other request.
    requester, role = await _requester_and_role(session, data.requester_email, community)
    now = utcnow()
    async with transaction(session):
        if requester is None:
            # New contact; another request may have added them a moment ago, so look again under the lock.
            requester, role = await _requester_and_role(session, data.requester_email, community)
        requester = ensure_contact(session, requester, data.requester_email, data.requester_name)
        await session.flush()
        status = Status.new
        privileged = requester.is_staff or role == MembershipRole.representative
        held = privileged and not verified
        if held or (community is not None and not privileged):
            status = Status.awaiting_approval
        ticket = Ticket(
            title=data.title,
            body=data.body,
            channel=data.channel.value,
            status=status,
            type=data.type,
            urgency=data.urgency,
            requester_id=requester.id,
            community_id=community.id if community else None,
            funded=bool(community and community.funded),
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        await session.flush()
        memo(session, FRESH_TICKETS)[ticket.id] = True
        _attach(session, ticket, files, uploader_id=requester.id)
        keep_loaded(session, requester, community)
        write = TicketWrite(session, ticket, actor.user_id if actor else requester.id, now)
        write.event(
            "ticket.created",
            {
                "title": ticket.title,
                "status": ticket.status,
                "channel": ticket.channel,
                "type": ticket.type,
                "urgency": ticket.urgency,
                "requester_id": requester.id,
                "attachments": len(files),
                **({"held": "unverified requester"} if held else {}),
            },
        )
        return await write.done("created", status_after=ticket.status, held_unverified=held)


# --- triage --------------------------------------------------------------------------------

_PLAIN_FIELDS = (
    "title",
    "body",
    "type",
    "urgency",
    "criticality",
    "has_workaround",
    "data_loss",
    "affected_users",
    "affected_communities",
    "blocks_priority_team",
    "funded",
    "fits_goals",
    "next_update_at",
    "milestone",
)


def _apply_status(ticket: Ticket, target: Status, now: datetime) -> dict[str, Any]:
    before = ticket.status
    check_transition(before, target)
    ticket.status = target
    if target == Status.resolved:
        ticket.resolved_at = now
    elif target == Status.closed:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif is_reopen(before, target):
        ticket.resolved_at = None
        ticket.closed_at = None
    if target in (Status.resolved, Status.closed):
        ticket.claimed_by_id = None  # nobody is "looking at" finished work
        ticket.claimed_at = None
    return {"before": before.value, "after": target.value, "reopened": is_reopen(before, target)}


async def _set_tags(
    session: AsyncSession, ticket: Ticket, names: list[str]
) -> tuple[list[str], list[str]]:
    memo(session, FRESH_TICKETS).pop(ticket.id, None)
    wanted = sorted({normalise_tag(n) for n in names})
    current = (await tags_by_ticket(session, [pk(ticket)]))[pk(ticket)]
    added = [t for t in wanted if t not in current]
    removed = [t for t in current if t not in wanted]
    if removed:
        ids = select(Tag.id).where(col(Tag.name).in_(removed))
        await session.exec(
            delete(TicketTag).where(
                col(TicketTag.ticket_id) == ticket.id, col(TicketTag.tag_id).in_(ids)
            )
        )
    for name in added:
        tag = (await session.exec(select(Tag).where(Tag.name == name))).first()
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
            await session.flush()
        session.add(TicketTag(ticket_id=pk(ticket), tag_id=pk(tag)))
    return added, removed


async def _staff_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_staff:
        raise InvalidInput(f"user {user_id} is not an active staff member", code="bad_assignee")
    return user


async def _regrade_for_community(
    session: AsyncSession, ticket: Ticket, *, keep_funded: bool, keep_status: bool
) -> dict[str, Any]:
    """After `ticket.community_id` changed: funding follows the community, and a request not
    yet started waits for approval exactly when submit_ticket would have made it wait.
    Rank and budget follow in `done()`. Returns the changes."""
    out: dict[str, Any] = {}
    community = await session.get(Community, ticket.community_id) if ticket.community_id else None
    funded = bool(community and community.funded)
    if not keep_funded and ticket.funded != funded:
        out["funded"] = {"before": ticket.funded, "after": funded}
        ticket.funded = funded
    if keep_status or ticket.status not in (Status.new, Status.awaiting_approval):
        return out
    requester = await session.get(User, ticket.requester_id) if ticket.requester_id else None
    role = None
    if community is not None and requester is not None:
        role = (
            await session.exec(
                select(Membership.role).where(
                    Membership.community_id == community.id, Membership.user_id == requester.id
                )
            )
        ).first()
    waits = (
        community is not None
        and not (requester is not None and requester.is_staff)
        and role != MembershipRole.representative
    )
    target = Status.awaiting_approval if waits else Status.new
    if ticket.status != target:
        # Not a move anyone makes by hand (check_transition refuses it): the rule re-applied.
        out["status"] = {
            "before": Status(ticket.status).value,
            "after": target.value,
            "reopened": False,
            "reason": "community changed",
        }
        ticket.status = target
    return out


async def update_ticket(
    session: AsyncSession,
    ref: str | int,
    patch: TicketUpdate,
    *,
    actor: Principal,
    if_match: int | None = None,
) -> Ticket:
    fields = patch.model_dump(exclude_unset=True)
    for name in (
        "title",
        "status",
        "type",
        "urgency",
        "affected_communities",
        "data_loss",
        "blocks_priority_team",
        "funded",
        "fits_goals",
    ):
        if name in fields and fields[name] is None:
            raise InvalidInput(f"{name} cannot be null", code="null_field")
    async with writing(session, ref, actor) as write:
        ticket = write.ticket
        if if_match is not None and if_match != ticket.version:
            raise PreconditionFailed(
                f"ticket changed since version {if_match} (now {ticket.version}); reload and retry",
                extra={"version": ticket.version},
            )
        before = {name: getattr(ticket, name) for name in _PLAIN_FIELDS}
        for name in _PLAIN_FIELDS:
            if name in fields:
                value = fields[name]
                if isinstance(value, datetime):
                    value = value.astimezone(
                        UTC
                    )  # stored and returned in UTC whatever offset was sent
                setattr(ticket, name, value)
        plain = changes(
            before, {name: getattr(ticket, name) for name in _PLAIN_FIELDS if name in fields}
        )
        regrade: dict[str, Any] = {}

        if "community" in fields:
            slug = fields["community"]
            community_id = None
            if slug:
                community = (
                    await session.exec(select(Community).where(Community.slug == slug))
                ).first()
                if community is None:
                    raise InvalidInput(f"unknown community {slug!r}", code="unknown_community")
                community_id = community.id
            if community_id != ticket.community_id:
                plain["community_id"] = {"before": ticket.community_id, "after": community_id}
                ticket.community_id = community_id
                regrade = await _regrade_for_community(
                    session, ticket, keep_funded="funded" in fields, keep_status="status" in fields
                )
                if "funded" in regrade:
                    plain["funded"] = regrade["funded"]

        status_change = None
        if "community_id" in plain and regrade.get("status"):
            status_change = regrade["status"]
        if "status" in fields and fields["status"] != ticket.status:
            status_change = _apply_status(ticket, fields["status"], write.now)

        assign_change = None
        if "assignee_id" in fields and fields["assignee_id"] != ticket.assignee_id:
            if fields["assignee_id"] is not None:
                await _staff_user(session, fields["assignee_id"])
            assign_change = {"before": ticket.assignee_id, "after": fields["assignee_id"]}
            ticket.assignee_id = fields["assignee_id"]

        tag_change = None
        if fields.get("tags") is not None:
            added, removed = await _set_tags(session, ticket, fields["tags"])
            if added or removed:
                tag_change = {"added": added, "removed": removed}

        if not (plain or status_change or assign_change or tag_change):
            return ticket  # nothing to do: no version bump, no event
        changed = (
            set(plain)
            | ({"status"} if status_change else set())
            | ({"assignee_id"} if assign_change else set())
        )
        if status_change:
            write.event("ticket.status_changed", status_change)
        if assign_change:
            write.event("ticket.assigned", assign_change)
        if plain:
            write.event("ticket.updated", {"changes": plain})
        if tag_change:
            write.event("ticket.tagged", tag_change)
        return await write.done(
            "status" if status_change else "updated",
            fields=frozenset(changed | ({"tags"} if tag_change else set())),
            status_before=status_change["before"] if status_change else None,
            status_after=status_change["after"] if status_change else None,
        )


async def move_locked_ticket(
    session: AsyncSession,
    ticket: Ticket,
    target: Status,
    *,
    actor: Principal | None,
    reason: str,
    now: datetime,
) -> Ticket:
    """Change the status of a ticket the caller has locked inside its transaction, with the
    same rule, hooks, rank and event as `update_ticket`; `reason` goes into the event (the
    requester confirmed, auto-closed after N quiet days...). `actor` None: the system."""
    write = TicketWrite(session, ticket, actor_id(actor), now)
    change = _apply_status(ticket, target, now)
    write.event("ticket.status_changed", {**change, "reason": reason})
    return await write.done(
        "status",
        fields=frozenset({"status"}),
        status_before=change["before"],
        status_after=change["after"],
    )


async def change_status(
    session: AsyncSession, ref: str | int, target: Status, *, actor: Principal
) -> Ticket:
    return await update_ticket(session, ref, TicketUpdate(status=target), actor=actor)


async def claim_ticket(session: AsyncSession, ref: str | int, *, actor: Principal) -> Ticket:
    """Say "I'm looking at this" (the 👀 of the Slack processes). Exactly one person wins."""
    async with writing(session, ref, actor) as write:
        ticket = write.ticket
        if ticket.claimed_by_id == actor.user_id:
            return ticket
        if ticket.claimed_by_id is not None:
            holder = await session.get(User, ticket.claimed_by_id)
            raise AlreadyClaimed(
                f"{holder.name if holder else 'someone'} already claimed this ticket",
                extra={"claimed_by": holder.name if holder else None},
            )
        if ticket.status in (Status.resolved, Status.closed):
            raise Conflict(
                f"ticket is {ticket.status}; reopen it before claiming", code="ticket_finished"
            )
        ticket.claimed_by_id = actor.user_id
        ticket.claimed_at = write.now
        data: dict[str, Any] = {"claimed_by": actor.user_id}
        if ticket.assignee_id is None:
            ticket.assignee_id = actor.user_id  # claiming unowned work takes ownership
            data["assigned"] = True
        write.event("ticket.claimed", data)
        return await write.done("claimed")


async def release_claim(session: AsyncSession, ref: str | int, *, actor: Principal) -> Ticket:
    async with writing(session, ref, actor) as write:
        ticket = write.ticket
        if ticket.claimed_by_id is None:
            return ticket
        if ticket.claimed_by_id != actor.user_id and actor.staff_role not in ("admin", "triager"):
            raise AlreadyClaimed(
                "only the person who claimed it, a triager or an admin can release the claim"
            )
        write.event("ticket.unclaimed", {"was_claimed_by": ticket.claimed_by_id})
        ticket.claimed_by_id = None
        ticket.claimed_at = None
        return await write.done("unclaimed")


# --- conversation --------------------------------------------------------------------------


async def post_message(
    session: AsyncSession,
    ref: str | int,
    data: MessageCreate,
    *,
    actor: Principal,
    channel: Channel = Channel.web,
    files: list[UploadedFile] | None = None,
) -> Message:
    """Add a public reply or an internal note.

    The first public staff reply stops the first-response clock; a requester's reply to a
    ticket pending on them puts it back in the team's court (open).
    """
    async with writing(session, ref, actor) as write:
        if data.kind == MessageKind.internal and not actor.is_staff:
            raise InvalidInput(
                "only staff can write internal notes", code="internal_note_forbidden"
            )
        return await _add_message(
            write, data, by_staff=actor.is_staff, channel=channel, files=check_uploads(files or [])
        )


async def add_message_in_transaction(
    session: AsyncSession,
    ticket: Ticket,
    data: MessageCreate,
    *,
    actor: Principal,
    channel: Channel = Channel.web,
) -> Message:
    """`post_message`'s rules for a caller already inside a transaction holding the ticket's lock
    (an incident update replies on every linked ticket in the same commit as the update)."""
    write = TicketWrite(session, ticket, actor.user_id, utcnow())
    return await _add_message(write, data, by_staff=actor.is_staff, channel=channel, files=[])


async def _add_message(
    write: TicketWrite,
    data: MessageCreate,
    *,
    by_staff: bool,
    channel: Channel,
    files: list[UploadedFile],
) -> Message:
    session, ticket, now = write.session, write.ticket, write.now
    message = Message(
        ticket_id=pk(ticket),
        author_id=write.actor_id,
        kind=data.kind.value,
        body=data.body,
        channel=channel.value,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    _attach(session, ticket, files, uploader_id=write.actor_id, message_id=message.id)
    write.event(
        "ticket.message_added",
        {
            "message_id": message.id,
            "kind": message.kind,
            "staff": by_staff,
            "attachments": len(files),
        },
    )
    public = data.kind == MessageKind.public
    status_before = ticket.status
    if public and by_staff and ticket.first_response_at is None:
        ticket.first_response_at = now
        write.event("ticket.first_response", {"message_id": message.id})
    if public and not by_staff and ticket.status == Status.pending:
        write.event(
            "ticket.status_changed",
            {**_apply_status(ticket, Status.open, now), "reason": "requester replied"},
        )
    await write.done(
        "message",
        message_kind=message.kind,
        by_staff=by_staff,
        status_before=status_before,
        status_after=ticket.status,
    )
    return message


async def list_messages(
    session: AsyncSession, ticket_id: int, *, include_internal: bool
) -> list[Message]:
    stmt = select(Message).where(Message.ticket_id == ticket_id)
    if not include_internal:
        stmt = stmt.where(Message.kind == MessageKind.public)
    return list((await session.exec(stmt.order_by(col(Message.created_at), col(Message.id)))).all())


async def list_attachments(session: AsyncSession, ticket_id: int) -> list[Attachment]:
    stmt = (
        select(Attachment)
        .where(Attachment.ticket_id == ticket_id)
        .order_by(col(Attachment.id))
        .options()  # data column is loaded lazily below only when downloading
    )
    return list((await session.exec(stmt)).all())


async def get_attachment(
    session: AsyncSession, ticket_id: int, attachment_id: int
) -> Attachment | None:
    att = await session.get(Attachment, attachment_id)
    return att if att and att.ticket_id == ticket_id else None


# --- votes and links -----------------------------------------------------------------------


async def add_vote(
    session: AsyncSession, ref: str | int, *, voter_email: str | None, actor: Principal
) -> Ticket:
    """A +1 from a distinct person; the same person twice is a 409."""
    async with writing(session, ref, actor) as write:
        ticket = write.ticket
        if voter_email:
            voter = ensure_contact(
                session, await get_user_by_email(session, voter_email), voter_email, None
            )
            await session.flush()
        else:
            voter = await session.get_one(User, actor.user_id)  # the signed-in actor exists
        exists = (
            await session.exec(
                select(Vote.id).where(Vote.ticket_id == ticket.id, Vote.user_id == voter.id)
            )
        ).first()
        if exists:
            raise Conflict(f"{voter.name} has already voted for this ticket", code="already_voted")
        session.add(Vote(ticket_id=pk(ticket), user_id=pk(voter)))
        ticket.vote_count += 1
        write.event("ticket.vote_added", {"voter_id": voter.id, "vote_count": ticket.vote_count})
        return await write.done("voted")


async def remove_vote(
    session: AsyncSession, ref: str | int, *, voter_id: int, actor: Principal
) -> Ticket:
    async with writing(session, ref, actor) as write:
        ticket = write.ticket
        vote = (
            await session.exec(
                select(Vote).where(Vote.ticket_id == ticket.id, Vote.user_id == voter_id)
            )
        ).first()
        if vote is None:
            raise NotFound("no such vote on this ticket")
        await session.delete(vote)
        ticket.vote_count = max(0, ticket.vote_count - 1)
        write.event("ticket.vote_removed", {"voter_id": voter_id, "vote_count": ticket.vote_count})
        return await write.done("voted")


async def list_voters(session: AsyncSession, ticket_id: int) -> list[User]:
    stmt = (
        select(User)
        .join(Vote, col(Vote.user_id) == User.id)
        .where(Vote.ticket_id == ticket_id)
        .order_by(col(Vote.id))
    )
    return list((await session.exec(stmt)).all())


async def add_link(
    session: AsyncSession, ref: str | int, data: LinkCreate, *, actor: Principal
) -> Link:
    url = str(data.url)
    async with writing(session, ref, actor) as write:
        ticket = write.ticket
        if (
            await session.exec(select(Link.id).where(Link.ticket_id == ticket.id, Link.url == url))
        ).first():
            raise Conflict("this link is already on the ticket", code="duplicate_link")
        link = Link(
            ticket_id=pk(ticket),
            url=url,
            title=data.title.strip(),
            kind=data.kind.value,
            created_by_id=actor.user_id,
        )
        session.add(link)
        await session.flush()
        write.event(
            "ticket.link_added",
            {"link_id": link.id, "url": url, "kind": link.kind, "title": link.title},
        )
        await write.done("linked")
    return link


async def remove_link(
    session: AsyncSession, ref: str | int, link_id: int, *, actor: Principal
) -> None:
    async with writing(session, ref, actor) as write:
        link = await session.get(Link, link_id)
        if link is None or link.ticket_id != write.ticket.id:
            raise NotFound("no such link on this ticket")
        await session.delete(link)
        write.event("ticket.link_removed", {"url": link.url})
        await write.done("linked")


async def list_links(session: AsyncSession, ticket_id: int) -> list[Link]:
    return list(
        (
            await session.exec(
                select(Link).where(Link.ticket_id == ticket_id).order_by(col(Link.id))
            )
        ).all()
    )


# --- canned replies ------------------------------------------------------------------------


async def list_canned_replies(
    session: AsyncSession, *, ticket_type: str | None = None
) -> list[CannedReply]:
    """All canned replies; those written for `ticket_type` first."""
    rows = list((await session.exec(select(CannedReply).order_by(col(CannedReply.title)))).all())
    if ticket_type:
        rows.sort(
            key=lambda c: 0 if c.ticket_type == ticket_type else (1 if c.ticket_type is None else 2)
        )
    return rows


async def render_canned_reply(
    session: AsyncSession, slug: str, ticket: Ticket, *, agent_name: str
) -> tuple[CannedReply, str]:
    canned = (await session.exec(select(CannedReply).where(CannedReply.slug == slug))).first()
    if canned is None:
        raise NotFound(f"no canned reply {slug!r}")
    requester = await session.get(User, ticket.requester_id) if ticket.requester_id else None
    community = await session.get(Community, ticket.community_id) if ticket.community_id else None
    reps = await representatives(session, ticket.community_id) if ticket.community_id else []
    name = requester.name if requester else "there"
    values = {
        "requester_name": name,
        "requester_first_name": name.split()[0] if name.split() else name,
        "ticket_key": ticket_key(pk(ticket)),
        "ticket_title": ticket.title,
        "agent_name": agent_name,
        "community_name": community.name if community else "your team",
        "representatives": ", ".join(r.name for r in reps) or "representatives",
    }
    return canned, safe_fill(canned.body, values)
