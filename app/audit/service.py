"""Writing and reading the audit log."""

from collections.abc import Callable
from typing import Any, NotRequired, TypedDict

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit.models import Event
from app.live.broker import LiveMessage
from app.registry import Hooks


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class EventSubject(TypedDict):
    """`record_event`'s who-and-what keywords, for a use case that records several events of one subject."""

    subject_type: str
    subject_id: int
    actor_id: int | None
    ticket_id: NotRequired[int | None]
    community_id: NotRequired[int | None]


# Called with every new event inside its transaction (e.g. webhooks queue deliveries); keep them cheap.
EventListener = Callable[[AsyncSession, Event], None]
EVENT_LISTENERS: Hooks[EventListener] = Hooks("event listeners")  # filled by app/wiring.py


def record_event(
    session: AsyncSession,
    kind: str,
    *,
    subject_type: str,
    subject_id: int,
    actor_id: int | None,
    data: dict[str, Any] | None = None,
    ticket_id: int | None = None,
    community_id: int | None = None,
) -> Event:
    """Add an event to the current unit of work; it commits (and is announced) with the change."""
    event = Event(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_id=actor_id,
        data=_jsonable(data or {}),
        ticket_id=ticket_id,
        community_id=community_id,
    )
    session.add(event)
    session.info.setdefault("live", []).append(
        LiveMessage(kind=kind, ticket_id=ticket_id, community_id=community_id, actor_id=actor_id)
    )
    for listener in EVENT_LISTENERS:
        listener(session, event)
    return event


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The {field: {"before", "after"}} map of what differs; empty when nothing changed."""
    return {
        key: {"before": _jsonable(before.get(key)), "after": _jsonable(after[key])}
        for key in after
        if before.get(key) != after[key]
    }


async def list_ticket_events(
    session: AsyncSession, ticket_id: int, *, limit: int = 500
) -> list[Event]:
    stmt = select(Event).where(Event.ticket_id == ticket_id).order_by(col(Event.id)).limit(limit)
    return list((await session.exec(stmt)).all())
