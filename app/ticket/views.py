"""Shaping tickets for output, shared by the JSON API and the pages.

Related rows are loaded in batches (one query per kind for a whole page of tickets), so a
board page of 100 tickets costs a fixed handful of queries. The API and the ticket page get
`TicketPublic`; the board's rows get `BoardTicket`, the same fields it draws without the
model's validation (see there why).
"""

from collections.abc import Awaitable, Callable, Iterable, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar, overload

from sqlalchemy import inspect
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import Event, EventPublic
from app.community.models import Community
from app.db import pk
from app.markdown import render_markdown
from app.registry import Hooks
from app.ticket.enums import Channel, Criticality, MessageKind, Status, TicketType, Urgency
from app.ticket.models import (
    CommunityRef,
    Link,
    LinkPublic,
    Message,
    MessagePublic,
    Ticket,
    TicketPublic,
)
from app.ticket.ranking import rank_contexts, rank_with
from app.ticket.service import tags_by_ticket, ticket_key
from app.ticket.triage import explain
from app.user.models import User, UserRef

# Extra fields other domains add to each ticket's output (the SLA adds `sla`): each provider
# gets (session, tickets) and returns {ticket_id: {field: value}}, one batch per page.
ViewExtra = Callable[[AsyncSession, list[Ticket]], Awaitable[dict[int, dict]]]
TICKET_VIEW_EXTRAS: Hooks[ViewExtra] = Hooks("ticket view extras")  # filled by app/wiring.py
# The same for the board's rows (`BoardTicket`), whose fields are lighter (the SLA adds its countdowns).
BOARD_VIEW_EXTRAS: Hooks[ViewExtra] = Hooks("board view extras")
# The same for messages (integrations add `delivery`): (session, messages) → {message_id: {field: value}}.
MessageExtra = Callable[[AsyncSession, list[Message]], Awaitable[dict[int, dict]]]
MESSAGE_VIEW_EXTRAS: Hooks[MessageExtra] = Hooks("message view extras")


_Model = TypeVar("_Model", bound=SQLModel)
# Rows by id, keyed `int | None` so a nullable foreign key is looked up as it is (None never matches).
ById = dict[int | None, _Model]


def _already_loaded(session: AsyncSession, model: type[_Model], ids: set[int]) -> ById[_Model]:
    """Rows this request's session already holds (sessions don't expire on commit), by id.

    A row expired since (a rollback expires everything) is left out: reading it would mean
    a lazy load, which async code cannot do; the caller's query refreshes it instead.
    """
    identity_map = session.sync_session.identity_map
    found: ById[_Model] = {}
    for i in ids:
        obj = identity_map.get(session.sync_session.identity_key(model, i))
        if obj is not None and not inspect(obj).expired_attributes:
            found[i] = obj
    return found


async def users_by_id(session: AsyncSession, ids: Set[int | None]) -> ById[User]:
    wanted = {i for i in ids if i is not None}
    found = _already_loaded(session, User, wanted)
    if missing := wanted - found.keys():
        found.update(
            (pk(u), u)
            for u in (await session.exec(select(User).where(col(User.id).in_(missing)))).all()
        )
    return found


async def communities_by_id(session: AsyncSession, ids: Set[int | None]) -> ById[Community]:
    wanted = {i for i in ids if i is not None}
    found = _already_loaded(session, Community, wanted)
    if missing := wanted - found.keys():
        rows = (await session.exec(select(Community).where(col(Community.id).in_(missing)))).all()
        found.update((pk(c), c) for c in rows)
    return found


@overload
def user_ref(user: User) -> UserRef: ...


@overload
def user_ref(user: User | None) -> UserRef | None: ...


def user_ref(user: User | None) -> UserRef | None:
    return UserRef(id=pk(user), name=user.name, email=user.email) if user else None


_NOT_PUBLIC = {"requester_id", "community_id", "assignee_id", "claimed_by_id", "rank_key"}


@dataclass(frozen=True)
class _Related:
    """What a page of tickets shows from other tables, loaded in one batch per kind."""

    users: dict[int | None, UserRef | None]
    communities: dict[int | None, CommunityRef]
    tags: dict[int, list[str]]


async def _related(session: AsyncSession, tickets: list[Ticket]) -> _Related:
    users = await users_by_id(
        session,
        {t.requester_id for t in tickets}
        | {t.assignee_id for t in tickets}
        | {t.claimed_by_id for t in tickets},
    )
    communities = await communities_by_id(session, {t.community_id for t in tickets})
    tags = await tags_by_ticket(session, [pk(t) for t in tickets])
    # One reference object per person and community, shared by every row that shows them.
    return _Related(
        users={uid: user_ref(u) for uid, u in users.items()},
        communities={
            cid: CommunityRef(id=pk(c), slug=c.slug, name=c.name) for cid, c in communities.items()
        },
        tags=tags,
    )


def _related_fields(rel: _Related, t: Ticket) -> dict:
    """The fields of one ticket's output that come from other tables (both views have them)."""
    return dict(
        key=ticket_key(pk(t)),
        requester=rel.users.get(t.requester_id),
        community=rel.communities.get(t.community_id),
        assignee=rel.users.get(t.assignee_id),
        claimed_by=rel.users.get(t.claimed_by_id),
        tags=rel.tags.get(pk(t), []),
    )


async def _extras(
    session: AsyncSession, tickets: list[Ticket], providers: Iterable[ViewExtra]
) -> dict[int, dict]:
    extras: dict[int, dict] = {}
    for provider in providers:
        for ticket_id, fields in (await provider(session, tickets)).items():
            extras.setdefault(ticket_id, {}).update(fields)
    return extras


async def ticket_views(session: AsyncSession, tickets: list[Ticket]) -> list[TicketPublic]:
    if not tickets:
        return []
    rel = await _related(session, tickets)
    contexts = await rank_contexts(session, tickets)
    extras = await _extras(session, tickets, TICKET_VIEW_EXTRAS)
    out = []
    for t in tickets:
        out.append(
            TicketPublic(
                **t.model_dump(exclude=_NOT_PUBLIC),
                **_related_fields(rel, t),
                priority_reasons=rank_with(t, contexts[pk(t)]).reasons,
                **extras.get(pk(t), {}),
            )
        )
    return out


@dataclass(slots=True)
class BoardTicket:
    """What one row of the triage board shows: the fields of `TicketPublic` it reads, by the same names.

    The board is the page people keep open all day, and every change anyone makes refreshes
    it for everyone (live updates). Building the full API model for a row, with its three
    validated SLA states, cost ~65 µs more than copying these ~20 fields (6.5 ms a page;
    docs/adr/0004).
    """

    id: int
    key: str
    title: str
    status: Status
    type: TicketType
    urgency: Urgency
    criticality: Criticality | None
    channel: Channel
    created_at: datetime
    version: int
    vote_count: int
    requester: UserRef | None
    community: CommunityRef | None
    assignee: UserRef | None
    claimed_by: UserRef | None
    claimed_at: datetime | None
    tags: list[str]
    priority_reasons: list[str]
    sla: list = field(default_factory=list)  # countdowns from BOARD_VIEW_EXTRAS (the SLA plugs in)


async def _board_reasons(session: AsyncSession, tickets: list[Ticket]) -> dict[int, list[str]]:
    """Why each ticket is where it is: read from the stored key the board is ordered by."""
    reasons: dict[int, list[str]] = {}
    unranked: list[Ticket] = []
    for t in tickets:
        why = explain(
            t.rank_key,
            criticality=t.criticality,
            urgency=t.urgency,
            due_at=t.due_at,
            vote_count=t.vote_count,
        )
        if why is None:  # a key not in rank()'s form
            unranked.append(t)
        else:
            reasons[pk(t)] = why
    if unranked:
        contexts = await rank_contexts(session, unranked)
        reasons.update((pk(t), rank_with(t, contexts[pk(t)]).reasons) for t in unranked)
    return reasons


# The stored values' members, looked up directly: `Status(value)` costs ~3x a dict lookup,
# and a page converts 500 of them.
_STATUS: dict[str, Status] = {m.value: m for m in Status}
_TYPE: dict[str, TicketType] = {m.value: m for m in TicketType}
_URGENCY: dict[str, Urgency] = {m.value: m for m in Urgency}
_CHANNEL: dict[str, Channel] = {m.value: m for m in Channel}
_CRITICALITY: dict[int, Criticality] = {m.value: m for m in Criticality}


async def board_views(session: AsyncSession, tickets: list[Ticket]) -> list[BoardTicket]:
    """The board's rows for `tickets`, in their order: the page and each one-row htmx answer."""
    if not tickets:
        return []
    rel = await _related(session, tickets)
    reasons = await _board_reasons(session, tickets)
    extras = await _extras(session, tickets, BOARD_VIEW_EXTRAS)
    return [
        BoardTicket(
            id=pk(t),
            title=t.title,
            status=_STATUS[t.status],
            type=_TYPE[t.type],
            urgency=_URGENCY[t.urgency],
            criticality=_CRITICALITY[t.criticality] if t.criticality else None,
            channel=_CHANNEL[t.channel],
            created_at=t.created_at,
            version=t.version,
            vote_count=t.vote_count,
            claimed_at=t.claimed_at,
            **_related_fields(rel, t),
            priority_reasons=reasons[pk(t)],
            **extras.get(pk(t), {}),
        )
        for t in tickets
    ]


async def ticket_view(session: AsyncSession, ticket: Ticket) -> TicketPublic:
    return (await ticket_views(session, [ticket]))[0]


async def message_views(session: AsyncSession, messages: list[Message]) -> list[MessagePublic]:
    users = await users_by_id(session, {m.author_id for m in messages})
    extras = await _extras(session, messages, MESSAGE_VIEW_EXTRAS)  # type: ignore[arg-type]
    out = []
    for m in messages:
        author = users.get(m.author_id)
        out.append(
            MessagePublic(
                id=pk(m),
                ticket_id=m.ticket_id,
                author=user_ref(author),
                author_is_staff=bool(author and author.is_staff),
                kind=MessageKind(m.kind),
                body=m.body,
                body_html=render_markdown(m.body),
                channel=Channel(m.channel),
                created_at=m.created_at,
                **extras.get(pk(m), {}),
            )
        )
    return out


async def event_views(session: AsyncSession, events: list[Event]) -> list[EventPublic]:
    users = await users_by_id(session, {e.actor_id for e in events})
    return [
        EventPublic(
            **e.model_dump(exclude={"actor_id", "community_id"}),
            actor=user_ref(users.get(e.actor_id)),
        )
        for e in events
    ]


def link_views(links: list[Link]) -> list[LinkPublic]:
    return [LinkPublic(**link.model_dump()) for link in links]


_PERSON_KEYS = ("claimed_by", "was_claimed_by", "voter_id", "requester_id", "user_id")


async def event_people(session: AsyncSession, events: list[Event]) -> dict[int, str]:
    """Names of everyone an event's data mentions by id, so the timeline can say who."""
    ids: set[int | None] = set()
    for e in events:
        ids.add(e.actor_id)
        for key in _PERSON_KEYS:
            if isinstance(e.data.get(key), int):
                ids.add(e.data[key])
        if e.kind == "ticket.assigned":
            ids.update(v for v in (e.data.get("before"), e.data.get("after")) if isinstance(v, int))
    return {pk(u): u.name for u in (await users_by_id(session, ids)).values()}
